"""Background compilation: one worker thread compiles while the program's calls run on.

Why this design: compiling a variant takes 70-800 ms, and on the calling thread that is a
stall of the program. With ``background_compile = true`` the trampoline hands the compile to
this worker and the call (and every call until the variant is ready) runs the original, as
Numba's dispatcher does for other threads while one compiles. A thread rather than a process:
the compiled code has to end up in this process, and Numba releases the GIL in LLVM's
optimization passes, which are most of a compile; its Python parts still take the GIL, so the
calling thread is slowed, never stopped, for the switch interval at a time (measured in
docs/caching.md). At exit, queued compiles are dropped and the running one is awaited, so
the interpreter never finalizes under a compiling thread.
"""

from __future__ import annotations

import atexit
import logging
import queue
import threading
from collections.abc import Callable, Hashable

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

    def run(self) -> None:
        while True:
            key, job = self.jobs.get()
            if job is None:
                return
            try:
                if not self.closed:
                    job()
            except Exception:  # the job records its own failures; this is a bug of ours
                logger.debug("background compile failed", exc_info=True)
            finally:
                with self.lock:
                    self.pending.discard(key)


_WORKER = _Worker()
_LOCAL = threading.local()


def on_worker() -> bool:
    """Whether the current thread is the background compiler."""
    return getattr(_LOCAL, "worker", False)


def is_pending(key: Hashable) -> bool:
    """Whether a job with ``key`` is queued or running."""
    return key in _WORKER.pending


def submit(key: Hashable, job: Callable[[], object]) -> None:
    """Queue ``job`` under ``key`` unless one with that key is queued or running.

    The job runs on the worker thread (started at the first submission); it must catch
    its own errors. Nothing is queued after interpreter exit began.
    """
    with _WORKER.lock:
        if _WORKER.closed or key in _WORKER.pending:
            return
        _WORKER.pending.add(key)
        if _WORKER.thread is None:
            _WORKER.thread = threading.Thread(target=_start, name="autoaccel-compiler", daemon=True)
            _WORKER.thread.start()
            atexit.register(shutdown)
    _WORKER.jobs.put((key, job))


def _start() -> None:
    _LOCAL.worker = True
    _WORKER.run()


def shutdown() -> None:
    """Drop queued compiles, stop the one in progress at its next compiler pass
    (:func:`autoaccel.backends.budget.stop_all`) and wait for it (at most 30 s)."""
    with _WORKER.lock:
        _WORKER.closed = True
        thread = _WORKER.thread
    if thread is not None:
        budget.stop_all()
        _WORKER.jobs.put((None, None))
        thread.join(_JOIN_SECONDS)
