"""Trials and promotion of one function's hot signatures.

Why this design: once a signature is hot, each exact key (argument types and Numba's
fingerprints) is compiled, run once in a forked child, trialled on real calls against the
original (:mod:`autoaccel.policy.trial`) and promoted or rejected once. A decision a
previous run saved for the very same variant applies without a trial
(:mod:`autoaccel.runtime.saved`). A key that failed is never tried again. As in Numba's
dispatcher, one lock orders compilation, and a compile in progress makes other calls run the
original rather than wait. The trampoline keeps the tables its prologue reads; this class
fills them through the small :class:`Owner` interface.
"""

from __future__ import annotations

import functools
import logging
import sys
import threading
import time
from typing import Any, Protocol

from autoaccel.backends import background, budget, cpu
from autoaccel.backends.isolation import first_run_failure
from autoaccel.backends.recursion import too_deep
from autoaccel.backends.screening import globals_refusal
from autoaccel.backends.signatures import accepting, describe, describe_arguments, numba_signature
from autoaccel.boundary.convert import carries, convert, release
from autoaccel.boundary.kinds import exact_classes
from autoaccel.config.signatures import parse_signature, python_types
from autoaccel.errors import RecursionBudget, Rejection
from autoaccel.policy import targets
from autoaccel.policy.compare import Adapter, copy_arguments
from autoaccel.policy.cost import record_compile
from autoaccel.policy.trial import PromotionRecord, Trial
from autoaccel.runtime import methods
from autoaccel.runtime.admission import Admission
from autoaccel.runtime.admission import Owner as AdmissionOwner
from autoaccel.runtime.keys import ExactKey, Failure, TypeKey, describe_types
from autoaccel.runtime.registry import lookup
from autoaccel.runtime.saved import SavedDecisions
from autoaccel.runtime.table import code_size, variant_table
from autoaccel.runtime.variant import (
    MISS,
    ConvertingVariant,
    Variant,
    time_as_promoted,
)

logger = logging.getLogger("autoaccel")

# Whether this thread is in a trial call (``active``). A call made inside one, by the
# original's helpers or its recursion, runs as the original: no trial of its own and no
# compile, which would run inside the caller's timed original half and inflate it (a
# helper's trial call runs the helper twice and compares; a compile takes seconds). Nested
# trials also stacked frames on every level of a recursion.
_IN_TRIAL = threading.local()


def _inside_trial(promoter: Promoter) -> bool:
    """Whether this thread is in a trial call (:data:`_IN_TRIAL`); counts the call then in
    ``promoter.calls_in_trials`` (the report says why such a function stayed Python)."""
    if getattr(_IN_TRIAL, "active", False):
        promoter.calls_in_trials += 1
        return True
    return False


DEMOTED = (
    "recursed past the depth compiled code may reach before CPython's recursion limit; runs "
    "as Python from then on, so that the limit applies as it would [30]"
)
_ISOLATION_TIMEOUT = 60.0  # seconds a variant's isolated first run may take

Pending = Trial | targets.Selection


class Owner(AdmissionOwner, Protocol):
    """What the promoter reads and changes of its function (a trampoline is one), besides
    what admission reads."""

    name: str
    qualname: str
    module: str
    family: str
    armed: bool
    _exact: dict[ExactKey, Variant]

    def clear_fast_path(self) -> None:
        """Stop dispatching by argument types alone (a new signature is being compiled)."""

    def refresh_fast_path(self) -> None:
        """Rebuild the dispatch by argument types after the variants changed."""

    def failed(self, key: Any, types_: TypeKey, failure: Failure) -> None:
        """Record that ``key`` is never to be tried again."""

    def demote(self) -> None:
        """Drop every variant and stay plain Python (a recursion went past its budget)."""


class Promoter:
    """The trials and promotions of one function.

    Attributes:
        failures: keys (exact keys, or argument types refused before compiling) never to be
            tried again, with why.
        trials: exact keys compiled and in their trial.
        promotions: what was promoted, for the report.
        signatures: promoted exact key -> its Numba signature, as text.
        eager: declared signature texts not compiled yet (``signatures`` in the config).
        compile_seconds: wall time spent compiling (or loading) its variants, rejected ones
            included, and their isolated first runs (seconds).
        trial_seconds: wall time of its trial calls, the original's run included (seconds).
        calls_in_trials: its hot calls made inside another trial call, run as the original.
        admission: whether a hot signature goes on to a compile (screening, saved
            rejections kept by source, the cost of its calls).
    """

    def __init__(self, owner: Owner) -> None:
        self.owner = owner
        self.family: str = owner.family  # whose max_variants its variants count against
        self.saved = SavedDecisions(owner)
        self.failures: dict[Any, Failure] = {}
        self.trials: dict[ExactKey, Pending] = {}
        self.promotions: list[PromotionRecord] = []
        self.signatures: dict[ExactKey, str] = {}
        # Keys whose calls carry lists or buffers: their converted arguments' exact classes
        # (or None) and Numba signature, for the variant's direct calls.
        self.converting: dict[ExactKey, tuple[tuple | None, tuple]] = {}
        self.eager: tuple[str, ...] = ()
        self.declared: list[tuple] = []  # declared signatures' Numba argument types
        self.queued: set[ExactKey] = set()  # keys ever handed to the background compiler
        self.ready: set[TypeKey] = set()  # their Python argument types
        self.invalidations = 0
        self.compile_seconds = 0.0
        self.trial_seconds = 0.0
        self.calls_in_trials = 0
        self._sources: dict[ExactKey, Any] = {}  # where a rejection is kept by source
        self._lock = threading.Lock()
        self.admission = Admission(owner, self.saved, self.fail)

    def try_promotion(self, key: ExactKey, args: tuple) -> Any:
        """Serve a hot call of ``key``: its trial, or a variant a saved decision promoted.

        A call while this thread is in a trial call of any function runs as the original
        (:data:`_IN_TRIAL`).
        """
        if key in self.failures or _inside_trial(self):
            return MISS
        trial = self.trials.get(key) or self._start_trial(key, args)
        if trial is None:
            variant = self.owner._exact.get(key)  # promoted from a saved decision
            return MISS if variant is None else variant.run(args)
        started = time.perf_counter()
        _IN_TRIAL.active = True
        try:
            return trial.call(self.owner.original, args)
        except RecursionBudget:
            self.owner.demote()
            return MISS
        finally:
            _IN_TRIAL.active = False
            self.trial_seconds += time.perf_counter() - started
            self._conclude(key, trial)

    def _start_trial(self, key: ExactKey, args: tuple) -> Pending | None:
        if self.owner.config.background_compile and not background.on_worker():
            self._compile_in_background(key, args)
            return None
        if too_deep(sys.getrecursionlimit() // 2):
            return None  # Numba's compiler needs frames of its own: a shallower call compiles
        if not background.COMPILE_LOCK.acquire(blocking=background.on_worker()):
            return None
        try:
            if key in self.trials or key in self.failures or key in self.owner._exact:
                return self.trials.get(key)
            self._sources[key] = self.saved.by_source(key.types, args)
            return _timed(self, self._compile_trial, key, args)
        except Rejection as exc:
            self.saved.keep_rejection(self._sources.pop(key, None), str(exc))
            self.fail(key, key.types, str(exc), describe_arguments(args))
            return None
        except Exception as exc:  # a bug of ours, or Numba's: stay plain, say why
            logger.debug("%s: internal error while compiling", self.owner.name, exc_info=True)
            self.fail(key, key.types, f"internal error: {exc!r}", describe_arguments(args))
            return None
        finally:
            background.COMPILE_LOCK.release()

    def _compile_trial(self, key: ExactKey, args: tuple) -> Pending | None:
        """Compile ``key``'s variant and start its trial (``None``: a saved decision applied).

        Raises:
            Rejection: the arguments, the compile, the inspection or the isolated first
                run rule the variant out.
        """
        owner = self.owner
        resolved = methods.admitted(owner.code, args, owner.config.strings)
        owner.clear_fast_path()  # the entry dispatcher is about to accept a new signature
        with cpu.compiling():
            compiled = cpu.build(owner, owner.config.jit, lookup)
            compiled.fields = resolved.fields()  # per class: methods reach other fields
            methods.bind(compiled, resolved.methods, owner.config.jit, owner)
            signature, classes = _signature(args, compiled.fields, self.declared)
            if carries(args):
                self.converting[key] = (classes, signature)
            saved_as, store = self.saved.where(key.types, describe(signature), compiled)
            # Long compiles are where users wait: say when one starts (-v).
            logger.info("%s%s: compiling", owner.name, describe(signature))
            with budget.limit(owner.config.compile_budget):
                seconds, from_cache = cpu.compile_signature(compiled, signature, store)
        build = targets.Build(owner, compiled, signature, args, lookup, store)
        decision = self.saved.decision(saved_as)
        if decision is not None and saved_as is not None:
            applied = self.saved.apply(build, saved_as, decision, (seconds, from_cache))
            if applied is not None:  # promoted without a trial
                self._sources.pop(key, None)
                compiled, record, reason = applied
                self.promote(key, compiled, decision.raw_type, decision.adapter, record, reason)
                return None
        if owner.config.isolate_first_run:
            copies = convert(copy_arguments(args, compiled.fields), compiled.fields)
            crash = first_run_failure(compiled.entry, copies, _ISOLATION_TIMEOUT)
            if crash:
                self.saved.save(saved_as, False, crash)
                raise Rejection(crash)
        base = Trial(compiled, describe(signature), seconds, from_cache, saved_as)
        base.dispatch_seconds = owner.dispatch_seconds(len(args))
        time_as_promoted(base, compiled, key in self.converting)
        base.direct = direct_call(self.converting.get(key), compiled)
        trial = self._selection(build, base)
        self.trials[key] = trial
        owner.refresh_fast_path()
        logger.info("%s: compiled %s in %.3f s", owner.name, trial.signature, seconds)
        return trial

    def _selection(self, build: targets.Build, base: Trial) -> Pending:
        """The trial among the listed targets; a signature none can serve is saved as such."""
        try:
            return targets.trial_for(build, base)
        except Rejection as exc:
            self.saved.save(base.saved_as, False, str(exc))
            raise

    def _compile_in_background(self, key: ExactKey, args: tuple) -> None:
        """Queue the compile; calls run the original until its trial (or variant) is ready."""
        job = (id(self), key)
        if not background.is_pending(job):
            # The caller may change its arrays meanwhile.
            copies = copy_arguments(args, methods.resolve(self.owner.code, args).fields())
            self.queued.add(key)
            background.submit(job, functools.partial(self._start_trial, key, copies))

    def _conclude(self, key: ExactKey, trial: Pending) -> None:
        verdict = trial.verdict(self.owner.config.validation_calls, self.owner.required_gain())
        if verdict is None:
            return
        with self._lock:
            if self.trials.pop(key, None) is None:
                return  # another thread concluded it
        promote, reason = verdict
        speedup = trial.speedup() if trial.variant_seconds else 0.0
        source = self._sources.pop(key, None)  # a slow trial is kept by source too
        if not promote:
            self.fail(key, key.types, reason, trial.signature)
            for saved_as in (trial.saved_as, source):
                self.saved.save(saved_as, False, reason, speedup=speedup)
            return
        record = trial.promotion()
        if self.promote(key, trial.compiled, trial.raw_type, trial.adapter, record, reason):
            self.saved.save(
                trial.saved_as,
                True,
                reason,
                speedup=speedup,
                compile_seconds=trial.compile_seconds,
                raw_type=trial.raw_type,
                adapter=trial.adapter,
                saved_seconds=record.saved_seconds,
                target=record.target,
                candidates=record.candidates,
            )

    def promote(
        self,
        key: ExactKey,
        compiled: Any,
        raw_type: type,
        adapter: Adapter | None,
        record: PromotionRecord,
        reason: str,
    ) -> bool:
        """Serve ``key`` with ``compiled`` from now on; ``False`` if its result type conflicts."""
        exact = self.owner._exact
        # One variant per compiled code (per target), pattern of argument types, and whether
        # its calls carry lists or buffers to convert; a compiled code's variants share its
        # result adapters.
        kind = ConvertingVariant if key in self.converting else Variant
        sibling = next((v for v in exact.values() if v.compiled is compiled), None)
        variant = next(
            (
                v
                for k, v in exact.items()
                if k.types == key.types and v.compiled is compiled and type(v) is kind
            ),
            None,
        ) or kind(compiled, sibling.adapters if sibling else None)
        if not variant.accepts(raw_type, adapter):
            reason = "its result type conflicts with another promoted signature"
            self.fail(key, key.types, reason, record.signature)
            return False
        if isinstance(variant, ConvertingVariant):
            variant.serve(key, direct_call(self.converting[key], compiled))
        exact[key] = variant
        self.signatures[key] = record.signature
        compiled.validated.add(record.signature)
        self.owner.refresh_fast_path()
        self.promotions.append(record)
        logger.info("%s%s: promoted, %s", self.owner.name, record.signature, reason)
        size = code_size(compiled.entry, record.signature)
        variant_table().admit(self, key, variant, record.signature, size, record.saved_seconds)
        return True

    def fail(self, key: Any, types_: TypeKey, reason: str, signature: str = "") -> None:
        """Record that ``key`` (argument types ``types_``) is never to be tried again."""
        failure = Failure(signature or describe_types(types_), reason)
        self.failures[key] = failure
        logger.info("%s%s: rejected, %s", self.owner.name, failure.signature, reason)
        self.owner.failed(key, types_, failure)

    def evict(self, key: ExactKey, reason: str) -> None:
        """Make ``key`` unreachable (the variant cache evicted it): its calls run the original.

        The signature stays compiled in the entry dispatcher but leaves ``validated``, so the
        fast path no longer reaches it (:func:`~autoaccel.runtime.table.fast_routes`), and the
        key is recorded as failed, so it is not tried again in this process. A function left
        with no variant is disarmed and its dispatchers are released.
        """
        owner = self.owner
        with self._lock:
            variant = owner._exact.pop(key, None)
            if variant is None:
                return
            if isinstance(variant, ConvertingVariant):
                variant.drop(key, self.converting[key][0])
            signature = self.signatures.pop(key)
            if signature not in self.signatures.values():
                variant.compiled.validated.discard(signature)
                self.promotions = [p for p in self.promotions if p.signature != signature]
        self.fail(key, key.types, reason, signature)
        if not owner._exact and not self.trials:
            owner.compiled = None  # nothing reaches its code any more: let Numba free it

    def invalidate(self, changed: str) -> bool:
        """A frozen global changed: forget every variant; ``False`` the second time.

        The caller recompiles once; after a second invalidation the function stays plain.
        """
        self.invalidations += 1
        reason = f"global {changed} changed after compiling"
        if self.invalidations > 1:
            return self.demote(reason + " again, so it is no longer compiled")
        variant_table().forget(self)
        self.signatures.clear()
        self.promotions.clear()
        logger.info("%s: %s; variants dropped", self.owner.name, reason)
        return True

    def demote(self, reason: str = DEMOTED) -> bool:
        """Forget every variant, trial and promotion for good, for ``reason``; ``False``. The
        owner calls it once a recursion went, or could go, past its depth budget (:data:`DEMOTED`)."""
        variant_table().forget(self)
        self.signatures.clear()
        self.promotions.clear()
        self.trials.clear()
        self.fail((), (), reason)
        return False

    def compile_signatures(self) -> None:
        """Compile the signatures the configuration lists for this function, once.

        Each goes through the guards and Numba's typing as a hot signature would, and
        through the disk cache; one that fails is rejected with its reason, and calls of
        its argument types then run the original. Trials still happen on real calls.
        """
        signatures, self.eager = self.eager, ()
        if not signatures or not self.owner.armed:
            return
        with background.COMPILE_LOCK:
            for text in signatures:
                _timed(self, _compile_declared, self, text)

    def pending(self, types_: TypeKey) -> bool:
        """Whether a variant of argument types ``types_`` is still in its trial."""
        return any(key.types == types_ for key in list(self.trials))

    def generic_speedup(self, types_: TypeKey) -> float:
        """The best measured speed-up of a promoted variant for ``types_``, else 1."""
        signatures = {s for k, s in self.signatures.items() if k.types == types_}
        return max((p.speedup for p in self.promotions if p.signature in signatures), default=1.0)


def _signature(args: tuple, fields: tuple, declared: Any) -> tuple[tuple, tuple | None]:
    """The Numba signature a compile for ``args`` takes (converted with ``fields``; the
    first of the ``declared`` signatures that accepts them, else their own) and the
    converted values' exact classes. The converted values are released at once
    (:func:`~autoaccel.boundary.convert.release`): only their types are needed here, and
    no view of the caller's buffers is to outlive its use."""
    natives = convert(args, fields)
    signature = numba_signature(natives)
    classes = exact_classes(natives)
    release(natives)
    return accepting(declared, signature) or signature, classes


def direct_call(conversion: tuple | None, compiled: Any) -> tuple[tuple, Any] | None:
    """``(classes, entry point)`` to call ``compiled``'s overload directly with arguments
    converted to ``classes``, for a key's ``conversion`` (its exact classes, or ``None``, and
    Numba signature); ``None`` when the classes are not exact or the target has no overloads.
    Called with arguments of other types the entry point would misread them, which is why
    the classes are checked before each such call."""
    if conversion is None or conversion[0] is None:
        return None
    overloads = getattr(compiled.entry, "overloads", None)
    signature = tuple(conversion[1])
    if not isinstance(overloads, dict) or signature not in overloads:
        return None
    return conversion[0], overloads[signature].entry_point


def _timed(promoter: Promoter, compile_: Any, *args: Any) -> Any:
    """``compile_(*args)``, its wall time added to ``promoter``'s ``compile_seconds`` and
    to the process's record of compile times (:func:`~autoaccel.policy.cost.record_compile`)."""
    started = time.perf_counter()
    try:
        return compile_(*args)
    finally:
        seconds = time.perf_counter() - started
        promoter.compile_seconds += seconds
        record_compile(seconds)


def _compile_declared(promoter: Promoter, text: str) -> None:
    """Compile one declared signature (``signatures`` in the configuration) for ``promoter``'s
    function; a failure rejects its argument types with the reason."""
    owner = promoter.owner
    signature = parse_signature(text)  # checked when the config was read
    types_ = python_types(signature)
    try:
        reason = globals_refusal(owner, lookup)
        if reason:
            raise Rejection(reason)
        with cpu.compiling():
            compiled = cpu.build(owner, owner.config.jit, lookup)
            _, store = promoter.saved.where(types_, describe(signature), compiled)
            seconds, _ = cpu.compile_signature(compiled, signature, store)
    except Rejection as exc:
        promoter.fail(types_, types_, f"declared signature {text}: {exc}", text)
        return
    except Exception as exc:  # a bug of ours, or Numba's: stay plain, say why
        logger.debug("%s: internal error while compiling", owner.name, exc_info=True)
        promoter.fail(types_, types_, f"internal error: {exc!r}", text)
        return
    promoter.declared.append(signature)
    promoter.ready.add(types_)
    owner.refresh_fast_path()
    logger.info("%s: compiled declared signature %s in %.3f s", owner.name, text, seconds)
