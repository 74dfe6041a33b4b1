"""Background compilation: one worker thread compiles while the program's calls run on.

Why this design: compiling a variant takes 70-800 ms, and on the calling thread that is a
stall of the program. With ``background_compile = true`` (off by default: docs/caching.md)
the trampoline hands the compile to this worker and the call (and every call until the
variant is ready) runs the original, as Numba's dispatcher does for other threads while one
compiles. A thread rather than a process: the compiled code has to end up in this process,
and Numba releases the GIL in LLVM's optimization passes, which are most of a compile; its
Python parts still take the GIL, so the calling thread is slowed, never stopped, for the
switch interval at a time (measured in docs/caching.md). The thread ends when no compile is queued and a new one
starts for the next. At exit, queued compiles are dropped and the running one gives up at
its next compiler pass and is awaited, so the interpreter never finalizes under a compiling
thread. A ``fork`` waits for a compile in progress (:data:`COMPILE_LOCK` and Numba's
compiler lock are taken around it), so the child never inherits a lock held by a thread it
does not have, and the child starts a worker of its own when it needs one.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import queue
import sys
import threading
from collections.abc import Callable, Hashable
from typing import Any

from autoaccel.backends import budget

logger = logging.getLogger("autoaccel")

_JOIN_SECONDS = 30.0  # the longest wait at exit for a compile in progress


class _Worker:
    def __init__(self) -> None:
        self.jobs: queue.SimpleQueue = queue.SimpleQueue()
        self.pending: set[Hashable] = set()
        self.lock = threading.Lock()
        self.thread: threading.Thread | None = None
        self.closed = False
        self.started = False  # whether a thread was ever started (shutdown registered)

    def run(self) -> None:
        while True:
            key, job = self.jobs.get()
            if job is None:
                return
            if self.closed:
                continue  # dropped at exit: stays pending, so the report says "compiling"
            try:
                job()
            except Exception:  # the job records its own failures; this is a bug of ours
                logger.debug("background compile failed", exc_info=True)
            if self._done(key):
                return

    def _done(self, key: Hashable) -> bool:
        """Drop ``key`` from the pending jobs; whether the worker is idle, and so ends (a
        later fork() then sees no thread of ours: Python 3.12+ warns about forking a
        multi-threaded process). The next submission starts a thread again."""
        with self.lock:
            self.pending.discard(key)
            if self.pending:
                return False
            self.thread = None
            return True


_WORKER = _Worker()
_LOCAL = threading.local()
# One compilation at a time, process-wide (as Numba's own compiler lock); taken by whoever
# compiles, on the worker or, with background_compile off, on the calling thread.
COMPILE_LOCK = threading.RLock()


def _numba_lock() -> Any:
    """Numba's compiler lock, when Numba is imported (nothing imports it for this)."""
    module = sys.modules.get("numba.core.compiler_lock")
    return getattr(module, "global_compiler_lock", None)


def _before_fork() -> None:
    # A child must not start with a compile's locks held by a thread it does not have:
    # a compile in progress finishes (or gives up at its budget) before the fork.
    COMPILE_LOCK.acquire()
    numba_lock = _numba_lock()
    if numba_lock is not None:
        numba_lock.acquire()


def _after_fork_in_parent() -> None:
    numba_lock = _numba_lock()
    if numba_lock is not None:
        numba_lock.release()
    COMPILE_LOCK.release()


def _after_fork_in_child() -> None:
    """The child has no worker thread: it starts one of its own when it needs one."""
    global _WORKER
    _after_fork_in_parent()
    _WORKER = _Worker()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(
        before=_before_fork,
        after_in_parent=_after_fork_in_parent,
        after_in_child=_after_fork_in_child,
    )


def on_worker() -> bool:
    """Whether the current thread is the background compiler."""
    return getattr(_LOCAL, "worker", False)


def is_pending(key: Hashable) -> bool:
    """Whether a job with ``key`` is queued or running (or was dropped at exit)."""
    return key in _WORKER.pending


def submit(key: Hashable, job: Callable[[], object]) -> None:
    """Queue ``job`` under ``key`` unless one with that key is queued or running.

    The job runs on the worker thread (started when none runs); it must catch
    its own errors. Nothing is queued after interpreter exit began.
    """
    with _WORKER.lock:
        if _WORKER.closed or key in _WORKER.pending:
            return
        _WORKER.pending.add(key)
        if _WORKER.thread is None:
            _WORKER.thread = threading.Thread(target=_start, name="autoaccel-compiler", daemon=True)
            _WORKER.thread.start()
            if not _WORKER.started:
                _WORKER.started = True
                atexit.register(shutdown)
    _WORKER.jobs.put((key, job))


def _start() -> None:
    _LOCAL.worker = True
    _WORKER.run()


def shutdown() -> None:
    """Drop queued compiles, stop the one in progress at its next compiler pass
    (:func:`autoaccel.backends.budget.stop_all`) and wait for it (at most 30 s).

    A Ctrl-C during the wait (pressed again while the program ends) ends the process at
    once with status 130, its output flushed: returning would let the interpreter
    finalize under a thread still inside LLVM.
    """
    with _WORKER.lock:
        _WORKER.closed = True
        thread = _WORKER.thread
    if thread is not None:
        budget.stop_all()
        _WORKER.jobs.put((None, None))
        try:
            thread.join(_JOIN_SECONDS)
        except KeyboardInterrupt:
            for stream in (sys.stdout, sys.stderr):
                with contextlib.suppress(Exception):
                    stream.flush()
            os._exit(130)
