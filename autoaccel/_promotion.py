"""The promotion policy: validate a freshly compiled variant on real calls, time it, decide.

Why this design: estimates mislead (a variant can be slower than CPython for small inputs, or
answer differently), so every decision rests on measurements of the program's own calls. For
the first ``validation_calls`` calls after compiling, the variant runs on copies of the
arguments and the original on the real ones; both are timed, and results and argument writes
are compared exactly (:mod:`autoaccel._compare`). The caller always gets the original's
answer during a trial. The variant is promoted only if every answer matched and
``original time / variant time`` (best of the trial) reaches ``min_gain``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from autoaccel._compare import Adapter, copy_value, learn_adapter, restore_value, same
from autoaccel._compiler import Compiled, snapshot_changed
from autoaccel.errors import Deoptimize

# A trial gives up when this many calls raised (no timing) before enough were timed.
_MAX_TRIAL_FACTOR = 10

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


MISS = Signal("MISS")  # run the original body (also what the prologue tests for)
NO_MATCH = Signal("NO_MATCH")  # no validated signature matches these argument types
STALE = Signal("STALE")  # a global the variant froze has changed


class Promotion(NamedTuple):
    """One promoted signature, for the report.

    ``compile_seconds`` is the time to load it when ``from_cache`` (a saved decision).
    """

    signature: str
    speedup: float
    compile_seconds: float
    from_cache: bool = False


class Variant:
    """Promoted code for one argument-type pattern: the entry dispatcher and result adapters.

    Several validated signatures (say float64 and int64 arrays) share one variant, since the
    entry dispatcher holds them all and matches argument types in C.

    Attributes:
        compiled: the dispatchers and the frozen-globals snapshot.
        adapters: Python type of a raw variant result -> converter to the type the original
            returns (``None``: no conversion).
    """

    __slots__ = ("adapters", "compiled")

    def __init__(self, compiled: Compiled) -> None:
        self.compiled = compiled
        self.adapters: dict[type, Adapter | None] = {}

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
        if compiled.snapshot and snapshot_changed(compiled.snapshot) is not None:
            return STALE
        if _ERRSTATE is None or _ERRSTATE.get() is not _last_errstate[0]:
            if not numpy_errors_ignored():
                return MISS
        elif not _last_errstate[1]:
            return MISS
        written = compiled.written
        saved = [copy_value(args[i]) for i in written] if written else []
        try:
            result = compiled.entry(*args)
        except TypeError:  # no matching signature, or the code raised TypeError itself
            return _restored(args, compiled.written, saved, NO_MATCH)
        except Exception:  # the original raises its own error, with its own traceback
            return _restored(args, compiled.written, saved, MISS)
        adapter = self.adapters.get(type(result))
        if adapter is not None:
            result = adapter(result)
        if (compiled.ambiguous_constants or compiled.ambiguous_arguments) and _ambiguous(
            result, args, compiled
        ):
            return _restored(args, compiled.written, saved, MISS)
        return result


def _restored(args: tuple, written: tuple[int, ...], saved: list, signal: Signal) -> Signal:
    for position, value in zip(written, saved, strict=True):
        restore_value(args[position], value)
    return signal


def _ambiguous(result: Any, args: tuple, compiled: Compiled) -> bool:
    """Whether CPython could return this value with another type (rows 11 and 12).

    True when ``result`` equals a constant or argument that the function can return
    unchanged and whose type differs from ``result``'s: which path CPython took decides
    the type, so the original has to answer.
    """
    kind = type(result)
    for constant in compiled.ambiguous_constants:
        if type(constant) is not kind and constant == result:
            return True
    for position in compiled.ambiguous_arguments:
        value = args[position]
        if type(value) is not kind and value == result:
            return True
    return False


def numpy_errors_ignored() -> bool:
    """Whether NumPy's floating-point error handling is in a state Numba matches.

    Numba ignores ``np.seterr`` (catalogue row 10). Under ``"warn"`` or ``"ignore"`` the
    values agree (the warning is not repeated); under ``"raise"``, ``"call"``, ``"print"``
    or ``"log"`` the original has to run. The check costs one ContextVar read while the
    state is unchanged (NumPy 2 keeps it in ``numpy._core._ufunc_config``); otherwise it
    reads ``np.geterr()``.
    """
    state = _ERRSTATE.get() if _ERRSTATE is not None else None
    if state is not None and state is _last_errstate[0]:
        return _last_errstate[1]
    quiet = all(mode in ("warn", "ignore") for mode in np.geterr().values())
    if state is not None:
        _last_errstate[:] = [state, quiet]
    return quiet


def _deoptimized(error: Exception | None) -> bool:
    """Whether the variant gave up on a call on purpose (a checked operation's guard)."""
    return isinstance(error, Deoptimize)


class Trial:
    """Validation and timing of one compiled, not yet promoted variant."""

    __slots__ = (
        "adapter",
        "calls",
        "compile_seconds",
        "compiled",
        "failure",
        "from_cache",
        "original_seconds",
        "raw_type",
        "saved_as",
        "signature",
        "variant_seconds",
    )

    def __init__(
        self,
        compiled: Compiled,
        signature: str,
        compile_seconds: float,
        from_cache: bool = False,
        saved_as: Any = None,
    ) -> None:
        self.compiled = compiled
        self.signature = signature
        self.compile_seconds = compile_seconds
        self.from_cache = from_cache
        self.saved_as = saved_as  # where its decision is to be saved, or None
        self.original_seconds: list[float] = []
        self.variant_seconds: list[float] = []
        self.adapter: Adapter | None = None
        self.raw_type: type = type(None)
        self.failure: str | None = None
        self.calls = 0

    def call(self, original: Callable[..., Any], args: tuple) -> Any:
        """Run both versions on one real call; return (or raise) what the original gives."""
        self.calls += 1
        copies = tuple(copy_value(a) for a in args)
        start = time.perf_counter()
        try:
            variant_result, variant_error = self.compiled.entry(*copies), None
        except Exception as exc:  # compared with the original's outcome below
            variant_result, variant_error = None, exc
        middle = time.perf_counter()
        try:
            result = original(*args)
        except BaseException as exc:
            self._check_raised(exc, variant_error)
            raise
        end = time.perf_counter()
        if _deoptimized(variant_error):
            return result  # this call is outside what the variant answers; not a mismatch
        if variant_error is not None:
            self.failure = f"raised {type(variant_error).__name__} where the original returned"
            return result
        try:
            self._check_result(result, variant_result, args, copies)
        except Exception as exc:  # a comparison that fails is a mismatch, never the user's error
            self.failure = f"its result could not be compared: {exc!r}"
        self.variant_seconds.append(middle - start)
        self.original_seconds.append(end - middle)
        return result

    def _check_raised(self, original_error: BaseException, variant_error: Exception | None) -> None:
        # Raising variants are fine only when the original raises the same type: in service
        # a raising variant hands the call back to the original, which raises its own error.
        if _deoptimized(variant_error):
            return
        if variant_error is None or type(variant_error) is not type(original_error):
            self.failure = f"the original raised {type(original_error).__name__} but the variant did not do the same"

    def _check_result(self, result: Any, variant_result: Any, args: tuple, copies: tuple) -> None:
        try:
            if not self.variant_seconds:
                self.adapter = learn_adapter(result, variant_result)
                self.raw_type = type(variant_result)
        except ValueError as exc:
            self.failure = str(exc)
            return
        adapted = variant_result if self.adapter is None else self.adapter(variant_result)
        if type(variant_result) is not self.raw_type or not same(result, adapted):
            self.failure = "answered differently from the original on a real call"
        elif not all(map(same, args, copies)):
            self.failure = "wrote its arguments differently from the original"

    def verdict(self, needed: int, min_gain: float) -> tuple[bool, str] | None:
        """``(promote, reason)`` once decidable, else ``None`` (keep trialling)."""
        if self.failure:
            return False, self.failure
        if len(self.variant_seconds) >= needed:
            speedup = self.speedup()
            if speedup >= min_gain:
                return True, f"measured speed-up {speedup:.2f}x"
            return False, f"measured speed-up {speedup:.2f}x is below min_gain {min_gain:g}"
        if self.calls >= needed * _MAX_TRIAL_FACTOR:
            return False, "gave up or raised on nearly every validation call, so it was never timed"
        return None

    def speedup(self) -> float:
        """Best original time / best variant time over the trial (ratio)."""
        return min(self.original_seconds) / max(min(self.variant_seconds), 1e-9)

    def promotion(self) -> Promotion:
        """The report record of this trial's promotion."""
        return Promotion(self.signature, self.speedup(), self.compile_seconds, self.from_cache)
