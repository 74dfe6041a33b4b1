"""The promotion policy: validate a freshly compiled variant on real calls, time it, decide.

Why this design: estimates mislead (a variant can be slower than CPython for small inputs, or
answer differently), so every decision rests on measurements of the program's own calls. For
the first ``validation_calls`` calls after compiling, the variant runs on copies of the
arguments and the original on the real ones; both are timed, and results and argument writes
are compared exactly (:mod:`autoaccel.policy.compare`). The caller always gets the original's
answer during a trial. The variant is promoted only if every answer matched and
``original time / variant time`` (best of the trial) reaches ``min_gain``.

The variant's time is what a promoted call will cost, not only Numba's: it includes the
guards :meth:`Variant.run` pays for this function (the frozen-globals check, copies of the
arguments it may write) and the trampoline's own dispatch, measured once per process. Without
that, a function that runs in 50 ns could be "promoted" and then cost ten times as much.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, NamedTuple

from autoaccel.backends import interrupts
from autoaccel.backends.recursion import too_deep
from autoaccel.backends.snapshot import snapshot_guard
from autoaccel.boundary.convert import carries, convert, write_back
from autoaccel.boundary.kinds import Unconvertible, exact_classes
from autoaccel.errors import Deoptimize, RecursionBudget, Rejection
from autoaccel.policy.compare import (
    Adapter,
    ambiguous_result,
    close,
    copy_arguments,
    copy_value,
    field_at,
    hands_back,
    learn_adapter,
    same,
)

# A trial gives up when this many calls raised (no timing) before enough were timed.
_MAX_TRIAL_FACTOR = 10


def speed_verdict(speedup: float, min_gain: float) -> tuple[bool, str]:
    """``(promote, reason)`` for a variant measured ``speedup`` times faster than the
    original (ratio), against the configured ``min_gain`` (ratio). Functions and loops are
    judged by this one rule."""
    if speedup >= min_gain:
        return True, f"measured speed-up {speedup:.2f}x"
    return False, f"measured speed-up {speedup:.2f}x is below min_gain {min_gain:g}"


class PromotionRecord(NamedTuple):
    """One promoted signature, as the report shows it.

    ``compile_seconds`` is the time to load it when ``from_cache`` (a saved decision).
    ``target`` is the winning target; ``candidates`` has one ``(target, speedup, outcome)``
    per target that competed (speed-up a ratio, 0.0 where never timed; outcome
    ``"promoted"``, or why not), and is empty when only ``cpu`` was listed.
    ``saved_decision`` is true when no trial ran because a previous run's decision applied
    (speed-up and candidates are then as measured in that run).
    """

    signature: str
    speedup: float
    compile_seconds: float
    from_cache: bool = False
    target: str = "cpu"
    candidates: tuple[tuple[str, float, str], ...] = ()
    saved_seconds: float = 0.0  # measured per call in the trial: original minus variant
    saved_decision: bool = False


def _deoptimized(error: Exception | None) -> bool:
    """Whether the variant gave up on a call on purpose (a checked operation's guard)."""
    return isinstance(error, Deoptimize)


class VariantRun(NamedTuple):
    """One trial call's variant side: its argument copies, outcome and time (seconds)."""

    copies: tuple
    result: Any
    error: Exception | None
    seconds: float


class Trial:
    """Validation and timing of one compiled, not yet promoted variant.

    Args:
        compiled: the variant (anything with ``entry``, the guards and ``validated``).
        signature: its signature as text, for the report.
        compile_seconds: how long compiling (or loading) it took (seconds).
        from_cache: whether it was loaded from the cache.
        saved_as: where its decision is to be saved (see
            :meth:`autoaccel.runtime.saved.SavedDecisions.where`), or None.
        dispatch_seconds: what the trampoline adds to each promoted call, in seconds
            (:func:`autoaccel.runtime.trampoline.dispatch_seconds`), added to each variant timing.
        target: the target it was compiled for (``"cpu"``, ``"parallel"``, ``"cuda"``).
        tolerance: ``(rtol, atol)`` for comparing floats, or ``None``: exact comparison.

    Attributes:
        guard: the frozen-globals check a promoted call runs, timed with each variant call
            (``None``: none): the Python path's check of the whole snapshot, unless the
            runtime sets the one its promoted call will run
            (:func:`autoaccel.runtime.variant.promoted_guard`).
        convert: how the variant's half converts its arguments, ``convert(values,
            fields)``: :func:`~autoaccel.boundary.convert.convert`, unless the runtime sets
            what its promoted calls will run (:func:`autoaccel.runtime.variant.conversion`:
            in C where the fast path converts them), so that the trial times that.
    """

    __slots__ = (
        "adapter",
        "calls",
        "compile_seconds",
        "compiled",
        "convert",
        "direct",
        "dispatch_seconds",
        "failure",
        "from_cache",
        "guard",
        "original_seconds",
        "raw_type",
        "saved_as",
        "signature",
        "target",
        "tolerance",
        "variant_seconds",
    )

    def __init__(
        self,
        compiled: Any,
        signature: str,
        compile_seconds: float,
        from_cache: bool = False,
        saved_as: Any = None,
        dispatch_seconds: float = 0.0,
        target: str = "cpu",
        tolerance: tuple[float, float] | None = None,
    ) -> None:
        self.compiled = compiled
        self.dispatch_seconds = dispatch_seconds
        self.guard = snapshot_guard(getattr(compiled, "snapshot", ()))
        self.signature = signature
        self.compile_seconds = compile_seconds
        self.from_cache = from_cache
        self.saved_as = saved_as  # where its decision is to be saved, or None
        self.target = target
        self.tolerance = tolerance
        self.original_seconds: list[float] = []
        self.variant_seconds: list[float] = []
        self.adapter: Adapter | None = None
        self.raw_type: type = type(None)
        self.failure: str | None = None
        self.calls = 0
        # (exact classes of the converted arguments, the overload's entry point) when the
        # promoted variant will call it directly (ConvertingVariant), so the trial does too.
        self.direct: tuple[tuple, Any] | None = None
        self.convert: Callable[[tuple, tuple], tuple] = convert

    def call(self, original: Callable[..., Any], args: tuple) -> Any:
        """Run both versions on one real call; return (or raise) what the original gives.

        Raises:
            RecursionBudget: the variant's recursion went, or could go, past its budget;
                the original has not run (the caller runs it, as plain Python).
        """
        run = self.run_variant(args)
        if isinstance(run.error, RecursionBudget):
            raise run.error
        middle = time.perf_counter()
        try:
            result = original(*args)
        except BaseException as exc:
            self.original_raised(run, exc)
            raise
        self.compare(run, result, args, time.perf_counter() - middle)
        return result

    def run_variant(self, args: tuple) -> VariantRun:
        """The variant's half of a trial call: run it on copies of ``args`` and time it.

        Lists and buffers among the copies are converted, and the lists the call may have
        written get their new values, within the timing: a promoted call pays both.
        """
        self.calls += 1
        compiled = self.compiled
        fields = getattr(compiled, "fields", ())
        copies = copy_arguments(args, fields)
        converting = carries(copies)
        written = compiled.guards.written
        error: Exception | None
        # Not timed: a promoted call on the C path reads its depth in O(1).
        frames = getattr(compiled, "max_frames", None)
        if frames is not None and too_deep(frames):  # Variant.run would hand it back
            return VariantRun(copies, None, RecursionBudget("called too deep"), 0.0)
        start = time.perf_counter()
        # Timed with the variant: the per-function guards a promoted call pays (Variant.run).
        if self.guard is not None:
            self.guard()
        try:
            natives = self.convert(copies, fields) if converting else copies
            [copy_value(natives[i]) for i in compiled.guards.copied]
            call = compiled.entry
            if self.direct is not None and exact_classes(natives) == self.direct[0]:
                call = self.direct[1]
            result, error = call(*natives), None
            if converting:
                write_back(natives, written)
        except Unconvertible as exc:  # this call's lists cannot be converted: not a mismatch
            result, error = None, Deoptimize(str(exc))
        except Exception as exc:  # compared with the original's outcome later
            interrupts.raise_hidden(exc)  # but a Ctrl-C ends the program, as it would have
            result, error = None, exc
        seconds = time.perf_counter() - start + self.dispatch_seconds
        return VariantRun(copies, result, error, seconds)

    def original_raised(self, run: VariantRun, error: BaseException) -> None:
        """Record that the original raised ``error`` on the call ``run`` belongs to.

        A ``KeyboardInterrupt`` is the user's Ctrl-C, not the function's answer, so it
        says nothing about the variant (and is never saved as a rejection).
        """
        if not isinstance(error, KeyboardInterrupt):
            self._check_raised(error, run.error)

    def compare(self, run: VariantRun, result: Any, args: tuple, original_seconds: float) -> None:
        """Check ``run`` against the original's ``result`` and ``args`` after the call."""
        if _deoptimized(run.error):
            return  # this call is outside what the variant answers; not a mismatch
        if isinstance(run.error, Rejection):
            self.failure = str(run.error)
            return
        if run.error is not None:
            self.failure = f"raised {type(run.error).__name__} where the original returned"
            return
        try:
            if self._handed_back(run.result, args):
                return  # a promoted call would run the original: not a mismatch, not timed
            self._check_result(result, run.result, args, run.copies)
        except Exception as exc:  # a comparison that fails is a mismatch, never the user's error
            self.failure = f"its result could not be compared: {exc!r}"
        self.variant_seconds.append(run.seconds)
        self.original_seconds.append(original_seconds)

    def _handed_back(self, result: Any, args: tuple) -> bool:
        """Whether a promoted call giving ``result`` would hand the call back to the
        original, its result's type being ambiguous (as :meth:`Variant.run` checks it;
        docs/divergences.md, row 12). Before the first timed call has taught the adapter
        that check needs, a call returning a constant (or argument) where something else
        may be returned too is not used: the type it shows there is the constant's (``short``
        returned as the float ``0.0``), not the computed value's (a ``np.float64``), and
        learning it would give the other calls the wrong type."""
        guards = self.compiled.guards
        if not self.variant_seconds:
            shared = (guards.shared_constants, guards.shared_arguments)
            return ambiguous_result(result, args, *shared, adapted=False)
        adapted = result if self.adapter is None else self.adapter(result)
        return hands_back(adapted, args, guards)

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
        if type(variant_result) is not self.raw_type or not self._same(result, adapted):
            self.failure = "answered differently from the original on a real call"
        elif not self._same_arguments(args, copies):
            self.failure = "wrote its arguments differently from the original"

    def _same_arguments(self, args: tuple, copies: tuple) -> bool:
        fields = getattr(self.compiled, "fields", ())
        pairs = enumerate(zip(args, copies, strict=True))
        return all(self._same(a, c, field_at(fields, i)) for i, (a, c) in pairs)

    def _same(self, original: Any, variant: Any, wanted: frozenset[str] | None = None) -> bool:
        if self.tolerance is None:
            return same(original, variant, wanted=wanted)
        return close(original, variant, *self.tolerance, wanted=wanted)

    def verdict(self, needed: int, min_gain: float) -> tuple[bool, str] | None:
        """``(promote, reason)`` once decidable, else ``None`` (keep trialling)."""
        if self.failure:
            return False, self.failure
        if len(self.variant_seconds) >= needed:
            return speed_verdict(self.speedup(), min_gain)
        if self.calls >= needed * _MAX_TRIAL_FACTOR:
            return False, (
                "gave up, raised or returned a constant of ambiguous type on nearly every "
                "validation call, so it was never timed"
            )
        return None

    def speedup(self) -> float:
        """Best original time / best variant time over the trial (ratio).

        The variant's time includes the trampoline's dispatch (``dispatch_seconds``).
        """
        return min(self.original_seconds) / max(min(self.variant_seconds), 1e-9)

    def saved_seconds(self) -> float:
        """Best original time minus best variant time over the trial (seconds per call)."""
        return min(self.original_seconds) - min(self.variant_seconds)

    def promotion(self) -> PromotionRecord:
        """The report record of this trial's promotion."""
        return PromotionRecord(
            self.signature,
            self.speedup(),
            self.compile_seconds,
            self.from_cache,
            self.target,
            saved_seconds=self.saved_seconds(),
        )
