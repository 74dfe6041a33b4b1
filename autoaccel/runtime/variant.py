"""A promoted variant: how a promoted call runs, and the signals it hands calls back with.

Why this design: a promoted call must answer exactly as the original would, or hand the call
back with the arguments as they were. :meth:`Variant.run` checks what can change between
calls (frozen globals, NumPy's error state, a compile in progress), copies the arguments the
variant may write, runs it, adapts the result's type and refuses results whose CPython type
could differ (docs/divergences.md, rows 11 and 12). It never raises: every reason not to
answer is a :class:`Signal`.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import numpy as np

from autoaccel.backends.recursion import too_deep
from autoaccel.backends.snapshot import snapshot_guard
from autoaccel.errors import RecursionBudget
from autoaccel.policy.compare import Adapter, copy_value, restore_value

try:  # NumPy 2 keeps the error state in a ContextVar; NumPy 1 is checked with np.geterr()
    from numpy._core._ufunc_config import _extobj_contextvar as _ERRSTATE  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - NumPy 1.x
    _ERRSTATE = None
_last_errstate: list[Any] = [None, True]


class Signal:
    """What :meth:`Variant.run` returns instead of a result when it could not serve a call."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"<autoaccel {self.name}>"


# Process-wide ticks ordering the variants' latest uses (cheaper than reading a clock).
CLOCK = itertools.count()

MISS = Signal("MISS")  # run the original body (also what the prologue tests for)
NO_MATCH = Signal("NO_MATCH")  # no validated signature matches these argument types
STALE = Signal("STALE")  # a global the variant froze has changed
DEEP = Signal("DEEP")  # a recursion went, or could go, past its compiled budget


class Variant:
    """Promoted code for one argument-type pattern: the entry dispatcher and result adapters.

    There is one per pattern of Python argument types: exact keys with the same types
    (say float64 and int64 arrays) share it, as they share the fast path. All of a
    function's validated signatures share one entry dispatcher, which matches argument
    types in C, and one table of adapters.

    Attributes:
        compiled: the dispatchers and the frozen-globals snapshot (a
            :class:`~autoaccel.backends.cpu.Compiled`, or a target's equivalent such as
            :class:`~autoaccel.backends.cuda.CudaCompiled`).
        adapters: Python type of a raw variant result -> converter to the type the original
            returns (``None``: no conversion); shared by a function's variants.
        uses: calls it served, and last: the :data:`CLOCK` tick of the latest (for the
            variant cache's eviction policies; ~30 ns a call together).
        stale: ``stale()`` is true once a global the variant froze changed
            (:func:`~autoaccel.backends.snapshot.snapshot_guard`); ``None`` if it froze none.
        max_frames: for a variant that may recurse, the most Python frames its caller may
            have for it to run (:func:`~autoaccel.backends.recursion.too_deep`), else ``None``.
    """

    __slots__ = ("adapters", "compiled", "last", "max_frames", "stale", "uses")

    def __init__(self, compiled: Any, adapters: dict[type, Adapter | None] | None = None) -> None:
        self.compiled = compiled
        self.stale = snapshot_guard(compiled.snapshot)
        self.max_frames: int | None = getattr(compiled, "max_frames", None)
        self.adapters: dict[type, Adapter | None] = {} if adapters is None else adapters
        self.uses = 0
        self.last = next(CLOCK)

    def accepts(self, raw_type: type, adapter: Adapter | None) -> bool:
        """Record ``adapter`` for results of ``raw_type``; ``False`` if one differs already."""
        return self.adapters.setdefault(raw_type, adapter) == adapter

    def run(self, args: tuple) -> Any:
        """The result for ``args``, or a :class:`Signal` (never raises).

        Whenever the call is handed back (a :class:`Signal`), the arguments the variant may
        have written hold their values from before the call again.
        """
        compiled = self.compiled
        if compiled.compiling:
            return MISS
        if self.stale is not None and self.stale():
            return STALE
        if self.max_frames is not None and too_deep(self.max_frames):
            return DEEP  # compiled recursion could go where CPython raises RecursionError
        if _ERRSTATE is None or _ERRSTATE.get() is not _last_errstate[0]:
            if not numpy_errors_ignored():
                return MISS
        elif not _last_errstate[1]:
            return MISS
        guards = compiled.guards
        written = guards.written
        saved = [copy_value(args[i]) for i in written] if written else ()
        try:
            result = compiled.entry(*args)
        except TypeError:  # no matching signature, or the code raised TypeError itself
            return _restored(args, written, saved, NO_MATCH)
        except RecursionBudget:
            return _restored(args, written, saved, DEEP)
        except Exception:  # the original raises its own error, with its own traceback
            return _restored(args, written, saved, MISS)
        self.uses += 1
        self.last = next(CLOCK)
        adapter = self.adapters.get(type(result))
        if adapter is not None:
            result = adapter(result)
        if (
            (guards.ambiguous_constants or guards.ambiguous_arguments)
            and result.__class__ is not guards.unambiguous
            and _ambiguous(result, args, guards)
        ):
            return _restored(args, written, saved, MISS)
        return result


def _restored(args: tuple, written: tuple[int, ...], saved: Sequence, signal: Signal) -> Signal:
    for position, value in zip(written, saved, strict=True):
        restore_value(args[position], value)
    return signal


def _ambiguous(result: Any, args: tuple, guards: Any) -> bool:
    """Whether CPython could return this value with another type.

    docs/divergences.md, rows 11 and 12.

    True when ``result`` equals a constant or argument that the function can return
    unchanged and whose type differs from ``result``'s: which path CPython took decides
    the type, so the original has to answer.
    """
    kind = type(result)
    for constant in guards.ambiguous_constants:
        if type(constant) is not kind and constant == result:
            return True
    for position in guards.ambiguous_arguments:
        value = args[position]
        if type(value) is not kind and value == result:
            return True
    return False


def numpy_errors_ignored() -> bool:
    """Whether NumPy's floating-point error handling is in a state Numba matches.

    Numba ignores ``np.seterr`` (docs/divergences.md, row 10). Under ``"warn"`` or
    ``"ignore"`` the values agree (the warning is not repeated); under ``"raise"``,
    ``"call"``, ``"print"`` or ``"log"`` the original has to run. The check costs one
    ContextVar read while the state is unchanged (NumPy 2 keeps it in
    ``numpy._core._ufunc_config``); otherwise it reads ``np.geterr()``.
    """
    state = _ERRSTATE.get() if _ERRSTATE is not None else None
    if state is not None and state is _last_errstate[0]:
        return _last_errstate[1]
    quiet = all(mode in ("warn", "ignore") for mode in np.geterr().values())
    if state is not None:
        _last_errstate[:] = [state, quiet]
    return quiet
