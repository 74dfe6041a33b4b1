"""Ctrl-C across a compile: held back while Numba and LLVM work, delivered right after.

Why this design: Python turns SIGINT into ``KeyboardInterrupt`` at the next bytecode of the
main thread, wherever that is. Inside a Numba compile it is in Numba's typing or lowering,
in a ``__del__`` of llvmlite's objects (where Python prints "Exception ignored" and carries
on: the Ctrl-C is lost), or between two calls into LLVM that must go together (an
interrupted ``LLVMPY_LinkModules`` left a module that crashed the next use). Numba itself
holds no signal back. So while the main thread compiles, a SIGINT only sets a flag
(:func:`deferred`), and when the compile is over the handler that was in force (Python's,
which raises ``KeyboardInterrupt``, or the program's own) is called, before control returns
to the user's code: the program stops as it would have a moment earlier, without a swallowed
interrupt or a damaged compiler. This is the workaround the ``signal`` module's documentation
gives for code that must not be interrupted anywhere ("Note on Signal Handlers and
Exceptions", bpo-42340): a handler that records the signal, acted on at a safe point. Other
threads never receive signals in Python, so a compile there needs nothing.
"""

from __future__ import annotations

import signal
import sys
import threading
from types import FrameType


class deferred:  # lower case: used as ``with deferred():``, like contextlib.suppress
    """Hold SIGINT back for the ``with`` body; deliver it to the handler in force after it.

    On the main thread with a Python-level handler in force (the default one, or the
    program's), a SIGINT received during the body is recorded, and at the end the
    previous handler is restored and called, once, as the signal would have called it.
    An exception that the body raised is then replaced by the handler's (the interrupt
    wins, as it would have), shown without the body's exception as its context. Nested
    uses hand the signal outwards. Elsewhere (another thread, ``SIG_IGN``, a handler set
    outside Python) the body runs as is. ``SIG_DFL`` is delivered by re-raising the
    signal, which ends the process as it would have. (A class, not a generator with
    ``contextlib``, so that no frame of the standard library shows in the traceback.)
    """

    __slots__ = ("previous", "received")

    def __enter__(self) -> None:
        self.received: list[FrameType | None] = []
        self.previous = signal.getsignal(signal.SIGINT) if _on_main_thread() else None
        if self.previous is not None and self.previous is not signal.SIG_IGN:
            signal.signal(signal.SIGINT, lambda signum, frame: self.received.append(frame))

    def __exit__(self, *exc_info: object) -> None:
        if self.previous is None or self.previous is signal.SIG_IGN:
            return
        signal.signal(signal.SIGINT, self.previous)
        if self.received:
            _deliver(self.previous)


def _on_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


def _deliver(handler: object) -> None:
    """Call ``handler`` as the signal would have (the default one raises KeyboardInterrupt)."""
    if handler is signal.SIG_DFL:
        signal.raise_signal(signal.SIGINT)
        return
    try:
        handler(signal.SIGINT, sys._getframe(1))  # type: ignore[operator]
    except BaseException as exc:
        exc.__suppress_context__ = True  # a compile error it interrupted is not the story
        raise


def raise_hidden(error: BaseException) -> None:
    """Raise the ``KeyboardInterrupt`` that ``error`` hides, if any; else return.

    Numba boxes a compiled function's tuple result item by item, and each array item
    calls back into Python (``numba.core.serialize._numba_unpickle``), where a pending
    Ctrl-C is raised; the tuple's boxing does not check that item, so the call returns a
    result with the interrupt set, which CPython turns into ``SystemError: ... returned
    a result with an exception set`` caused by the ``KeyboardInterrupt``. Code that calls
    a variant and treats its exceptions as "run the original instead" must not swallow
    the user's Ctrl-C with it, so it calls this first.

    Raises:
        KeyboardInterrupt: found as ``error`` or in its causes and contexts.
    """
    seen: set[int] = set()
    cause: BaseException | None = error
    while cause is not None and id(cause) not in seen:
        if isinstance(cause, KeyboardInterrupt):
            raise cause from None
        seen.add(id(cause))
        cause = cause.__cause__ or cause.__context__
