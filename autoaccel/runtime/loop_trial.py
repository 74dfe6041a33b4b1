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

import functools
import logging
import threading
import time
from typing import Any, NamedTuple, Protocol

from autoaccel.analysis.loops import LoopSpec
from autoaccel.backends import background, budget, cpu, signatures
from autoaccel.backends.isolation import first_run_failure
from autoaccel.backends.loop_code import (
    SUSPENDED,
    LoopPlan,
    leading_arguments,
)
from autoaccel.backends.screening import globals_refusal
from autoaccel.backends.signatures import describe, describe_arguments, numba_signature
from autoaccel.boundary.convert import refusal, release, save
from autoaccel.cache.decisions import SavedAs
from autoaccel.errors import Rejection
from autoaccel.policy.compare import copy_arguments
from autoaccel.policy.cost import record_compile
from autoaccel.policy.trial import PromotionRecord
from autoaccel.policy.window import WindowRun, WindowTrial
from autoaccel.runtime import methods
from autoaccel.runtime.loop_boundary import (
    NEVER,
    Boundary,
    Exit,
    Route,
    natives_of,
    readable,
    reader,
    value_of,
)
from autoaccel.runtime.loop_unit import LoopUnit
from autoaccel.runtime.registry import lookup
from autoaccel.runtime.warm_start import load_refusal

logger = logging.getLogger("autoaccel")

_WINDOW_SECONDS = 0.002  # aim: a validation window of two milliseconds of Python time
_ENTRY_SHARE = 10  # ... or ten times a compiled run's fixed cost, whichever is longer
_LONGEST_WINDOW = 1.0  # seconds
_ESTIMATE_SECONDS = 0.001  # Python time seen before its time per iteration sizes a window
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

    def run_promoted(
        self, key: tuple, plan: LoopPlan, arguments: tuple, natives: tuple
    ) -> int | Exit:
        """Run the variant of ``key`` to the loop's end (``natives``: converted arguments)."""


class Pending(NamedTuple):
    """A compiled variant in its trial."""

    trial: WindowTrial
    compiled: Any
    unit: LoopUnit
    key: tuple
    saved_as: Any
    source: SavedAs | None  # where its rejection is kept by source as well


class Window(NamedTuple):
    """A trial window in progress: the compiled half, waiting for Python's."""

    run: WindowRun
    arguments: tuple
    started: float
    owner: tuple  # (thread, iterable): the run of the loop it belongs to


def _position(kind: str, arguments: tuple) -> Any:
    """The position among a compiled loop's leading arguments (0 for a ``while`` loop)."""
    names = leading_arguments(kind)
    return arguments[names.index("pos")] if "pos" in names else 0


def window_owner(kind: str, iterable: Any) -> tuple:
    """Which run of a loop a window belongs to: the thread, and the run's iterable."""
    return (threading.get_ident(), 0 if kind == "while" else id(iterable))


def with_budget(kind: str, arguments: tuple, budget: int) -> tuple:
    """``arguments`` of a loop of ``kind`` with the budget argument set to ``budget``."""
    index = leading_arguments(kind).index("budget")
    return (*arguments[:index], budget, *arguments[index + 1 :])


class LoopTrial:
    """The trial of one loop's variants (one at a time).

    With ``background_compile = true`` a variant compiles on the background compiler, as a
    function's does: the loop runs on in Python until a boundary of its key takes it up.

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
        self._units: dict[tuple, LoopUnit] = {}
        self._sources: dict[tuple, SavedAs | None] = {}
        # Keys handed to the background compiler, and their builds until a boundary of
        # their key takes them up.
        self._queued: set[tuple] = set()
        self._built: dict[tuple, Any] = {}

    def start(self, state: Boundary, iterable: Any, frame: dict) -> int | Exit | None:
        """Compile for the state at a boundary; apply a saved decision or open the first
        validation window. ``None``: the compile is on the background compiler (or Numba
        is being imported there), and the loop runs on in Python."""
        plan, arguments, key = state.plan, state.arguments, state.key
        unit = self._unit(plan, state.frozen)
        source = self._source(unit, arguments)
        built = self._built.pop(key, None)
        try:
            if built is None:
                if self.owner.config.background_compile and not background.on_worker():
                    self._in_background(unit, state, source)
                    return None
                built = self._compile(unit, *self._inputs(unit, state))
        except Rejection as exc:
            self._reject(unit, key, source, exc)
            return NEVER
        compiled, signature, seconds, from_cache, saved_as = built
        decision = unit.saved.decision(saved_as)
        if decision is not None and not decision.promoted:
            self.owner.fail(key, f"{decision.reason} (saved decision)", signature)
            return NEVER
        if decision is not None:
            record = PromotionRecord(
                signature, decision.speedup, seconds, from_cache, saved_decision=True
            )
            self.owner.promote(key, compiled, decision.adapter, record)
            return self.owner.run_promoted(key, plan, arguments, state.natives)
        trial = WindowTrial(
            compiled.entry,
            signature,
            seconds,
            from_cache,
            compiled.guards.written,
            plan.names,
            reader(plan),
            plan.fields,
        )
        trial.warm_up(with_budget(self.owner.spec.kind, arguments, 1))
        self.pending = Pending(trial, compiled, unit, key, saved_as, source)
        return self.open_window(state, iterable, frame)

    def _reject(self, unit: LoopUnit, key: tuple, source: SavedAs | None, exc: Rejection) -> None:
        """Never try ``key`` again; kept by source: a later run rejects it before Numba."""
        unit.saved.keep_rejection(source, str(exc))
        self.owner.fail(key, str(exc))

    def _in_background(self, unit: LoopUnit, state: Boundary, source: SavedAs | None) -> None:
        """Hand ``state``'s compile to the background compiler, once, with what it needs of
        the state read on this thread (the frame's values may change meanwhile); raises
        :class:`~autoaccel.errors.Rejection` as :meth:`_inputs` does."""
        key = state.key
        if key in self._queued:
            return
        if not signatures.numba_loaded():  # Numba types its signature: imported there first
            background.submit("import numba", signatures.load_numba)
            return
        job = functools.partial(self._compile_job, unit, key, source, self._inputs(unit, state))
        self._queued.add(key)
        background.submit((id(self), key), job)

    def _compile_job(
        self, unit: LoopUnit, key: tuple, source: SavedAs | None, inputs: tuple
    ) -> None:
        """The background compiler's job: a build waits in ``_built`` for the next
        boundary of its key; a rejection is recorded at once."""
        with background.COMPILE_LOCK:
            try:
                self._built[key] = self._compile(unit, *inputs)
            except Rejection as exc:
                self._reject(unit, key, source, exc)
            except Exception as exc:  # a bug of ours, or Numba's: stay plain, say why
                logger.debug("%s: internal error while compiling", self.owner.name, exc_info=True)
                self.owner.fail(key, f"internal error: {exc!r}")
            finally:
                self._queued.discard(key)

    def _inputs(self, unit: LoopUnit, state: Boundary) -> tuple:
        """What a compile reads of ``state``: ``(Numba signature, methods, first-run
        arguments or None)``.

        Raises:
            Rejection: a list or object among the variables cannot be converted.
        """
        # Every element of every list, checked once before the first compile.
        reason = refusal(state.arguments, fields=unit.plan.fields)
        if reason:
            raise Rejection(f"a variable {reason}")
        first = None
        if self.owner.config.isolate_first_run:
            copies = copy_arguments(
                with_budget(self.owner.spec.kind, state.arguments, 1), unit.plan.fields
            )
            first = natives_of(copies, unit.plan.fields)
        return numba_signature(state.natives), state.methods, first

    def _compile(
        self, unit: LoopUnit, signature: tuple, resolved: Any, first: tuple | None
    ) -> tuple:
        """``(compiled, signature text, seconds, from_cache, saved_as)`` for a boundary's
        ``signature``, ``resolved`` methods and ``first``-run arguments (:meth:`_inputs`).

        Raises:
            Rejection: a global cannot be frozen, Numba refuses, the typed IR shows a
                divergence, or the isolated first run crashes.
        """
        owner = self.owner
        start = time.perf_counter()
        try:
            compiled, from_cache, saved_as = self._build(unit, signature, resolved, first)
        finally:
            seconds = time.perf_counter() - start
            self.compile_seconds += seconds
            record_compile(seconds)
        shown = readable(unit.plan, signature)
        verb = "loaded" if from_cache else "compiled"
        logger.info("%s: %s %s in %.3f s", owner.name, verb, shown, seconds)
        return compiled, shown, seconds, from_cache, saved_as

    def _build(self, unit: LoopUnit, signature: tuple, resolved: Any, first: tuple | None) -> tuple:
        """``(compiled, from_cache, saved_as)``; see :meth:`_compile`."""
        owner = self.owner
        unit.refresh()
        with cpu.compiling():
            compiled = cpu.build(unit, owner.config.jit, lookup)
            compiled.snapshot = unit.live_snapshot(compiled.snapshot)
            methods.bind(compiled, resolved, owner.config.jit, unit)
            text = describe(signature)
            # Decisions are keyed by the Numba signature alone, as variants are.
            saved_as, store = unit.saved.where((), text, compiled)
            with budget.limit(owner.config.compile_budget):
                _, from_cache = cpu.compile_signature(compiled, signature, store)
        if first is not None:
            crash = first_run_failure(compiled.entry, first, _ISOLATION_TIMEOUT)
            if crash:
                unit.saved.save(saved_as, False, crash)
                raise Rejection(crash)
        return compiled, from_cache, saved_as

    def open_window(self, state: Boundary, iterable: Any, frame: dict) -> int:
        """The compiled loop runs the next ``n`` iterations on copies; then Python does.

        The compiled half is charged what a promoted run pays around the compiled loop:
        its arguments read from the frame and the copies of the arrays it may write
        (timed here), and reading its variables back (timed in the comparison). A loop
        whose runs are a few iterations long is slower compiled, and stays Python.
        """
        owner = self.owner
        assert self.pending is not None
        arguments = state.arguments
        overhead = self._entry_seconds(state, iterable, frame)
        # A promoted run pays its entry (converting a long list, copying arrays) once, not
        # per window: a window long enough for the entry to be a small share of it measures
        # what a long run gains (a loop filling a 2-million-float list measured 0.1x with
        # 2 ms windows, and the process ran 50x slower than CPython; tests/test_policy_window.py).
        trial = self.pending.trial
        fixed = overhead + trial.fixed_seconds
        trial.long_windows = fixed * _ENTRY_SHARE > _WINDOW_SECONDS
        seconds = min(max(_WINDOW_SECONDS, fixed * _ENTRY_SHARE), _LONGEST_WINDOW)
        size = _window_size(seconds, owner.seconds, owner.iterations)
        before = {
            name: value_of(owner.spec, owner.globals, name, frame)
            for name in self.pending.unit.plan.maybe
        }
        run = trial.run_window(with_budget(owner.spec.kind, arguments, size), before, overhead)
        started = time.perf_counter()  # Python's half starts when osr returns (soon after)
        owner.window = Window(run, arguments, started, window_owner(owner.spec.kind, iterable))
        return size

    def _entry_seconds(self, state: Boundary, iterable: Any, frame: dict) -> float:
        """What a promoted run pays before the compiled loop starts (seconds): the best of
        three tries, as a single try of a few microseconds is mostly first-touch costs."""
        assert self.pending is not None
        owner = self.owner
        position = _position(owner.spec.kind, state.arguments)
        route = Route(owner.spec, state, frame)
        written = self.pending.compiled.guards.written
        best = float("inf")
        for _ in range(3):
            started = time.perf_counter()
            found = route.arguments(owner.spec, owner.globals, iterable, position, frame)
            natives = found[1] if found is not None else state.natives
            for index in written:
                save(natives[index])
            best = min(best, time.perf_counter() - started)
            if found is not None and found[1] is not found[0]:
                release(found[1])
        return best

    def finish_window(self, kind: int, position: Any, frame: dict, now: float) -> None:
        """Python reached the window's end (``kind``: at a boundary, or the loop's end)."""
        window, pending = self.owner.window, self.pending
        self.owner.window = None
        if not isinstance(window, Window) or pending is None:  # none, or a Lesson
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
        window, self.owner.window = self.owner.window, None
        if isinstance(window, Window) and self.pending is not None:  # not a Lesson
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
            for saved_as in (pending.saved_as, pending.source):
                pending.unit.saved.save(saved_as, False, reason, speedup=speedup)
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
            adapter=trial.site_types,
            saved_seconds=record.saved_seconds,
        )

    def screen(
        self, plan: LoopPlan, frozen: tuple[tuple[str, Any], ...], arguments: tuple
    ) -> str | None:
        """Why the loop's code for ``plan`` cannot be compiled for ``arguments``: a global it
        or a helper reads that Numba cannot freeze
        (:func:`~autoaccel.backends.screening.globals_refusal`), or a rejection a previous
        run kept by source; else ``None``. Decided without Numba."""
        if self.pending is not None or self._queued:
            return None  # compiled or compiling already: the trial's own checks go on
        unit = self._unit(plan, frozen)
        reason = globals_refusal(unit, lookup)
        reason = reason or unit.saved.refused_before(self._source(unit, arguments))
        return reason or load_refusal(self.owner.config)  # starting Numba would not pay

    def _source(self, unit: LoopUnit, arguments: tuple) -> SavedAs | None:
        """Where a rejection of ``unit`` for arguments like these is kept by source
        (:meth:`~autoaccel.runtime.saved.SavedDecisions.by_source`), found once per unit and
        argument types."""
        which = (id(unit), describe_arguments(arguments))
        if which not in self._sources:
            self._sources[which] = unit.saved.by_source((), arguments)
        return self._sources[which]

    def _unit(self, plan: LoopPlan, frozen: tuple[tuple[str, Any], ...]) -> LoopUnit:
        which = (plan.params, frozen)
        unit = self._units.get(which)
        if unit is None:
            unit = self._units[which] = LoopUnit(self.owner, plan, frozen)
        return unit


def _window_size(seconds: float, seen_seconds: float, seen_iterations: int) -> int:
    """The iterations of a window meant to last ``seconds`` of Python time, from the
    ``seen_iterations`` that took ``seen_seconds`` so far (both seconds).

    Under a millisecond seen, the time per iteration is no estimate: a loop promoted in an
    earlier run looks first after one iteration's start, tens of microseconds in, and a
    window sized from that covered a whole run of 30 iterations of 1.4 ms (then no second
    window came, and the loop stayed in validation). Such a window covers as many
    iterations as were seen, so windows double until the estimate holds.
    """
    if seen_seconds < _ESTIMATE_SECONDS:
        return max(seen_iterations, 1)
    per_iteration = seen_seconds / max(seen_iterations, 1)
    return int(min(max(seconds / max(per_iteration, 1e-9), 1), 1 << 26))
