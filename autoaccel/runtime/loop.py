"""The loop trampoline: counting a loop's iterations, trialling it mid-run, running it compiled.

Why this design: the instrumentation (:mod:`autoaccel.rewrite.loop_host`) calls
:meth:`LoopTrampoline.osr` every ``budget`` iterations, at the top of an iteration, with the
loop's iterable, its position and the frame's variables (``locals()``, a snapshot). Until the
loop has run for ``loop_min_seconds`` of Python time (summed over its runs) the answer is a
new budget: Python goes on. Then the loop is compiled for the types of its variables at that
moment (:mod:`autoaccel.backends.loop_code`, through the same compiler, checked operations,
typed-IR checks, frozen globals, isolated first run and disk cache as functions), and
trialled on windows of real iterations (:mod:`autoaccel.policy.window`). Once promoted, the
next boundary of this very run (on-stack replacement), and the first iteration of later
runs, go to the compiled loop, which runs the loop to its end and returns an :class:`Exit`:
how it ended and the variables to write back.

Hand-back: before a compiled run, the arrays it may write are copied; if the run gives up (a
checked operation deoptimizes, the code raises, a result's type could differ from CPython's),
they are restored and Python continues from the same iteration with every variable as it
was: the frame's own variables were never touched. The cost of that guarantee is one copy of
each written array per compiled run, measured in docs/how-it-works.md.
"""

from __future__ import annotations

import logging
import threading
import time
import types
from typing import Any

from autoaccel.analysis.loops import LoopSpec
from autoaccel.backends.loop_code import SUSPENDED, LoopPlan
from autoaccel.boundary.convert import carries
from autoaccel.config import Config
from autoaccel.errors import Rejection
from autoaccel.lazy_numpy import loaded, np
from autoaccel.policy.cost import compile_threshold
from autoaccel.policy.site_types import SiteTypes
from autoaccel.policy.trial import PromotionRecord
from autoaccel.runtime.keys import Failure
from autoaccel.runtime.loop_boundary import (
    NEVER,
    Boundary,
    Exit,
    Lesson,
    LoopVariant,
    Route,
    boundary,
)
from autoaccel.runtime.loop_trial import LoopTrial, Window, window_owner
from autoaccel.runtime.saved import SavedDecisions
from autoaccel.runtime.warm_start import load_refusal

logger = logging.getLogger("autoaccel")

_FIRST_BUDGET = 8  # iterations before the first look at a loop's speed (then ~1 ms)
_TRIP_SECONDS = 0.001  # aim: one look every millisecond of Python time
_GIVE_UP_AFTER = 10  # hand-backs in a row after which a promoted variant is dropped
# Python time a run must take for a compiled run to have a chance: entering one costs 2-15 us
# (benchmarks/loop_overhead.py); the trial decides the loops above this.
_SHORT_RUN = 20e-6
# Runs in a row that ran no iteration after which an unpromoted loop is left plain: such
# runs never reach a look (the carried budget does not shrink), and each pays enter/leave.
_EMPTY_RUNS = 1000
# Every this many runs, a loop whose runs average under a quarter of _SHORT_RUN (the last
# one not empty: those are _EMPTY_RUNS's) is left plain at once: its instrumentation (enter
# and leave, about 2 us a run) would otherwise cost several times the loop's own time until
# loop_min_seconds of it is seen (pyperformance's richards: 187,871 runs of 0.3 us, 0.4 s of
# a 1.7 s run).
_QUICK_RUNS = 1000


class LoopTrampoline:
    """Per-loop acceleration state (one per loop of a rewritten module).

    Args:
        module: the module's ``__name__``.
        spec: the loop's :class:`~autoaccel.analysis.loops.LoopSpec` (or its tuple).
        namespace: the module's globals.
        config: the configuration in force.

    The instrumentation reads ``armed`` and ``window`` on every run of the loop.
    """

    def __init__(self, module: str, spec: tuple, namespace: dict, config: Config) -> None:
        self.spec = LoopSpec(*spec)
        self.module = module
        self.qualname = self.spec.qualname
        self.name = f"{module}.{self.qualname}"
        self.globals = namespace
        self.filename = str(namespace.get("__file__") or f"<{module}>")
        self.config = config
        override = config.override(self.name)
        self.refusal = self.spec.refusal or None
        if not override.enabled or not config.loops:
            self.refusal = "disabled in the configuration"
        self.armed = self.refusal is None
        self.min_gain = config.min_gain if override.min_gain is None else override.min_gain
        self.window: Window | Lesson | None = None
        self._compiling = threading.Lock()
        self.reported = True
        self.runs = 0
        self.invalidations = 0
        self.iterations = 0
        self.seconds = 0.0  # Python time seen in the loop, all runs together
        self.failures: dict[Any, Failure] = {}
        self.promotions: list[PromotionRecord] = []
        self.variants: dict[tuple, LoopVariant] = {}
        self.trial = LoopTrial(self)
        self._budget = _FIRST_BUDGET
        self._handed = _FIRST_BUDGET
        self._carried = 0  # budget a run left over, for the next run (0: none)
        self._route: Route | None = None  # the last boundary that reached a variant
        self._last = 0.0
        self._empty_runs = 0  # runs in a row that ended without an iteration or a look
        self._looked = False  # whether the run in progress reached a look
        self._saved_promotion: bool | None = None

    def __repr__(self) -> str:
        return f"<autoaccel loop {self.name}>"

    # The instrumentation's calls --------------------------------------------------------

    def enter(self, iterable: Any) -> int:
        """A run of the loop starts; the iterations before its first look (a budget)."""
        self.runs += 1
        reason = iterable_refusal(self.spec, iterable)
        if reason:
            self._refuse(reason)
            return NEVER
        if self.window is not None and self.window.owner[0] == threading.get_ident():
            self.trial.abandon_window()  # the run it belonged to left by a return
        self._last = time.perf_counter()
        self._looked = False
        if self.variants or self._promoted_before():
            return self._hand(1)  # promoted: to the compiled loop at the first boundary
        if not self.armed:
            return NEVER  # refused just now
        if self.trial.pending is None:
            reason = runs_refusal(self.runs, self._empty_runs, self.seconds, self.min_gain)
            if reason:
                self._refuse(reason)
                return NEVER
        return self._hand(self._carried or self._budget)

    def leave(self, budget: int) -> None:
        """A run of the loop ended in Python (end, ``break`` or ``else``) with ``budget``
        iterations of its budget left: book what ran since the last look, and keep the rest
        of the budget for the next run (runs shorter than a budget add up to a look)."""
        now = time.perf_counter()
        ran = self._handed - budget
        if self._last and 0 <= ran <= self._handed:
            self.iterations += ran
            self.seconds += now - self._last
        self._empty_runs = self._empty_runs + 1 if ran == 0 and not self._looked else 0
        # A run handed NEVER (refused, or handed back) has nothing to carry.
        self._carried = budget if 0 < budget <= self._handed < NEVER else 0
        self._last = 0.0

    def osr(self, iterable: Any, position: Any, frame: dict) -> int | Exit:
        """At an iteration boundary: a new budget (Python goes on) or the run's :class:`Exit`.

        Args:
            iterable: the loop's ``range`` or sequence (``None`` for a ``while`` loop).
            position: the ``range`` value about to run, the sequence index, or 0.
            frame: the frame's variables (``locals()``: the module's globals at top level).
        """
        route = self._route
        if route is not None and self.window is None and route.key in self.variants:
            # A promoted loop's later runs: straight to the variant when the frame allows.
            try:
                found = route.arguments(self.spec, self.globals, iterable, position, frame)
                if found is not None:  # its run releases the views it converted
                    done = self.run_promoted(route.key, route.plan, *found)
                    return self._hand(done) if isinstance(done, int) else done
            except Exception as exc:  # a bug of ours must never reach the user's loop
                logger.debug("%s: internal error", self.name, exc_info=True)
                self._refuse(f"internal error: {exc!r}")
                return NEVER
        now = time.perf_counter()
        self._looked = True
        try:
            decided = self._decide(iterable, position, frame, now)
        except Exception as exc:  # a bug of ours must never reach the user's loop
            logger.debug("%s: internal error", self.name, exc_info=True)
            self._refuse(f"internal error: {exc!r}")
            return NEVER
        # Python's time in the loop starts again now: imports, compiles and windows on
        # copies are autoaccel's time, not the loop's.
        self._last = time.perf_counter()
        return self._hand(decided) if isinstance(decided, int) else decided

    def after(self, kind: int, frame: dict) -> None:
        """The loop ended in Python (``kind``: ENDED or BROKE) while a window (or a
        :class:`~autoaccel.runtime.loop_boundary.Lesson`) was open."""
        window = self.window
        if isinstance(window, Lesson) and window.owner[0] == threading.get_ident():
            self.window = None
            window.teach(kind, frame, self.spec, self.globals)
        elif window is not None and window.owner[0] == threading.get_ident():
            self.trial.finish_window(kind, None, frame, time.perf_counter())

    def clean(self, namespace: dict) -> None:
        """Remove the instrumentation's temporaries of this loop from a module's globals."""
        number = str(self.spec.number)
        for base in ("budget", "exit", "next", "iter", "position"):
            namespace.pop(f"@{base}{number}", None)

    # Deciding at a boundary --------------------------------------------------------------

    def _decide(self, iterable: Any, position: Any, frame: dict, now: float) -> int | Exit:
        window = self.window
        if window is not None and window.owner != window_owner(self.spec.kind, iterable):
            return self._budget  # another run of the loop holds the window
        self._count(now, adapt=window is None)
        if window is not None:
            self.trial.finish_window(SUSPENDED, position, frame, now)
        if not self.armed:
            return NEVER
        # Nothing to enter or validate: decide first whether to look at all, since reading
        # the state converts its lists and objects (microseconds a look).
        decided_early = not self.variants and self.trial.pending is None
        if decided_early:
            waiting = self._not_yet()
            if waiting is not None:
                return waiting
        try:
            state = boundary(self.spec, self.globals, iterable, position, frame, self.trial.screen)
        except Rejection as exc:
            self.fail(("values",), str(exc))
            return NEVER
        if isinstance(state, str):
            return self._budget  # not compilable at this boundary; maybe at a later one
        with state:  # then Python may resize the buffers it converted (convert.release)
            plan, key = state.plan, state.key
            if key in self.variants:
                self._route = Route(self.spec, state, frame)
                return self.run_promoted(key, plan, state.arguments, state.natives)
            if key in self.failures:
                return NEVER
            if self.trial.pending is not None:
                opened = self.trial.pending.key == key
                return self.trial.open_window(state, iterable, frame) if opened else NEVER
            waiting = None if decided_early else self._not_yet()
            return waiting if waiting is not None else self._start(state, iterable, frame)

    def _not_yet(self) -> int | None:
        """The budget to run on in Python, or NEVER, while a loop promoted in no run before
        has not taken enough Python time to compile, or its runs are too short; else
        ``None`` (compile now)."""
        if self._promoted_before():
            return None
        if self.seconds < self.threshold()[0]:
            return self._budget
        short = too_short(self.seconds, self.runs, self.min_gain)
        if short:
            self._refuse(short)
            return NEVER
        return None

    def _start(self, state: Boundary, iterable: Any, frame: dict) -> int | Exit:
        """Compile and open a trial, unless another thread (or the background compiler) is
        compiling this loop: this run goes on in Python meanwhile, as a function's calls do."""
        if not self._compiling.acquire(blocking=False):
            return self._budget
        try:
            if self.trial.pending is not None or state.key in self.variants:
                return self._budget  # it finished compiling just before: decide next look
            started = self.trial.start(state, iterable, frame)
            return self._budget if started is None else started
        finally:
            self._compiling.release()

    def threshold(self) -> tuple[float, str]:
        """The Python time (seconds, all runs together) this loop takes before it is
        compiled, and which setting says so (:func:`~autoaccel.policy.cost.compile_threshold`)."""
        config = self.config
        return compile_threshold(
            config.loop_min_seconds, config.compile_payback, "loop_min_seconds"
        )

    def _hand(self, budget: int) -> int:
        """Remember the budget handed to the instrumentation (what the next look books)."""
        self._handed = budget
        self._carried = 0
        return budget

    def _count(self, now: float, adapt: bool) -> None:
        """Book the iterations and Python time since the last look; adapt the budget to
        about one look per millisecond (not from a validation window's iterations)."""
        elapsed = now - self._last if self._last else 0.0
        self.iterations += self._handed
        self.seconds += elapsed
        if adapt and elapsed > 0:
            per_iteration = elapsed / self._handed
            self._budget = int(min(max(_TRIP_SECONDS / max(per_iteration, 1e-9), 16), 1 << 20))

    # What the trial tells the loop ---------------------------------------------------------

    def promote(
        self, key: tuple, compiled: Any, site_types: SiteTypes, record: PromotionRecord
    ) -> None:
        """Serve ``key`` with ``compiled`` from now on."""
        self.variants[key] = LoopVariant(
            compiled.entry, compiled.guards.written, site_types, compiled.snapshot, record.speedup
        )
        self.promotions.append(record)

    def run_promoted(
        self, key: tuple, plan: LoopPlan, arguments: tuple, natives: tuple
    ) -> int | Exit:
        """Run the loop compiled to its end: its :class:`Exit`, or :data:`NEVER` (handed back,
        Python goes on from the same iteration)."""
        variant = self.variants[key]
        changed = variant.changed()
        if changed is not None:
            return self._invalidate(key, changed)
        done = variant.run(self.spec, plan, arguments, natives)
        if done is not None:
            return done
        if variant.lesson is not None:  # Python's run of the same iterations teaches it
            self.window = variant.lesson
        if variant.handbacks >= _GIVE_UP_AFTER:
            del self.variants[key]
            self.fail(key, f"handed back to Python on {_GIVE_UP_AFTER} runs in a row")
        return NEVER

    def _invalidate(self, key: tuple, changed: str) -> int:
        """A global the variant froze changed: drop it, Python finishes this run, and a later
        run may compile the loop again, once (as
        :meth:`~autoaccel.runtime.promoter.Promoter.invalidate` does for functions)."""
        del self.variants[key]
        if not self.variants:
            self.promotions.clear()
        self.invalidations += 1
        reason = f"global {changed} changed after compiling"
        if self.invalidations > 1:
            self.fail(key, reason + " again, so it is no longer compiled")
        else:
            logger.info("%s: %s; variant dropped", self.name, reason)
        return NEVER

    def fail(self, key: Any, reason: str, signature: str = "") -> None:
        """Never try ``key`` again; with nothing promoted or pending, back to the plain loop."""
        self.failures[key] = Failure(signature, reason)
        logger.info("%s: rejected, %s", self.name, reason)
        if not self.variants and self.trial.pending is None:
            self.armed = False

    def _refuse(self, reason: str) -> None:
        self._route = None
        self.refusal = reason
        self.armed = False
        self.window = None
        self.trial.pending = None
        logger.info("%s: not compiled, %s", self.name, reason)

    def _promoted_before(self) -> bool:
        """Whether a previous run saved a promotion for this loop under the policy of this
        one (read once, :func:`promoted_before`)."""
        if self._saved_promotion is None:
            self._saved_promotion = promoted_before(self)
            refusal = load_refusal(self.config) if self._saved_promotion else None
            if refusal:  # loading would not pay for starting Numba: plain for this run
                self._saved_promotion = False
                self._refuse(refusal)
        return self._saved_promotion


def promoted_before(loop: LoopTrampoline) -> bool:
    """Whether a previous run saved a promotion for ``loop`` under the policy of this one.

    One made under another (the gain or the trial length changed) is trialled again, so
    the loop is looked at as a new one is: its first look at the first boundary found no
    estimate of an iteration's time, and its first windows saw the loop's start only
    (tests/test_examples.py, the scripts with loops forced)."""
    saved = SavedDecisions(_Named(loop))
    store = saved.store()
    decisions = store.decisions() if store is not None else {}
    policy = saved.policy()
    return any(
        d.promoted and d.policy == policy
        for k, d in decisions.items()
        if k.qualname == loop.qualname
    )


class _Named:
    """What :class:`SavedDecisions` needs to find a loop's module file, without a plan."""

    def __init__(self, loop: LoopTrampoline) -> None:
        self.name, self.qualname, self.module = loop.name, loop.qualname, loop.module
        self.globals, self.config = loop.globals, loop.config
        self.code = types.SimpleNamespace(co_filename=loop.filename)
        self.min_gain = loop.min_gain

    def required_gain(self) -> float:
        return self.min_gain


def runs_refusal(runs: int, empty_runs: int, seconds: float, min_gain: float) -> str | None:
    """Why an unpromoted loop's runs cannot pay for a compile, decided before they take
    ``loop_min_seconds``, or ``None``: its last ``empty_runs`` runs (:data:`_EMPTY_RUNS` or
    more) ran no iteration, or (looked at every :data:`_QUICK_RUNS` runs, the last one not
    empty) its ``runs`` runs took ``seconds`` of Python time, on average under a quarter of
    what entering compiled code needs (:func:`too_short`)."""
    if empty_runs >= _EMPTY_RUNS:
        return (
            f"its last {_EMPTY_RUNS} runs ran no iteration, so there is nothing to compile "
            "that could pay for entering it"
        )
    if runs % _QUICK_RUNS or empty_runs:
        return None
    return too_short(seconds, runs, min_gain, margin=4.0)


def too_short(seconds: float, runs: int, min_gain: float, margin: float = 1.0) -> str | None:
    """Why a loop's runs are too short to pay for entering compiled code, or ``None``.

    Entering a promoted run costs microseconds (the frame read, converted, arrays copied,
    the variables read back; docs/how-it-works.md, "Loops"): a loop whose runs take less
    than :data:`_SHORT_RUN` each in Python (``seconds`` over ``runs``; ``margin`` times
    less, where more is required to be sure) cannot gain, so it is left plain without a
    compile (``min_gain = 0`` compiles it anyway).
    """
    if min_gain <= 0 or runs < 2:
        return None
    per_run = seconds / runs
    if per_run * margin >= _SHORT_RUN:
        return None
    return (
        f"its runs are too short to pay for entering compiled code ({per_run * 1e6:.1f} us "
        f"each in Python, {runs} runs)"
    )


def iterable_refusal(spec: LoopSpec, iterable: Any) -> str | None:
    """Why a run of the loop over ``iterable`` cannot continue compiled mid-run, or ``None``."""
    kind = spec.kind
    if kind == "range" and type(iterable) is not range:
        return f"loops over range, which is a {type(iterable).__name__} here"
    array = loaded() and isinstance(iterable, np.ndarray)  # no array before NumPy's import
    if kind == "iter" and not (array or carries((iterable,))):
        return (
            f"iterates over a {type(iterable).__name__} at line {spec.lineno} (only "
            "range, while, arrays, lists and buffers can continue mid-run)"
        )
    return None
