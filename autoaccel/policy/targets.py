"""Target choice: one trial per listed target on the same real calls; the fastest passing wins.

Why this design: whether a thread pool or a GPU pays off depends on the sizes a program
really uses and on the transfers, so it is measured, not guessed. For each hot signature
every target listed in ``targets`` gets a candidate: ``cpu`` is the variant the compiler
built and inspected (its guards and exact comparison unchanged); ``parallel`` is the same
code under ``njit(parallel=True)``, with ``range`` turned into ``prange`` when its loop is
elementwise (:mod:`autoaccel.analysis.map_shape`); ``cuda`` is a kernel (:mod:`autoaccel.backends.cuda`).
A target that cannot be built (no GPU, numba-cuda missing, not elementwise, a compile
error) is skipped with its reason. A :class:`Selection` runs every candidate on copies of
the arguments of the same trial calls, then the original once; each candidate is timed
including its transfers and validated (``parallel`` and ``cuda`` within ``rtol``/``atol``).
The verdict waits for all of them and promotes the fastest that passed and reached
``min_gain``. The decision, with the winning target and every candidate's gain, is saved
as a ``cpu`` one is (:mod:`autoaccel.cache.decisions`); a later run rebuilds the winner's
variant (:func:`build_target`; a ``parallel`` one loads from the cache) without a trial.
With the default ``targets = ["cpu"]`` none of this runs: the plain
:class:`~autoaccel.policy.trial.Trial` of before.
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
from collections.abc import Callable
from typing import Any

from autoaccel.analysis.map_shape import LoopMap, map_shape
from autoaccel.backends import cpu, interrupts
from autoaccel.backends import cuda as cuda_backend
from autoaccel.backends.cpu import Compiled
from autoaccel.boundary.convert import convert
from autoaccel.cache.variants import VariantStore
from autoaccel.config import Config
from autoaccel.errors import RecursionBudget, Rejection
from autoaccel.policy.compare import copy_arguments
from autoaccel.policy.trial import PromotionRecord, Trial

_PROMOTED = "promoted"


def policy(config: Config) -> tuple:
    """What a saved decision must have been made under, beyond ``min_gain`` and calls.

    Empty for the default ``targets``; otherwise the targets, the tolerance and, when
    ``cuda`` is listed, the GPU it was measured on or why there was none
    (:func:`autoaccel.backends.cuda.identity`): a decision that a GPU won does not apply where
    there is no GPU, or another one.
    """
    if config.targets == ("cpu",):
        return ()
    cuda = cuda_backend.identity() if "cuda" in config.targets else None
    return (config.targets, config.rtol, config.atol, cuda)


@dataclasses.dataclass(frozen=True)
class Build:
    """What every target's variant of one hot signature is built from.

    Attributes:
        trampoline: the function's trampoline (code, globals, config).
        base: the ``cpu`` variant, compiled and inspected for ``signature``.
        signature: the Numba types of ``args``.
        args: the call's arguments.
        lookup: ``lookup(function) -> Trampoline | None`` for helper functions.
        store: the ``cpu`` variant's entry in the cache, or ``None`` (cache off); the code
            of other targets is kept beside it (:meth:`VariantStore.derived`).
    """

    trampoline: Any
    base: Compiled
    signature: tuple
    args: tuple
    lookup: Any
    store: VariantStore | None = None


def trial_for(build: Build, base: Trial) -> Trial | Selection:
    """The trial of a freshly compiled signature: ``base`` alone, or a :class:`Selection`.

    Args:
        build: what the candidates are built from.
        base: the trial of the ``cpu`` variant, ``build.base``.

    Raises:
        Rejection: no listed target could be built (the reasons of each).
    """
    config = build.trampoline.config
    if config.targets == ("cpu",):
        return base
    tolerance = (config.rtol, config.atol)
    trials: dict[str, Trial] = {}
    skipped: dict[str, str] = {}
    for target in config.targets:
        if target == "cpu":
            trials[target] = base
            continue
        try:
            compiled, seconds, from_cache = build_target(build, target)
        except Rejection as exc:
            skipped[target] = str(exc)
            continue
        trials[target] = Trial(
            compiled,
            base.signature,
            seconds,
            from_cache,
            dispatch_seconds=base.dispatch_seconds,
            target=target,
            tolerance=tolerance,
        )
    if not trials:
        reasons = "; ".join(f"{t} skipped: {r}" for t, r in skipped.items())
        raise Rejection(f"no listed target could be built ({reasons})")
    return Selection(trials, skipped, base.saved_as)


def build_target(build: Build, target: str) -> tuple[Any, float, bool]:
    """The variant of ``build``'s signature for ``target`` (``"parallel"`` or ``"cuda"``).

    Used for each candidate of a trial, and for a saved decision that such a target won.

    Returns:
        ``(compiled, seconds, from_cache)``: the variant, the time to compile or load it
        (seconds), and whether its code came from the cache (CUDA kernels never do).

    Raises:
        Rejection: the target cannot serve it (no GPU, not elementwise, a compile error).
    """
    start = time.perf_counter()
    with interrupts.deferred():  # a Ctrl-C is delivered when the compile is over
        if target == "parallel":
            compiled, from_cache = _parallel(build)
        else:
            compiled = cuda_backend.build(
                build.trampoline, build.base, build.signature, build.args, build.lookup
            )
            from_cache = False
    return compiled, time.perf_counter() - start, from_cache


def _parallel(build: Build) -> tuple[Any, bool]:
    """The ``parallel`` variant, and whether its code came from the cache."""
    import numba

    trampoline = build.trampoline
    renames: dict[str, tuple[str, Any]] = {}
    shape = map_shape(trampoline.code)
    if isinstance(shape, LoopMap) and shape.prange_safe:
        # Only this loop's iterations are known to be independent.
        renames["range"] = ("_autoaccel_prange", numba.prange)
    options = dataclasses.replace(trampoline.config.jit, parallel=True)
    store = build.store.derived("parallel") if build.store is not None else None
    return cpu.compile_derived(build.base, options, build.signature, renames, store)


class Selection:
    """The trials of one signature's candidate targets, run on the same real calls.

    It stands where a single :class:`~autoaccel.policy.trial.Trial` would (``call``,
    ``verdict``, and, once decided, the winner's ``compiled``, ``raw_type``, ``adapter``).

    Args:
        trials: target -> its trial, in the order of ``targets``.
        skipped: target -> why it has no candidate.
        saved_as: where the decision is saved (the ``cpu`` variant's key: the decision
            records which target won, and a later run rebuilds that target's variant).
    """

    def __init__(self, trials: dict[str, Trial], skipped: dict[str, str], saved_as: Any) -> None:
        self.trials = trials
        self.skipped = skipped
        self.saved_as = saved_as
        self.winner: str | None = None
        self.outcomes: dict[str, str] = {}
        self.signature = next(iter(trials.values())).signature

    @property
    def _chosen(self) -> Trial:
        if self.winner is not None:
            return self.trials[self.winner]
        timed = [t for t in self.trials.values() if t.variant_seconds]
        return max(timed, key=Trial.speedup) if timed else next(iter(self.trials.values()))

    compiled = property(lambda self: self._chosen.compiled)
    raw_type = property(lambda self: self._chosen.raw_type)
    adapter = property(lambda self: self._chosen.adapter)
    variant_seconds = property(lambda self: self._chosen.variant_seconds)
    compile_seconds = property(lambda self: self._chosen.compile_seconds)
    from_cache = property(lambda self: self._chosen.from_cache)

    def speedup(self) -> float:
        """The winner's (or, before a winner, the best timed candidate's) speed-up."""
        return self._chosen.speedup()

    def call(self, original: Callable[..., Any], args: tuple) -> Any:
        """Run every undecided candidate, then the original; return what the original gives."""
        active = [t for t in self.trials.values() if t.failure is None]
        if active:
            # Rotate who runs first from call to call: the first run after the copies
            # meets warmer or colder caches, which should not always favour one target.
            turn = active[0].calls % len(active)
            active = active[turn:] + active[:turn]
        for trial in active:
            if trial.calls == 0 and trial.target != "cpu":
                _warm_up(trial, args)
        runs = [(trial, trial.run_variant(args)) for trial in active]
        for _, run in runs:
            if isinstance(run.error, RecursionBudget):
                raise run.error  # as Trial.call does: the caller runs the original
        start = time.perf_counter()
        try:
            result = original(*args)
        except BaseException as exc:
            for trial, run in runs:
                trial.original_raised(run, exc)
            raise
        seconds = time.perf_counter() - start
        for trial, run in runs:
            trial.compare(run, result, args, seconds)
        return result

    def verdict(self, needed: int, min_gain: float) -> tuple[bool, str] | None:
        """``(promote, reason)`` once every candidate is decided, else ``None``."""
        verdicts = {t: trial.verdict(needed, min_gain) for t, trial in self.trials.items()}
        if any(v is None for v in verdicts.values()):
            return None
        decided = {t: v for t, v in verdicts.items() if v is not None}
        self.outcomes = {t: _PROMOTED if ok else reason for t, (ok, reason) in decided.items()}
        passing = [t for t, (ok, _) in decided.items() if ok]
        summary = self._summary()
        if not passing:
            return False, f"no target passed ({summary})"
        self.winner = max(passing, key=lambda t: self.trials[t].speedup())
        self.outcomes[self.winner] = _PROMOTED
        for target in passing:
            if target != self.winner:
                self.outcomes[target] = "slower than " + self.winner
        speedup = self.trials[self.winner].speedup()
        return True, f"target {self.winner}, measured speed-up {speedup:.2f}x ({summary})"

    def _summary(self) -> str:
        parts = []
        for target, trial in self.trials.items():
            gain = f"{trial.speedup():.2f}x" if trial.variant_seconds else "not timed"
            parts.append(f"{target} {gain}" + (f": {trial.failure}" if trial.failure else ""))
        parts += [f"{target} skipped: {reason}" for target, reason in self.skipped.items()]
        return "; ".join(parts)

    def candidates(self) -> tuple[tuple[str, float, str], ...]:
        """``(target, speed-up, outcome)`` per listed target, for the report."""
        rows = [
            (t, trial.speedup() if trial.variant_seconds else 0.0, self.outcomes.get(t, ""))
            for t, trial in self.trials.items()
        ]
        rows += [(t, 0.0, f"skipped: {reason}") for t, reason in self.skipped.items()]
        return tuple(rows)

    def promotion(self) -> PromotionRecord:
        """The report record of the winner's promotion."""
        chosen = self._chosen
        return PromotionRecord(
            self.signature,
            chosen.speedup(),
            chosen.compile_seconds,
            chosen.from_cache,
            chosen.target,
            self.candidates(),
            chosen.saved_seconds() if chosen.variant_seconds else 0.0,
        )


def _warm_up(trial: Trial, args: tuple) -> None:
    """One untimed run before a candidate's first timed one.

    A parallel variant starts its thread pool, a CUDA variant compiles its kernel and
    creates its context on the first call: one-off costs that the timed calls (and so the
    decision) leave out, as they leave out the CPU variant's compile.
    """
    # Outcome ignored: the timed run that follows records the same one.
    with contextlib.suppress(Exception):
        compiled = trial.compiled
        fields = getattr(compiled, "fields", ())
        compiled.entry(*convert(copy_arguments(args, fields), fields))
