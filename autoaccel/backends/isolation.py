"""Crash isolation: a new variant's first run happens in a forked child process.

Why this design: compiled code can crash the process where Python would raise, for example
when Numba mis-reflects a container (docs/divergences.md, row 24: the n-body lists-in-tuples
layout first loses writes, then segfaults) or when bounds checking is turned off
(docs/divergences.md, row 18). The first run of each new variant is therefore repeated in a
child made with ``os.fork()`` (on copies of the arguments): the child inherits the compiled
code, runs it once and exits with ``os._exit`` (no atexit handlers, no flushing of inherited
buffers). If the child dies from a signal, or does not finish in time, the variant is
rejected; the parent never ran it. Where ``os.fork`` does not exist (Windows), the first run
is not isolated.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
import warnings
from collections.abc import Callable
from typing import Any

from autoaccel.backends import background, interrupts

_POLL_SECONDS = 0.001


def first_run_failure(function: Callable[..., Any], args: tuple, timeout: float) -> str | None:
    """Run ``function(*args)`` once in a forked child; why it failed, or ``None``.

    Args:
        function: the compiled variant (already compiled: the child must not compile).
        args: arguments the child may write (copies of the real ones).
        timeout: seconds the child may run before it is killed and the run counts as failed.

    Returns:
        ``None`` when the child exited normally (whether the call returned or raised), or
        where ``os.fork`` is unavailable; else a reason for the report.
    """
    if not hasattr(os, "fork"):
        return None
    pid = 0
    try:
        # A Ctrl-C during the fork is held back (os.fork runs the at-fork hooks of logging
        # and others, where an interrupt is printed as "Exception ignored" and lost) and
        # delivered after it, with the child killed below. The compile lock is taken before
        # os.fork, not only in its at-fork hook (background.py): two threads forking at once
        # deadlocked on 3.13, one holding the lock and waiting in os.fork, the other in the
        # hook waiting for the lock.
        with background.COMPILE_LOCK, warnings.catch_warnings(), interrupts.deferred():
            # 3.12+ warns (DeprecationWarning) that a fork with other threads alive may
            # deadlock the child. This child only runs the compiled variant (a hang is killed
            # at the timeout), and the warning would reach the user's program, an error
            # under -W error, about a fork it never made.
            warnings.filterwarnings(
                "ignore", message=r"This process .* is multi-threaded", category=DeprecationWarning
            )
            pid = os.fork()
            if pid == 0:
                _child(function, args)
        return _wait(pid, timeout)
    except BaseException:  # Ctrl-C: the child must not outlive the program
        if pid:
            with contextlib.suppress(ProcessLookupError, ChildProcessError):  # reaped already
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
        raise


def _child(function: Callable[..., Any], args: tuple) -> None:
    """The child: run, then leave without touching the parent's state (never returns)."""
    try:
        function(*args)
    except BaseException:  # an exception is an answer, not a crash
        pass
    finally:
        os._exit(0)


def _wait(pid: int, timeout: float) -> str | None:
    deadline = time.monotonic() + timeout
    delay = _POLL_SECONDS
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return f"did not finish within {timeout:g} s in its isolated first run"
        time.sleep(delay)
        delay = min(delay * 2, 0.05)
    if os.WIFSIGNALED(status):
        name = signal.Signals(os.WTERMSIG(status)).name
        return f"crashed ({name}) in its isolated first run [24]"
    return None
