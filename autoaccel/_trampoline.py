"""The trampoline: per-function call counting, dispatch to promoted variants, deoptimization.

Why this design: one :class:`Trampoline` is embedded as a constant in each rewritten function's
code (see :mod:`autoaccel._rewriter`). Its ``armed`` flag is the only thing a disarmed
function pays for. While armed, ``enter`` receives the bound arguments and returns either the
result of a variant or :data:`MISS`, which makes the prologue fall through to the original
body, so the original runs in its own frame with its own traceback.

Calls are counted per tuple of argument types (cheap, no Numba import). Once one such
signature reaches ``min_calls`` it is *hot*: its calls are keyed exactly (types plus Numba's
type fingerprints: dtype, ndim, layout, writability) and each exact key is compiled, trialled
and promoted or rejected once (:mod:`autoaccel._promotion`). Promoted calls are found by the
tuple of argument types alone and handed to a compile-disabled Numba dispatcher, whose C
code matches the rest against the validated signatures. A key that failed is never tried
again; a function that has no promoted variant when one fails is disarmed for the rest of
the process. As in Numba's dispatcher, one lock orders compilation, and a compile in
progress makes other calls run the original rather than wait.
"""

from __future__ import annotations

import functools
import itertools
import logging
import threading
import timeit
import types
from collections.abc import Callable
from typing import Any

import numpy as np

from autoaccel import _background, _compiler, _targets, _value_spec, _variant_table
from autoaccel._cache import open_cache
from autoaccel._cache_key import variant_digest
from autoaccel._compare import Adapter, copy_value
from autoaccel._config import Config
from autoaccel._decisions import Decision, DecisionStore, store_name
from autoaccel._isolation import first_run_failure
from autoaccel._promotion import MISS, NO_MATCH, STALE, Promotion, Signal, Trial, Variant
from autoaccel._variant_cache import VariantStore

logger = logging.getLogger("autoaccel")


# One compilation at a time, process-wide; busy means "run the original this time".
_COMPILE_LOCK = threading.RLock()
_REGISTRY: list[Trampoline] = []
_ISOLATION_TIMEOUT = 60.0  # seconds a variant's isolated first run may take
_BY_CODE: dict[int, Trampoline] = {}
_STORES: dict[tuple, DecisionStore] = {}


class Trampoline:
    """Per-function acceleration state, shared by every function object made from one code.

    Args:
        module: the defining module's ``__name__``.
        code: the function's original code object (before the prologue is added).
        namespace: the module's globals dict.
        config: the configuration in force.
        refusal: the static guard's reason never to compile, or ``None``.
        qualname: the function's qualified name; ``None``: the code's ``co_qualname``
            (Python 3.10 code has none, so callers there pass it).
    """

    def __init__(
        self,
        module: str,
        code: types.CodeType,
        namespace: dict,
        config: Config,
        refusal: str | None,
        qualname: str | None = None,
    ) -> None:
        self.qualname: str = (
            qualname if qualname is not None else getattr(code, "co_qualname", code.co_name)
        )
        self.name = f"{module}.{self.qualname}"
        self.family = self.name  # whose max_variants its variants count against
        self.module = module
        self.code = code
        self.globals = namespace
        self.static_refusal = refusal
        self._type_key = _type_key(code.co_argcount)
        self._configure(config, refusal)
        self.reported = True  # listed by stats() and the report (@optimize(profile=False): not)
        self.compiled: _compiler.Compiled | None = None
        self.calls = itertools.count()
        self.failures: dict[Any, tuple[str, str]] = {}
        self._lock = threading.Lock()
        self._counts: dict[tuple, int] = {}
        self._hot: set[tuple] = set()
        # Promoted variants by exact key (types + fingerprints), and the fast path by argument
        # types alone, for patterns no unvalidated signature can be reached by.
        self._exact: dict[tuple, Variant] = {}
        self._signatures: dict[tuple, str] = {}  # promoted exact key -> Numba signature
        self._fast: dict[tuple, Variant] = {}
        self.promotions: list[Promotion] = []
        self._trials: dict[tuple, Trial | _targets.Selection] = {}
        self._invalidations = 0
        # Value specialization (autoaccel._value_spec): values counted per signature until
        # it is hot, then a router per signature whose calls are specialized on values.
        self._values: dict[tuple, _value_spec.ValueStats] = {}
        self._routers: dict[tuple, _value_spec.Router] = {}
        self.specialization_refusal: str | None = None
        self._declared: list[tuple] = []  # declared signatures' Numba argument types
        self._ready: set[tuple] = set()  # their Python argument types

    def _configure(self, config: Config, refusal: str | None) -> None:
        """Take the settings of ``config`` for this function; ``refusal``: never compile."""
        override = config.override(self.name)
        self.config = config
        self.refusal = refusal if override.enabled else "disabled in the configuration"
        self.armed = self.refusal is None
        self.min_calls = config.min_calls if override.min_calls is None else override.min_calls
        self.min_gain = config.min_gain if override.min_gain is None else override.min_gain
        self._specialize = override.specialize  # True, False, or None: as ``values`` says
        # Signatures the configuration lists: compiled once the module is imported (or at
        # the first call), after which calls of their argument types are hot at once.
        self.eager = override.signatures if self.armed else ()
        if override.min_size is not None:
            self._min_size = override.min_size
            self._small = _small_array_type(override.min_size)
            self.enter = self._enter_sized  # type: ignore[method-assign,assignment]
        else:
            vars(self).pop("enter", None)  # a reconfiguration without min_size: plain enter
        # The original body without the prologue, called during trials. Refused functions
        # (closures among them) never run trials, and could not be rebuilt without cells.
        self._original = (
            None if self.refusal else types.FunctionType(self.code, self.globals, self.code.co_name)
        )

    def reconfigure(self, config: Config, refusal: str | None = None) -> bool:
        """Use ``config`` from now on, and ``refusal`` (if given) over the static one.

        ``@optimize`` applies its keywords this way to a function the hook rewrote, right
        after its ``def``. Only a trampoline that has counted no call yet changes: counts and
        trials made under the old settings must not mix with the new ones.

        Returns:
            Whether the new settings were taken.
        """
        if self._counts or self.compiled is not None:
            return False
        self._configure(config, refusal or self.static_refusal)
        return True

    def __repr__(self) -> str:
        # Stable across runs: cache keys hash the code objects that hold trampolines.
        return f"<autoaccel trampoline {self.name}>"

    def enter(self, *args: Any, _types: tuple | None = None) -> Any:
        """Called by the prologue with the bound arguments; a result, or :data:`MISS`.

        ``_types`` replaces the arguments' types as the dispatch key (see ``min_size``).
        """
        next(self.calls)
        types_ = self._type_key(args) if _types is None else _types
        variant = self._fast.get(types_)
        if variant is None:
            return self._enter_slow(types_, args)
        result = variant.run(args)
        if result.__class__ is Signal:
            return self._enter_slow(types_, args) if result is NO_MATCH else self._signalled(result)
        return result

    def _enter_sized(self, *args: Any) -> Any:
        """:meth:`enter` when ``min_size`` is set: small arrays are a type of their own."""
        small, size = self._small, self._min_size
        types_ = tuple(
            small if a.__class__ is np.ndarray and a.size < size else a.__class__ for a in args
        )
        return Trampoline.enter(self, *args, _types=types_)

    def dispatch_seconds(self, arity: int) -> float:
        """What reaching this function's variant adds to a call of ``arity`` arguments (s)."""
        return dispatch_seconds(arity)

    def _signalled(self, signal: Signal) -> Signal:
        if signal is STALE:
            self._invalidate()
        return MISS

    def _enter_slow(self, types_: tuple, args: tuple) -> Any:
        """Counting, exact-key dispatch (tuples, demoted patterns), and promotion."""
        if self._routers:
            result = self._route(types_, args)
            if result is not NO_MATCH:
                return result
        if types_ not in self._hot:
            return self._count(types_, args)
        key = types_ + _compiler.fingerprint(args)
        variant = self._exact.get(key)
        if variant is None:
            return self._try_promotion(key, args)
        fast = self._fast.get(types_)
        if fast is not None and fast.compiled is variant.compiled:
            return MISS  # the fast path matched but the code itself raised TypeError
        return self._run(variant, args)

    def _run(self, variant: Variant, args: tuple) -> Any:
        result = variant.run(args)
        return result if result.__class__ is not Signal else self._signalled(result)

    def _count(self, types_: tuple, args: tuple) -> Any:
        if self.eager:  # a module run as __main__ calls before its import has finished
            self.compile_signatures()
        with self._lock:
            count = self._counts[types_] = self._counts.get(types_, 0) + 1
        if (
            self._specialize is not False
            and count <= self.min_calls
            and types_ not in self._routers
        ):
            self._observe(types_, args, count)
        if types_ in self.failures:
            return MISS
        if count < self.min_calls and not (
            count == 1 and (types_ in self._ready or self._promoted_before(types_))
        ):
            return MISS
        reason = _compiler.argument_refusal(args) or _compiler.globals_refusal(self, lookup)
        if reason:  # decided without importing Numba
            self._fail(types_, types_, reason)
            return MISS
        if self.config.background_compile and not _compiler.numba_loaded():
            # Importing Numba on this thread would wait for the import lock: let the
            # worker import it, and count on until it has.
            _background.submit("import numba", _compiler.load_numba)
            return MISS
        self._hot.add(types_)
        return self._try_promotion(types_ + _compiler.fingerprint(args), args)

    def _try_promotion(self, key: tuple, args: tuple) -> Any:
        if key in self.failures:
            return MISS
        trial = self._trials.get(key) or self._start_trial(key, args)
        if trial is None:
            variant = self._exact.get(key)  # promoted from a saved decision
            return MISS if variant is None else self._run(variant, args)
        assert self._original is not None, "refused functions have no prologue"
        try:
            return trial.call(self._original, args)
        finally:
            self._conclude(key, trial)

    def _start_trial(self, key: tuple, args: tuple) -> Trial | _targets.Selection | None:
        if self.config.background_compile and not _background.on_worker():
            self._compile_in_background(key, args)
            return None
        if not _COMPILE_LOCK.acquire(blocking=_background.on_worker()):
            return None
        try:
            if key in self._trials or key in self.failures or key in self._exact:
                return self._trials.get(key)
            reason = _compiler.argument_refusal(args)
            if reason:
                raise _compiler.Rejection(reason)
            self._fast = {}  # the entry dispatcher is about to accept a new signature
            with _compiler.compiling():
                compiled = _compiler.build(self, self.config.jit, lookup)
                signature = _compiler.numba_signature(args)
                signature = _compiler.accepting(self._declared, signature) or signature
                saved_as, store = self._saved_as(key[: len(args)], signature, compiled)
                seconds, from_cache = _compiler.compile_signature(compiled, signature, store)
            build = _targets.Build(self, compiled, signature, args, lookup, store)
            decision = self._saved_decision(saved_as)
            loaded = (seconds, from_cache)
            if decision is not None and self._apply(key, build, saved_as, decision, loaded):
                return None
            if self.config.isolate_first_run:
                copies = tuple(map(copy_value, args))
                crash = first_run_failure(compiled.entry, copies, _ISOLATION_TIMEOUT)
                if crash:
                    self._save_decision(saved_as, False, crash)
                    raise _compiler.Rejection(crash)
            description = _compiler.describe(signature)
            dispatch = self.dispatch_seconds(len(args))
            base = Trial(compiled, description, seconds, from_cache, saved_as, dispatch)
            trial = self._selection(build, base)
            self._trials[key] = trial
            self._refresh_fast_path()
            logger.info("%s: compiled %s in %.3f s", self.name, trial.signature, seconds)
            return trial
        except _compiler.Rejection as exc:
            self._fail(key, key[: len(args)], str(exc))
            return None
        except Exception as exc:  # a bug of ours, or Numba's: stay plain, say why
            logger.debug("%s: internal error while compiling", self.name, exc_info=True)
            self._fail(key, key[: len(args)], f"internal error: {exc!r}")
            return None
        finally:
            _COMPILE_LOCK.release()

    def _selection(self, build: _targets.Build, base: Trial) -> Trial | _targets.Selection:
        """The trial among the listed targets; a signature none can serve is saved as such."""
        try:
            return _targets.trial_for(build, base)
        except _compiler.Rejection as exc:
            self._save_decision(base.saved_as, False, str(exc))
            raise

    def compile_signatures(self) -> None:
        """Compile the signatures the configuration lists for this function, once.

        Each goes through the guards and Numba's typing as a hot signature would, and
        through the disk cache; one that fails is rejected with its reason, and calls of
        its argument types then run the original. Trials still happen on real calls.
        """
        signatures, self.eager = self.eager, ()
        if not signatures or not self.armed:
            return
        with _COMPILE_LOCK:
            for text in signatures:
                self._compile_declared(text)

    def _compile_declared(self, text: str) -> None:
        signature = _compiler.parse_signature(text)  # checked when the config was read
        types_ = _compiler.python_types(signature)
        try:
            reason = _compiler.globals_refusal(self, lookup)
            if reason:
                raise _compiler.Rejection(reason)
            with _compiler.compiling():
                compiled = _compiler.build(self, self.config.jit, lookup)
                _, store = self._saved_as(types_, signature, compiled)
                seconds, _ = _compiler.compile_signature(compiled, signature, store)
        except _compiler.Rejection as exc:
            self._fail(types_, types_, f"declared signature {text}: {exc}", text)
            return
        except Exception as exc:  # a bug of ours, or Numba's: stay plain, say why
            logger.debug("%s: internal error while compiling", self.name, exc_info=True)
            self._fail(types_, types_, f"internal error: {exc!r}", text)
            return
        self._declared.append(signature)
        self._ready.add(types_)
        self._refresh_fast_path()
        logger.info("%s: compiled declared signature %s in %.3f s", self.name, text, seconds)

    def _compile_in_background(self, key: tuple, args: tuple) -> None:
        """Queue the compile; calls run the original until its trial (or variant) is ready."""
        job = (id(self), key)
        if not _background.is_pending(job):
            copies = tuple(map(copy_value, args))  # the caller may change its arrays meanwhile
            _background.submit(job, functools.partial(self._start_trial, key, copies))

    def _conclude(self, key: tuple, trial: Trial | _targets.Selection) -> None:
        verdict = trial.verdict(self.config.validation_calls, self.min_gain)
        if verdict is None:
            return
        with self._lock:
            if self._trials.pop(key, None) is None:
                return  # another thread concluded it
        promote, reason = verdict
        speedup = trial.speedup() if trial.variant_seconds else 0.0
        promotion = trial.promotion() if promote else None
        if promotion is not None and self._promote(
            key, trial.compiled, trial.raw_type, trial.adapter, promotion, reason
        ):
            self._save_decision(
                trial.saved_as,
                True,
                reason,
                speedup=speedup,
                compile_seconds=trial.compile_seconds,
                raw_type=trial.raw_type,
                adapter=trial.adapter,
                saved_seconds=promotion.saved_seconds,
                target=promotion.target,
                candidates=promotion.candidates,
            )
        elif not promote:
            self._fail(key, key[: len(key) // 2], reason, trial.signature)
            self._save_decision(
                trial.saved_as,
                False,
                reason,
                speedup=speedup,
                compile_seconds=trial.compile_seconds,
            )

    def _promote(
        self,
        key: tuple,
        compiled: _compiler.Compiled,
        raw_type: type,
        adapter: Adapter | None,
        promotion: Promotion,
        reason: str,
    ) -> bool:
        """Serve ``key`` with ``compiled`` from now on; ``False`` if its result type conflicts."""
        types_ = key[: len(key) // 2]
        # One variant per compiled code (per target) and pattern of argument types; a
        # compiled code's variants share its result adapters.
        sibling = next((v for v in self._exact.values() if v.compiled is compiled), None)
        variant = next(
            (
                v
                for k, v in self._exact.items()
                if k[: len(k) // 2] == types_ and v.compiled is compiled
            ),
            None,
        ) or Variant(compiled, sibling.adapters if sibling else None)
        if not variant.accepts(raw_type, adapter):
            reason = "its result type conflicts with another promoted signature"
            self._fail(key, types_, reason, promotion.signature)
            return False
        self._exact[key] = variant
        self._signatures[key] = promotion.signature
        compiled.validated.add(promotion.signature)
        self._refresh_fast_path()
        self.promotions.append(promotion)
        logger.info("%s%s: promoted, %s", self.name, promotion.signature, reason)
        size = _variant_table.code_size(compiled.entry, promotion.signature, _compiler.describe)
        _variant_table.TABLE.admit(
            self, key, variant, promotion.signature, size, promotion.saved_seconds
        )
        return True

    def evict(self, key: tuple, reason: str) -> None:
        """Make ``key`` unreachable (the variant cache evicted it): its calls run the original.

        The signature stays compiled in the entry dispatcher but leaves ``validated``, so the
        fast path no longer reaches it (:func:`_variant_table.fast_routes`), and the key is
        recorded as failed, so it is not tried again in this process. A function left with
        no variant is disarmed and its dispatchers are released.
        """
        with self._lock:
            variant = self._exact.pop(key, None)
            if variant is None:
                return
            signature = self._signatures.pop(key)
            if signature not in self._signatures.values():
                variant.compiled.validated.discard(signature)
                self.promotions = [p for p in self.promotions if p.signature != signature]
        self._fail(key, key[: len(key) // 2], reason, signature)
        if not self._exact and not self._trials:
            self.compiled = None  # nothing reaches its code any more: let Numba free it

    def _decision_store(self) -> DecisionStore | None:
        """The saved decisions of this function's module, when the cache is on."""
        cache = open_cache(self.config)
        if cache is None:
            return None
        filename = str(self.globals.get("__file__") or self.code.co_filename)
        where = (cache.path, self.module, filename)
        if where not in _STORES:
            _STORES[where] = DecisionStore(cache, store_name(self.module, filename))
        return _STORES[where]

    def _promoted_before(self, types_: tuple) -> bool:
        """Whether a saved decision promoted a signature with these argument types."""
        store = self._decision_store()
        return store is not None and _describe_types(types_) in store.promoted_types(self.qualname)

    def _saved_as(
        self, types_: tuple, signature: tuple, compiled: _compiler.Compiled
    ) -> tuple[Any, VariantStore | None]:
        """Where this variant's compile outcome and decision live on disk, if anywhere."""
        cache = open_cache(self.config)
        if cache is None:
            return None, None
        types_text, signature_text = _describe_types(types_), _compiler.describe(signature)
        digest = variant_digest(
            self.code, compiled.snapshot, self.config.jit, types_text, signature_text
        )
        return ((self.qualname, types_text, signature_text), digest), VariantStore(cache, digest)

    def _policy(self) -> tuple:
        return (self.min_gain, self.config.validation_calls, *_targets.policy(self.config))

    def _saved_decision(self, saved_as: Any) -> Decision | None:
        """The decision a previous run made for this very variant under this policy."""
        store = self._decision_store() if saved_as is not None else None
        if store is None:
            return None
        key, digest = saved_as
        decision = store.get(key)
        if decision is None or decision.digest != digest:
            return None
        if decision.policy != self._policy():
            # Say why a decision is not reused: the targets, the tolerance or the GPU
            # changed (a GPU's winner on a machine without one is decided afresh).
            logger.info(
                "%s%s: saved decision made under %r, now %r; trialled again",
                self.name,
                key[2],
                decision.policy,
                self._policy(),
            )
            return None
        return decision

    def _apply(
        self,
        key: tuple,
        build: _targets.Build,
        saved_as: Any,
        decision: Decision,
        loaded: tuple[float, bool],
    ) -> bool:
        """Act on a saved decision: promote without a trial, or reject without one.

        Args:
            key: the exact key being served.
            build: the ``cpu`` variant compiled (or loaded) for it, and what other targets'
                variants are built from.
            saved_as, decision: where the decision was found, and the decision.
            loaded: ``(seconds, from_cache)``: the time to compile or load the ``cpu``
                variant, and whether its code came from the cache.

        Returns:
            ``True`` when applied; ``False`` when the saved winner's target cannot build
            its variant in this process (the signature is then trialled again).

        Raises:
            Rejection: the saved decision is a rejection.
        """
        if not decision.promoted:
            raise _compiler.Rejection(f"{decision.reason} (saved decision)")
        signature = saved_as[0][2]
        winner = self._saved_winner(build, signature, decision, loaded)
        if winner is None:
            return False
        compiled, seconds, from_cache = winner
        promotion = Promotion(
            signature,
            decision.speedup,
            seconds,
            from_cache,
            decision.target,
            decision.candidates,
            decision.saved_seconds,
            saved_decision=True,
        )
        reason = f"{decision.reason} (saved decision)"
        self._promote(key, compiled, decision.raw_type, decision.adapter, promotion, reason)
        return True

    def _saved_winner(
        self,
        build: _targets.Build,
        signature: str,
        decision: Decision,
        loaded: tuple[float, bool],
    ) -> tuple[Any, float, bool] | None:
        """The variant of the saved decision's target, with ``(seconds, from_cache)``.

        ``None`` (and the reason logged) when that target cannot build it in this process.
        """
        seconds, from_cache = loaded
        if decision.target == "cpu":
            return build.base, seconds, from_cache
        try:
            compiled, more, from_cache = _targets.build_target(build, decision.target)
        except _compiler.Rejection as exc:
            logger.info(
                "%s%s: saved decision for target %s not applied, %s; trialled again",
                self.name,
                signature,
                decision.target,
                exc,
            )
            return None
        return compiled, seconds + more, from_cache

    def _save_decision(self, saved_as: Any, promoted: bool, reason: str, **measured: Any) -> None:
        """Keep a trial's outcome for later runs (when the cache is on).

        Args:
            saved_as: where (see :meth:`_saved_as`), or ``None``: not saved.
            promoted, reason: the verdict.
            measured: the other fields of :class:`~autoaccel._decisions.Decision`.
        """
        store = self._decision_store() if saved_as is not None else None
        if store is None:
            return
        key, digest = saved_as
        store.put(key, Decision(digest, self._policy(), promoted, reason, **measured))

    def _refresh_fast_path(self) -> None:
        """Dispatch by argument types alone only where Numba's C matching is safe.

        An unvalidated signature in the entry dispatcher (a pending trial, a rejected or
        evicted variant) must not be reachable by a call whose exact key differs; see
        :func:`_variant_table.fast_routes`.
        """
        fast = _variant_table.fast_routes(self._exact, _compiler.describe)
        for types_, router in self._routers.items():
            router.generic = fast.get(types_)
            if not self._pending(types_):
                fast[types_] = router  # value-guarded: specialized, else the generic variant
        self._fast = fast

    def _fail(self, key: tuple, types_: tuple, reason: str, signature: str = "") -> None:
        """Record that ``key`` (argument types ``types_``) is never to be tried again."""
        signature = signature or _describe_types(types_)
        self.failures[key] = (signature, reason)
        logger.info("%s%s: rejected, %s", self.name, signature, reason)
        router = self._routers.get(types_)
        if (
            router is not None
            and not any(types_[p] in (str, tuple) for p in router.positions)
            and not any(k[: len(k) // 2] == types_ for k in self._exact)
        ):
            # Specializing an int or bool is only worth it against a promoted generic
            # variant; without one, the router would keep the function armed for nothing
            # (and add frames to every call, which changes where deep recursion fails).
            del self._routers[types_]
        self._refresh_fast_path()
        self._disarm_if_idle()

    def _disarm_if_idle(self) -> None:
        if not self.promotions and not self._trials and not self._routers:
            self.armed = False  # nothing promoted or pending: back to (almost) zero cost

    # Value specialization ---------------------------------------------------------------

    def _observe(self, types_: tuple, args: tuple, count: int) -> None:
        """Count the values of a signature not yet hot; at ``min_calls``, plan a router."""
        options = _variant_table.TABLE.options
        if not (self._specialize or options.values):  # None: as [specialization] values says
            return
        stats = self._values.get(types_)
        if stats is None:
            stats = self._values[types_] = _value_spec.ValueStats(self.code, types_)
        stats.record(args)
        if count < self.min_calls:
            return
        del self._values[types_]
        positions = stats.plan(options.threshold, options.max_values)
        if not positions:
            return
        kept = tuple(a for i, a in enumerate(args) if i not in positions)
        reason = _compiler.argument_refusal(kept) or _compiler.globals_refusal(self, lookup)
        if reason:
            # Freezing values removes neither the other arguments nor any global: every
            # specialization would be refused for the same reason, after costing each call
            # a router lookup (pyperformance scimark's Array2D.__getitem__ ran 10x slower).
            self.note_specialization_refused(reason)
            return
        from autoaccel import _value_trampoline

        self._routers[types_] = _value_spec.Router(
            positions,
            len(types_),
            functools.partial(_value_trampoline.make, self, types_, positions),
            options.max_values,
            options.min_calls or self.min_calls,
        )
        logger.info("%s%s: specializing on %s", self.name, _describe_types(types_), positions)

    def _route(self, types_: tuple, args: tuple) -> Any:
        """A value-specialized answer on the slow path, or :data:`NO_MATCH`."""
        router = self._routers.get(types_)
        if router is None or self._fast.get(types_) is router or self._pending(types_):
            return NO_MATCH
        sub = router.sub_for(args)
        if sub is None:
            return NO_MATCH
        result = router.enter(sub, args)
        return NO_MATCH if result is MISS else result

    def _pending(self, types_: tuple) -> bool:
        """Whether the generic variant of ``types_`` is still in its trial."""
        return any(key[: len(key) // 2] == types_ for key in list(self._trials))

    def specialization_failed(self, types_: tuple, every_value: bool = False) -> None:
        """A value specialization of ``types_`` gave up: drop its router if all have.

        ``every_value``: the reason holds for any value (the code cannot be specialized).
        Without the router, calls of ``types_`` go straight to the generic variant, or run
        the original with the function disarmed when there is none.
        """
        router = self._routers.get(types_)
        if router is None or not (every_value or router.exhausted()):
            return
        del self._routers[types_]
        logger.info("%s%s: every value specialization failed", self.name, _describe_types(types_))
        self._refresh_fast_path()
        self._disarm_if_idle()

    def generic_speedup(self, types_: tuple) -> float:
        """The best measured speed-up of a promoted generic variant for ``types_``, else 1."""
        signatures = {s for k, s in self._signatures.items() if k[: len(k) // 2] == types_}
        return max((p.speedup for p in self.promotions if p.signature in signatures), default=1.0)

    def note_specialization_refused(self, reason: str) -> None:
        """Record why a value specialization could not be built (for the report)."""
        self.specialization_refusal = reason
        logger.info("%s: not specialized on values, %s", self.name, reason)

    def _invalidate(self) -> None:
        """A frozen global changed: drop every variant; recompile once, then give up."""
        with self._lock:
            if self.compiled is None:
                return  # another thread invalidated first
            name = _compiler.snapshot_changed(self.compiled.snapshot)
            _variant_table.TABLE.forget(self)
            self._exact.clear()
            self._signatures.clear()
            self._fast = {}
            self._hot.clear()
            self._counts.clear()
            self.promotions.clear()
            self.compiled = None
            self._invalidations += 1
        reason = f"global {name} changed after compiling"
        if self._invalidations > 1:
            self._fail((), (), reason + " again, so it is no longer compiled")
        else:
            logger.info("%s: %s; variants dropped", self.name, reason)

    def pending_trials(self) -> list[str]:
        """Signatures compiled whose trial has not concluded (too few calls so far)."""
        return [trial.signature for trial in list(self._trials.values())]

    def max_signature_calls(self) -> int:
        """The most calls counted for one argument-type signature before it became hot."""
        return max(self._counts.values(), default=0)


@functools.cache
def dispatch_seconds(arity: int) -> float:
    """Seconds :meth:`Trampoline.enter` adds to a promoted call of ``arity`` arguments.

    Measured once per process and arity on a stand-in trampoline whose variant does nothing:
    best of 5 rounds of 1000 calls through ``enter``, minus the same for the stand-in alone.
    A trial adds it to the variant's time, since every promoted call pays it. Guards whose
    cost depends on the function (frozen globals, written arguments) are timed by the trial.
    """
    params = ", ".join(f"a{i}" for i in range(arity))
    namespace: dict = {}
    exec(f"def standin({params}):\n    return None", namespace)
    standin = namespace["standin"]
    trampoline = Trampoline("autoaccel.dispatch", standin.__code__, namespace, Config(), None)
    compiled = _compiler.Compiled(standin, Config().jit, ())
    compiled.entry = standin
    trampoline.compiled = compiled
    args = (0.0,) * arity
    trampoline._fast = {tuple(map(type, args)): Variant(compiled)}
    enter = trampoline.enter
    through = min(timeit.repeat(lambda: enter(*args), number=1000, repeat=5))
    alone = min(timeit.repeat(lambda: standin(*args), number=1000, repeat=5))
    return max(through - alone, 0.0) / 1000


@functools.cache
def _type_key(arity: int) -> Callable[[tuple], tuple]:
    """``tuple(map(type, args))`` for ``arity`` arguments, unrolled: ~35 ns instead of ~160.

    The prologue passes a function's positional parameters, so a trampoline's arity is its
    code's ``co_argcount``.
    """
    items = "".join(f"type(args[{i}]), " for i in range(arity))
    namespace: dict = {}
    exec(f"def type_key(args):\n    return ({items})", namespace)
    return namespace["type_key"]


@functools.cache
def _small_array_type(min_size: int) -> type:
    """The stand-in type of arrays under ``min_size`` elements, named for the report."""
    return type(f"ndarray[size<{min_size}]", (np.ndarray,), {})


def compile_declared(module: str) -> None:
    """Compile the declared signatures of ``module``'s functions (after its import)."""
    for trampoline in registry():
        if trampoline.module == module and trampoline.eager:
            trampoline.compile_signatures()


def _describe_types(types_: tuple) -> str:
    return "(" + ", ".join(t.__name__ for t in types_) + ")"


def lookup(function: types.FunctionType) -> Trampoline | None:
    """The trampoline of a function from an accelerated module, or ``None``."""
    for const in function.__code__.co_consts:
        if isinstance(const, Trampoline):
            return const
    return _BY_CODE.get(id(function.__code__))


def register(trampolines: list[Trampoline]) -> None:
    """Make ``trampolines`` visible to :func:`registry` and :func:`lookup` (one module's)."""
    _REGISTRY.extend(trampolines)
    _BY_CODE.update((id(t.code), t) for t in trampolines)


def registry() -> list[Trampoline]:
    """Every trampoline created in this process, in creation order."""
    return list(_REGISTRY)
