"""Saved decisions of one function: where they live on disk, reading them, writing them.

Why this design: a later run should start at full speed, so each trial's outcome is kept
(:mod:`autoaccel.cache.decisions`) and applied again to the very same variant under the same
promotion policy. This class answers the questions the promoter asks about one function:
where a variant's decision and code live, what a previous run decided, and whether any
signature of these argument types was promoted before (which makes its first call hot).

A variant's key covers the globals Numba froze, so finding its decision means building the
variant's dispatchers, which imports Numba. A rejection is therefore also kept *by source*
(:meth:`SavedDecisions.by_source`): keyed by the function's code, what it and its helpers
read and the arguments' types, all known before anything is compiled, so a later run
rejects it again (a compile error, a type-inference failure, a slow trial, a compile given
up) without importing Numba; the report says "(saved decision)" as for the others.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Protocol

from autoaccel.backends import budget
from autoaccel.backends.screening import helpers
from autoaccel.backends.signatures import describe_arguments
from autoaccel.cache.decisions import (
    BY_SOURCE,
    Decision,
    DecisionKey,
    DecisionStore,
    SavedAs,
    store_name,
)
from autoaccel.cache.directory import open_cache
from autoaccel.cache.keys import code_digest, source_digest, value_text, variant_digest
from autoaccel.cache.variants import VariantStore
from autoaccel.errors import Rejection
from autoaccel.policy import targets
from autoaccel.policy.compare import adapter_from_plain, plain_adapter
from autoaccel.policy.trial import PromotionRecord
from autoaccel.runtime.keys import TypeKey, describe_types
from autoaccel.runtime.registry import lookup
from autoaccel.state import STATE

logger = logging.getLogger("autoaccel")


class Owner(Protocol):
    """What :class:`SavedDecisions` reads of its function (a trampoline is one)."""

    name: str
    qualname: str
    module: str
    code: Any
    globals: dict
    config: Any

    def required_gain(self) -> float:
        """The speed-up a variant must reach to be promoted."""


class SavedDecisions:
    """The decisions of one function that previous runs saved, and this run's new ones.

    Args:
        owner: the function's trampoline.
        to_plain, from_plain: how a decision's ``adapter`` is kept in the cache and read
            back: by default a result adapter (:func:`~autoaccel.policy.compare.plain_adapter`);
            a loop's :class:`~autoaccel.policy.site_types.SiteTypes` keep theirs as triples.
            ``from_plain`` raises ``ValueError`` on data it cannot read.
    """

    def __init__(
        self,
        owner: Owner,
        to_plain: Callable[[Any], Any] = plain_adapter,
        from_plain: Callable[[Any], Any] = adapter_from_plain,
    ) -> None:
        self.owner = owner
        self._to_plain = to_plain
        self._from_plain = from_plain

    def store(self) -> DecisionStore | None:
        """The saved decisions of the function's module, when the cache is on."""
        owner = self.owner
        cache = open_cache(owner.config)
        if cache is None:
            return None
        filename = str(owner.globals.get("__file__") or owner.code.co_filename)
        where = (cache.path, owner.module, filename)
        with STATE.lock:
            store = STATE.decision_stores.get(where)
            if store is None:
                store = STATE.decision_stores[where] = DecisionStore(
                    cache, store_name(owner.module, filename)
                )
        return store

    def promoted_before(self, types_: TypeKey) -> bool:
        """Whether a saved decision promoted a signature with these argument types."""
        store = self.store()
        return store is not None and describe_types(types_) in store.promoted_types(
            self.owner.qualname
        )

    def where(
        self, types_: TypeKey, signature: str, compiled: Any
    ) -> tuple[SavedAs | None, VariantStore | None]:
        """Where the variant's decision and its compiled code live on disk, if anywhere.

        Args:
            types_: the call's argument types.
            signature: the Numba signature, as text.
            compiled: the variant's dispatchers (its frozen globals go into the digest).
        """
        owner = self.owner
        cache = open_cache(owner.config)
        if cache is None:
            return None, None
        types_text = describe_types(types_)
        digest = variant_digest(
            owner.code, compiled.snapshot, owner.config.jit, types_text, signature
        )
        key = DecisionKey(owner.qualname, types_text, signature)
        return SavedAs(key, digest), VariantStore(cache, digest)

    def by_source(self, types_: TypeKey, args: tuple) -> SavedAs | None:
        """Where a rejection of these arguments is kept by source, if the cache is on.

        Reads no compiled variant, so Numba is not imported.
        """
        owner = self.owner
        if open_cache(owner.config) is None:
            return None
        reads = _reads(owner)
        arguments = describe_arguments(args)
        digest = source_digest(owner.code, reads, owner.config.jit, arguments)
        key = DecisionKey(owner.qualname, describe_types(types_), BY_SOURCE + arguments)
        return SavedAs(key, digest)

    def refused_before(self, saved_as: SavedAs | None) -> str | None:
        """The reason of a rejection kept by source under this policy, or ``None``."""
        decision = self.decision(saved_as)
        if decision is None or decision.promoted:
            return None
        return f"{decision.reason} (saved decision)"

    def keep_rejection(self, saved_as: SavedAs | None, reason: str) -> None:
        """Keep a rejection found before a trial (by source), unless it was a saved decision
        already or the compile was stopped at exit (a fact of that run, not of the code)."""
        if not reason.endswith("(saved decision)") and reason != budget.STOPPED_AT_EXIT:
            self.save(saved_as, False, reason)

    def policy(self) -> tuple:
        """What a decision is made under: the gain, the trial length, the targets."""
        config = self.owner.config
        return (self.owner.required_gain(), config.validation_calls, *targets.policy(config))

    def decision(self, saved_as: SavedAs | None) -> Decision | None:
        """The decision a previous run made for this very variant under this policy.

        Its ``adapter`` is the live converter (the store keeps its plain form).
        """
        store = self.store() if saved_as is not None else None
        if store is None or saved_as is None:
            return None
        decision = store.get(saved_as.key)
        if decision is None or decision.digest != saved_as.digest:
            return None
        if decision.policy != self.policy():
            # Say why a decision is not reused: the targets, the tolerance or the GPU
            # changed (a GPU's winner on a machine without one is decided afresh).
            logger.info(
                "%s%s: saved decision made under %r, now %r; trialled again",
                self.owner.name,
                saved_as.key.signature,
                decision.policy,
                self.policy(),
            )
            return None
        try:
            return decision._replace(adapter=self._from_plain(decision.adapter))
        except ValueError as exc:
            logger.info("%s: saved decision not applied: %s", self.owner.name, exc)
            return None

    def save(self, saved_as: SavedAs | None, promoted: bool, reason: str, **measured: Any) -> None:
        """Keep a trial's outcome for later runs (when the cache is on).

        Args:
            saved_as: where (see :meth:`where`), or ``None``: not saved.
            promoted, reason: the verdict.
            measured: the other fields of :class:`~autoaccel.cache.decisions.Decision`.
        """
        store = self.store() if saved_as is not None else None
        if store is None or saved_as is None:
            return
        if "adapter" in measured:
            measured["adapter"] = self._to_plain(measured["adapter"])
        store.put(
            saved_as.key, Decision(saved_as.digest, self.policy(), promoted, reason, **measured)
        )

    def apply(
        self,
        build: targets.Build,
        saved_as: SavedAs,
        decision: Decision,
        loaded: tuple[float, bool],
    ) -> tuple[Any, PromotionRecord, str] | None:
        """What a saved decision makes of a freshly compiled (or loaded) variant.

        Args:
            build: the ``cpu`` variant compiled (or loaded) for the signature, and what
                other targets' variants are built from.
            saved_as, decision: where the decision was found, and the decision.
            loaded: ``(seconds, from_cache)``: the time to compile or load the ``cpu``
                variant, and whether its code came from the cache.

        Returns:
            ``(compiled, record, reason)`` to promote without a trial, or ``None`` when the
            saved winner's target cannot build its variant in this process (the signature
            is then trialled again).

        Raises:
            Rejection: the saved decision is a rejection.
        """
        if not decision.promoted:
            raise Rejection(f"{decision.reason} (saved decision)")
        signature = saved_as.key.signature
        winner = self._winner(build, signature, decision, loaded)
        if winner is None:
            return None
        compiled, seconds, from_cache = winner
        record = PromotionRecord(
            signature,
            decision.speedup,
            seconds,
            from_cache,
            decision.target,
            decision.candidates,
            decision.saved_seconds,
            saved_decision=True,
        )
        return compiled, record, f"{decision.reason} (saved decision)"

    def _winner(
        self, build: targets.Build, signature: str, decision: Decision, loaded: tuple[float, bool]
    ) -> tuple[Any, float, bool] | None:
        """The variant of the saved decision's target, with ``(seconds, from_cache)``.

        ``None`` (and the reason logged) when that target cannot build it in this process.
        """
        seconds, from_cache = loaded
        if decision.target == "cpu":
            return build.base, seconds, from_cache
        try:
            compiled, more, from_cache = targets.build_target(build, decision.target)
        except Rejection as exc:
            logger.info(
                "%s%s: saved decision for target %s not applied, %s; trialled again",
                self.owner.name,
                signature,
                decision.target,
                exc,
            )
            return None
        return compiled, seconds + more, from_cache


def _reads(unit: Any, active: tuple = (), seen: set[int] | None = None) -> list[str]:
    """What ``unit`` and its helpers read, as texts: each global's value, each helper's code.

    A helper is read once, where it is first reached (``seen``: the ids of those read): a
    helper called from many others is not read along every call path (on a lattice of
    helpers, exponentially many), and one already on the call chain (the helpers call each
    other in a cycle) is named by its code only: recursive code compiles
    (docs/divergences.md, row 30), and its rejections are kept by source like any other's
    (py_lets_be_rational's ``normalised_black_call``, whose compile is given up after 5 s,
    was compiled again in every run).
    """
    seen = {id(unit)} if seen is None else seen
    texts = []
    for name, value, helper in helpers(unit, lookup, active):
        if helper is None:
            texts.append(f"{name}={value_text(value)}")
        else:
            texts.append(f"{name}=code:{code_digest(helper.code)}")
            if id(helper) not in seen:  # the chain up to here is seen too
                seen.add(id(helper))
                texts.extend(_reads(helper, (*active, unit), seen))
    return texts
