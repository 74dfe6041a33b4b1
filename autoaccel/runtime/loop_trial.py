"""The trial of a hot loop: compile for the state at a boundary, validate on windows, decide.

Why this design: the loop trampoline (:mod:`autoaccel.runtime.loop`) decides *when*; this
class does the rest of what :mod:`autoaccel.runtime.promoter` does for functions, the loop's
way: compile the loop for one plan and signature (the same compiler, checked operations,
typed-IR checks, frozen globals, disk cache and isolated first run as functions), apply a
saved decision, or open validation windows (:mod:`autoaccel.policy.window`) and conclude.
It tells its owner through :class:`Owner`: the window the instrumentation looks at, a
promotion, a rejection.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any, NamedTuple, Protocol

from autoaccel.analysis.loops import LoopSpec
from autoaccel.backends import budget, cpu
from autoaccel.backends.isolation import first_run_failure
from autoaccel.backends.loop_code import (
    SUSPENDED,
    LoopPlan,
    leading_arguments,
    loop_code,
)
from autoaccel.backends.signatures import describe, numba_signature
from autoaccel.errors import Rejection
from autoaccel.policy.compare import copy_value
from autoaccel.policy.site_types import SiteTypes
from autoaccel.policy.trial import PromotionRecord
from autoaccel.policy.window import WindowRun, WindowTrial
from autoaccel.runtime.loop_boundary import NEVER, Exit, readable, reader, value_of
from autoaccel.runtime.registry import lookup
from autoaccel.runtime.saved import SavedDecisions

logger = logging.getLogger("autoaccel")

_WINDOW_SECONDS = 0.002  # aim: a validation window of two milliseconds of Python time
_ISOLATION_TIMEOUT = 60.0  # seconds a compiled loop's isolated first run may take


class Owner(Protocol):
    """What the trial reads and tells of its loop (a loop trampoline is one)."""

    name: str
    qualname: str
    module: str
    filename: str
    spec: LoopSpec
    globals: dict
    config: Any
    min_gain: float
    seconds: float
    iterations: int
    window: Any

    def promote(self, key: tuple, compiled: Any, adapter: Any, record: PromotionRecord) -> None:
        """Serve ``key`` with ``compiled`` from now on."""

    def fail(self, key: Any, reason: str, signature: str = "") -> None:
        """Never try ``key`` again."""

    def run_promoted(self, key: tuple, plan: LoopPlan, arguments: tuple) -> int | Exit:
        """Run the variant of ``key`` to the loop's end."""


class LoopUnit:
    """One plan's compile unit: the generated function, as the back-ends and the cache see it.

    Attributes:
        code: the function :func:`~autoaccel.backends.loop_code.loop_code` generated.
        saved: where its decisions are kept.
    """

    def __init__(self, loop: Owner, plan: LoopPlan) -> None:
        self.plan = plan
        self.name = loop.name
        self.qualname = loop.qualname
        self.module = loop.module
        self.globals = loop.globals
        self.config = loop.config
        self.min_gain = loop.min_gain
        self.code = loop_code(loop.spec, plan, loop.filename)
        self.refusal: str | None = None
        self.compiled: Any = None
        self.saved = SavedDecisions(self)

    def required_gain(self) -> float:
        """The speed-up the loop's variant must reach."""
        return self.min_gain


class Pending(NamedTuple):
    """A compiled variant in its trial."""

    trial: WindowTrial
    compiled: Any
    unit: LoopUnit
    key: tuple
    saved_as: Any


class Window(NamedTuple):
    """A trial window in progress: the compiled half, waiting for Python's."""

    run: WindowRun
    arguments: tuple
    started: float
    owner: tuple  # (thread, iterable): the run of the loop it belongs to


def window_owner(kind: str, iterable: Any) -> tuple:
    """Which run of a loop a window belongs to: the thread, and the run's iterable."""
    return (threading.get_ident(), 0 if kind == "while" else id(iterable))


def with_budget(kind: str, arguments: tuple, budget: int) -> tuple:
    """``arguments`` of a loop of ``kind`` with the budget argument set to ``budget``."""
    index = leading_arguments(kind).index("budget")
    return (*arguments[:index], budget, *arguments[index + 1 :])


class LoopTrial:
    """The trial of one loop's variants (one at a time).

    Attributes:
        pending: the variant in its trial, or ``None``.
        compile_seconds: wall time spent compiling (or loading) the loop's variants, rejected
            ones included (seconds).
        trial_seconds: wall time of its validation windows, both halves (seconds).
    """

    def __init__(self, owner: Owner) -> None:
        self.owner = owner
        self.pending: Pending | None = None
        self.compile_seconds = 0.0
        self.trial_seconds = 0.0
        self._units: dict[tuple[str, ...], LoopUnit] = {}

    def start(
        self, plan: LoopPlan, arguments: tuple, key: tuple, iterable: Any, frame: dict
    ) -> int | Exit:
        """Compile for ``key``; apply a saved decision or open the first validation window."""
        unit = self._unit(plan)
        try:
            compiled, signature, seconds, from_cache, saved_as = self._compile(unit, arguments)
        except Rejection as exc:
            self.owner.fail(key, str(exc))
            return NEVER
        decision = unit.saved.decision(saved_as)
        if decision is not None and not decision.promoted:
            self.owner.fail(key, f"{decision.reason} (saved decision)", signature)
            return NEVER
        if decision is not None:
            record = PromotionRecord(
                signature, decision.speedup, seconds, from_cache, saved_decision=True
            )
            self.owner.promote(key, compiled, SiteTypes(decision.adapter), record)
            return self.owner.run_promoted(key, plan, arguments)
        trial = WindowTrial(
            compiled.entry,
            signature,
            seconds,
            from_cache,
            compiled.guards.written,
            plan.names,
            reader(plan),
        )
        trial.warm_up(with_budget(self.owner.spec.kind, arguments, 1))
        self.pending = Pending(trial, compiled, unit, key, saved_as)
        return self.open_window(arguments, iterable, frame)

    def _compile(self, unit: LoopUnit, arguments: tuple) -> tuple:
        """``(compiled, signature text, seconds, from_cache, saved_as)`` for ``arguments``.

        Raises:
            Rejection: a global cannot be frozen, Numba refuses, the typed IR shows a
                divergence, or the isolated first run crashes.
        """
        owner = self.owner
        start = time.perf_counter()
        try:
            compiled, signature, from_cache, saved_as = self._build(unit, arguments)
        finally:
            seconds = time.perf_counter() - start
            self.compile_seconds += seconds
        shown = readable(unit.plan, signature)
        verb = "loaded" if from_cache else "compiled"
        logger.info("%s: %s %s in %.3f s", owner.name, verb, shown, seconds)
        return compiled, shown, seconds, from_cache, saved_as

    def _build(self, unit: LoopUnit, arguments: tuple) -> tuple:
        """``(compiled, Numba signature, from_cache, saved_as)``; see :meth:`_compile`."""
        owner = self.owner
        with cpu.compiling():
            compiled = cpu.build(unit, owner.config.jit, lookup)
            signature = numba_signature(arguments)
            text = describe(signature)
            # Decisions are keyed by the Numba signature alone, as variants are.
            saved_as, store = unit.saved.where((), text, compiled)
            with budget.limit(owner.config.compile_budget):
                _, from_cache = cpu.compile_signature(compiled, signature, store)
        if owner.config.isolate_first_run:
            copies = tuple(map(copy_value, with_budget(owner.spec.kind, arguments, 1)))
            crash = first_run_failure(compiled.entry, copies, _ISOLATION_TIMEOUT)
            if crash:
                unit.saved.save(saved_as, False, crash)
                raise Rejection(crash)
        return compiled, signature, from_cache, saved_as

    def open_window(self, arguments: tuple, iterable: Any, frame: dict) -> int:
        """The compiled loop runs the next ``n`` iterations on copies; then Python does."""
        owner = self.owner
        assert self.pending is not None
        per_iteration = owner.seconds / max(owner.iterations, 1)
        size = int(min(max(_WINDOW_SECONDS / max(per_iteration, 1e-9), 1), 1 << 20))
        before = {
            name: value_of(owner.spec, owner.globals, name, frame)
            for name in self.pending.unit.plan.maybe
        }
        run = self.pending.trial.run_window(with_budget(owner.spec.kind, arguments, size), before)
        started = time.perf_counter()  # Python's half starts when osr returns (soon after)
        owner.window = Window(run, arguments, started, window_owner(owner.spec.kind, iterable))
        return size

    def finish_window(self, kind: int, position: Any, frame: dict, now: float) -> None:
        """Python reached the window's end (``kind``: at a boundary, or the loop's end)."""
        window, pending = self.owner.window, self.pending
        self.owner.window = None
        if window is None or pending is None:
            return
        owner = self.owner
        outputs = tuple(
            value_of(owner.spec, owner.globals, name, frame) for name in pending.unit.plan.names
        )
        at = position if kind == SUSPENDED else None
        self.trial_seconds += window.run.seconds + (now - window.started)
        pending.trial.compare(window.run, kind, at, outputs, window.arguments, now - window.started)
        self._conclude(pending)

    def abandon_window(self) -> None:
        """The run the window belonged to left the loop by a ``return``: not comparable."""
        self.owner.window = None
        if self.pending is not None:
            self.pending.trial.abandon()
            self._conclude(self.pending)

    def _conclude(self, pending: Pending) -> None:
        owner = self.owner
        trial = pending.trial
        verdict = trial.verdict(owner.config.validation_calls, owner.min_gain)
        if verdict is None:
            return  # the next boundary opens the next window
        self.pending = None
        promote, reason = verdict
        speedup = trial.speedup() if trial.variant_seconds else 0.0
        if not promote:
            owner.fail(pending.key, reason, trial.signature)
            pending.unit.saved.save(pending.saved_as, False, reason, speedup=speedup)
            return
        record = PromotionRecord(
            trial.signature,
            speedup,
            trial.compile_seconds,
            trial.from_cache,
            saved_seconds=trial.saved_seconds(),
        )
        owner.promote(pending.key, pending.compiled, trial.site_types, record)
        logger.info("%s%s: promoted, %s", owner.name, record.signature, reason)
        pending.unit.saved.save(
            pending.saved_as,
            True,
            reason,
            speedup=speedup,
            compile_seconds=trial.compile_seconds,
            adapter=trial.site_types.types,
            saved_seconds=record.saved_seconds,
        )

    def _unit(self, plan: LoopPlan) -> LoopUnit:
        unit = self._units.get(plan.params)
        if unit is None:
            unit = self._units[plan.params] = LoopUnit(self.owner, plan)
        return unit
