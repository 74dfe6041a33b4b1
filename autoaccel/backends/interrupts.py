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
interrupt or a damaged compiler. This is what CPython's own ``signal`` documentation advises
("handlers ... should set a flag"), and what interpreters that embed native code do around
their critical sections (IPython's ``DelayedKeyboardInterrupt`` idiom). Other threads never
receive signals in Python, so a compile there needs nothing.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from collections.abc import Iterator
from types import FrameType


@contextlib.contextmanager
def deferred() -> Iterator[None]:
    """Hold SIGINT back for the body; deliver it to the handler in force when it ends.

    On the main thread with a Python-level handler in force (the default one, or the
    program's), a SIGINT received during the body is recorded, and at the end the
    previous handler is restored and called, once, as the signal would have called it.
    An exception that the body raised is then replaced by the handler's (the interrupt
    wins, as it would have), shown without the body's exception as its context. Nested
    uses hand the signal outwards. Elsewhere (another thread, ``SIG_IGN``, a handler set
    outside Python) the body runs as is. ``SIG_DFL`` is delivered by re-raising the
    signal, which ends the process as it would have.
    """
    previous = signal.getsignal(signal.SIGINT) if _on_main_thread() else None
    if previous is None or previous is signal.SIG_IGN:
        yield
        return
    received: list[FrameType | None] = []
    signal.signal(signal.SIGINT, lambda signum, frame: received.append(frame))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        if received:
            _deliver(previous)


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
