"""Compile budgets: a compile that takes too long is given up between two compiler passes.

Why this design: Numba's compile cannot be interrupted from outside, and a compile on the
worker thread cannot be killed; but Numba announces every pass of its compiler pipeline
(``numba:run_pass`` events of ``numba.core.event``, the hooks its own timers use), and its
pass manager lets an exception that is not a ``NumbaError`` through unchanged. So a
listener raises :class:`GiveUp` at the start of the next pass once the compiling thread's
deadline has passed; a helper compiled on the way gives up too, and type inference turns
that into a typing error of its caller, whose own next pass gives up in turn. The time is
the compiling thread's CPU time (``time.thread_time``), so a loaded machine, or a program
sharing the GIL with a background compile, does not use up the budget; LLVM's machine
code generation, which runs after the last pass, is not interrupted (it is a small part of
a compile). :func:`stop_all` gives every compile in progress up at its next pass: at exit,
the background worker is not waited for to the end of a long compile.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator

# The reason of a compile stopped at exit: not a property of the function, so never saved.
STOPPED_AT_EXIT = "its compile was stopped because the program exited"
_LOCAL = threading.local()
_INSTALLED = threading.Lock()
_STOPPED = threading.Event()


class GiveUp(Exception):
    """Raised at a compiler pass after the deadline (internal: becomes a rejection)."""


class Limit:
    """A budget in force on the compiling thread.

    Args:
        seconds: CPU seconds the compile may take; ``0`` or less means no limit.

    Attributes:
        given_up: ``None`` while the compile runs within its budget; ``"budget"`` once it
            ran over and was given up, ``"exit"`` when :func:`stop_all` gave it up.
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.deadline = time.thread_time() + seconds if seconds > 0 else float("inf")
        self.given_up: str | None = None

    def check(self) -> None:
        """Raise :class:`GiveUp` when the compile is to stop now.

        Raises:
            GiveUp: the deadline passed, or :func:`stop_all` was called.
        """
        if _STOPPED.is_set():
            self.given_up = "exit"
        elif time.thread_time() > self.deadline:
            self.given_up = "budget"
        if self.given_up:
            raise GiveUp(self.reason())

    def reason(self) -> str:
        """The rejection reason of a compile given up (for the report)."""
        if self.given_up == "exit":
            return STOPPED_AT_EXIT
        return f"its compile took over {self.seconds:g} s and was given up (compile_budget)"


@contextlib.contextmanager
def limit(seconds: float) -> Iterator[Limit]:
    """Compiles on this thread, inside the block, stop at the first pass after ``seconds``.

    Args:
        seconds: the budget, CPU seconds of this thread; ``0`` or less: no limit.

    Yields:
        The :class:`Limit`; after a failed compile, its ``given_up`` says whether the
        budget (or the exit) was why.
    """
    _install()
    outer = getattr(_LOCAL, "limit", None)
    _LOCAL.limit = current = Limit(seconds)
    try:
        yield current
    finally:
        _LOCAL.limit = outer


def given_up() -> str | None:
    """The reason the compile on this thread was given up, or ``None`` (not given up, or
    no budget in force)."""
    current = getattr(_LOCAL, "limit", None)
    return current.reason() if current is not None and current.given_up else None


def stop_all() -> None:
    """Give every compile in progress up at its next pass, and every later one at its first."""
    _STOPPED.set()


def _install() -> None:
    """Register the pass listener with Numba once (imports Numba's event module)."""
    if getattr(_install, "done", False):
        return
    with _INSTALLED:
        if getattr(_install, "done", False):
            return
        from numba.core import event

        class _PassListener(event.Listener):
            def on_start(self, event: event.Event) -> None:
                current = getattr(_LOCAL, "limit", None)
                if current is not None:
                    current.check()

            def on_end(self, event: event.Event) -> None:
                pass

        event.register("numba:run_pass", _PassListener())
        _install.done = True  # type: ignore[attr-defined]
