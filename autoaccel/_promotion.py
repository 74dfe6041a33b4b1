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
from typing import Any

from autoaccel._compare import Adapter, copy_value, learn_adapter, same
from autoaccel._compiler import Compiled

# A trial gives up when this many calls raised (no timing) before enough were timed.
_MAX_TRIAL_FACTOR = 10


class Variant:
    """A promoted variant: compiled code for one exact dispatch key.

    Attributes:
        compiled: the dispatcher and its frozen-globals snapshot.
        adapter: converts the variant's result to the original's type, or ``None``.
        signature: the Numba signature as text, e.g. ``"(array(float64, 1d, C), int64)"``.
        speedup: measured original time / variant time (ratio).
        compile_seconds: time spent compiling (seconds).
        calls: an ``itertools.count`` of calls served (atomic under the GIL).
    """

    __slots__ = ("adapter", "calls", "compile_seconds", "compiled", "signature", "speedup")

    def __init__(
        self,
        compiled: Compiled,
        adapter: Adapter | None,
        signature: str,
        speedup: float,
        compile_seconds: float,
    ) -> None:
        self.compiled = compiled
        self.adapter = adapter
        self.signature = signature
        self.speedup = speedup
        self.compile_seconds = compile_seconds


class Trial:
    """Validation and timing of one compiled, not yet promoted variant."""

    __slots__ = (
        "adapter",
        "calls",
        "compile_seconds",
        "compiled",
        "failure",
        "original_seconds",
        "signature",
        "variant_seconds",
    )

    def __init__(self, compiled: Compiled, signature: str, compile_seconds: float) -> None:
        self.compiled = compiled
        self.signature = signature
        self.compile_seconds = compile_seconds
        self.original_seconds: list[float] = []
        self.variant_seconds: list[float] = []
        self.adapter: Adapter | None = None
        self.failure: str | None = None
        self.calls = 0

    def call(self, original: Callable[..., Any], args: tuple) -> Any:
        """Run both versions on one real call; return (or raise) what the original gives."""
        self.calls += 1
        copies = tuple(copy_value(a) for a in args)
        start = time.perf_counter()
        try:
            variant_result, variant_error = self.compiled.dispatcher(*copies), None
        except Exception as exc:  # compared with the original's outcome below
            variant_result, variant_error = None, exc
        middle = time.perf_counter()
        try:
            result = original(*args)
        except BaseException as exc:
            self._check_raised(exc, variant_error)
            raise
        end = time.perf_counter()
        if variant_error is not None:
            self.failure = f"raised {type(variant_error).__name__} where the original returned"
        else:
            self._check_result(result, variant_result, args, copies)
            self.variant_seconds.append(middle - start)
            self.original_seconds.append(end - middle)
        return result

    def _check_raised(self, original_error: BaseException, variant_error: Exception | None) -> None:
        # Raising variants are fine only when the original raises the same type: in service
        # a raising variant hands the call back to the original, which raises its own error.
        if variant_error is None or type(variant_error) is not type(original_error):
            self.failure = f"the original raised {type(original_error).__name__} but the variant did not do the same"

    def _check_result(self, result: Any, variant_result: Any, args: tuple, copies: tuple) -> None:
        try:
            if self.adapter is None and not self.variant_seconds:
                self.adapter = learn_adapter(result, variant_result)
        except ValueError as exc:
            self.failure = str(exc)
            return
        adapted = variant_result if self.adapter is None else self.adapter(variant_result)
        if not same(result, adapted):
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
            return False, "raised on nearly every validation call, so it was never timed"
        return None

    def speedup(self) -> float:
        """Best original time / best variant time over the trial (ratio)."""
        return min(self.original_seconds) / max(min(self.variant_seconds), 1e-9)

    def promote(self) -> Variant:
        """The :class:`Variant` this trial validated."""
        return Variant(
            self.compiled, self.adapter, self.signature, self.speedup(), self.compile_seconds
        )
