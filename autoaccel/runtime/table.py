"""The variant cache: every promoted variant of the process, bounded per function and in size.

Why this design: variants are compiled and promoted per exact signature (and per frozen
value, :mod:`autoaccel.analysis.values`), each on its own measured gain. This table only keeps
the books: one :class:`Entry` per promoted exact key, with its code size, the time its trial
measured it to save per call, and how often it is used. When a function holds more than
``max_variants`` or all of them more than ``max_memory_mb``, the configured policy
(:mod:`autoaccel.policy.eviction`) picks victims, and each victim's promoter makes that key
unreachable (:meth:`~autoaccel.runtime.promoter.Promoter.evict`): its calls run the
original again, never another variant. A newly admitted variant is never its own victim: it
has just paid its compile and measured a gain.

Use is counted per call: each promoted :class:`~autoaccel.runtime.variant.Variant` counts
the calls it serves (``uses``) and keeps the tick of a process-wide counter at its latest
call (``last``), which orders recency exactly without reading a clock; the table turns a
changed tick into a ``time.monotonic()`` "last used" time whenever it looks (at each
admission and report), which only ``ttl`` needs: a call counts as made when the table next
looks, so a variant may outlive its time to live by the time between two such events.
Exact keys with the same Python argument types (float64 and int64 arrays) share one count,
since the fast path dispatches them by those types alone: between them, a policy falls
back to the order of admission.

Memory: Numba's dispatcher cannot drop one compiled signature, so an evicted variant's code
stays allocated until its function has no promoted variant left, when the function's
dispatcher is released (``Promoter.evict``). The sizes counted are object-code bytes.
"""

from __future__ import annotations

import array
import dataclasses
import threading
import time
from typing import Any

from autoaccel.backends.signatures import describe
from autoaccel.config import SpecializationOptions
from autoaccel.policy import eviction
from autoaccel.runtime.variant import ConvertingVariant
from autoaccel.state import STATE

_MIB = 1024 * 1024


@dataclasses.dataclass(eq=False)
class Entry:
    """One promoted exact key of one function.

    Attributes:
        owner: the promoter that serves the key (``evict(key, reason)`` is called on it).
        key: the exact key (argument types and Numba fingerprints).
        family: the function whose ``max_variants`` it counts against (``module.qualname``;
            value-specialized variants count against the function they specialize).
        signature: the Numba signature, as text.
        variant: the object whose ``uses`` and ``last`` count the calls it served (shared by
            the keys with the same Python argument types).
        size: machine code, bytes.
        saved_seconds: original minus variant time per call measured in its trial (seconds).
        admitted, last_used: ``time.monotonic()`` seconds.
    """

    owner: Any
    key: tuple
    family: str
    signature: str
    variant: Any
    size: int
    saved_seconds: float
    admitted: float
    last_used: float
    seen: int = 0

    @property
    def uses(self) -> int:
        """Calls served so far."""
        return int(self.variant.uses)

    @property
    def recency(self) -> int:
        """The tick of its latest call (or of its promotion): larger is more recent."""
        return int(self.variant.last)


@dataclasses.dataclass(frozen=True)
class Eviction:
    """One eviction, for the report and :func:`cache_stats`."""

    family: str
    signature: str
    reason: str


class VariantTable:
    """The process's bounded set of promoted variants (see the module docstring).

    Args:
        options: the bounds and policy; :meth:`configure` replaces them.
    """

    def __init__(self, options: SpecializationOptions | None = None) -> None:
        self.options = options or SpecializationOptions()
        self.configured = options is not None
        self._entries: list[Entry] = []
        self._lock = threading.Lock()
        self.evictions: list[Eviction] = []

    def configure(self, options: SpecializationOptions) -> None:
        """Use ``options`` from now on; bounds are enforced at the next admission."""
        self.options = options
        self.configured = True

    def adopt(self, options: SpecializationOptions) -> SpecializationOptions:
        """Use ``options`` unless the table was configured already; the options in force.

        ``@optimize`` adopts its configuration's ``[specialization]`` this way, so a later
        decorator never undoes what the hook or ``configure_specialization`` set.
        """
        with self._lock:
            if not self.configured:
                self.configure(options)
            return self.options

    def admit(
        self,
        owner: Any,
        key: tuple,
        variant: Any,
        signature: str,
        size: int,
        saved_seconds: float,
    ) -> None:
        """Record a promotion and evict what the bounds and the policy say must go.

        Args:
            owner: the promoter serving ``key``; it must have ``family`` (str) and
                ``evict(key, reason)``.
            key, variant, signature: as in :class:`Entry`.
            size: machine code, bytes.
            saved_seconds: measured time saved per call (seconds; negative counts as 0).
        """
        now = time.monotonic()
        entry = Entry(
            owner, key, owner.family, signature, variant, size, max(saved_seconds, 0.0), now, now
        )
        entry.seen = entry.recency
        with self._lock:
            self._sweep(now)
            self._entries.append(entry)
            victims = self._victims(entry, now)
            for victim, _ in victims:
                self._entries.remove(victim)
        for victim, reason in victims:
            self.evictions.append(Eviction(victim.family, victim.signature, reason))
            victim.owner.evict(victim.key, reason)

    def _victims(self, new: Entry, now: float) -> list[tuple[Entry, str]]:
        options = self.options
        policy = options.policy
        chosen: list[tuple[Entry, str]] = []
        others = [e for e in self._entries if e is not new]
        for entry in eviction.expired(policy, others, now, options.ttl_seconds):
            chosen.append(
                (entry, f"evicted from the variant cache: unused for {options.ttl_seconds:g} s")
            )
            others.remove(entry)
        family = [e for e in others if e.family == new.family]
        while family and len(family) + 1 > options.max_variants:
            entry = eviction.victim(policy, family, now, options.ttl_seconds)
            reason = (
                f"evicted from the variant cache: max_variants {options.max_variants} ({policy})"
            )
            chosen.append((entry, reason))
            family.remove(entry)
            others.remove(entry)
        limit = options.max_memory_mb * _MIB
        while others and new.size + sum(e.size for e in others) > limit:
            entry = eviction.victim(policy, others, now, options.ttl_seconds)
            reason = f"evicted from the variant cache: max_memory_mb {options.max_memory_mb:g} ({policy})"
            chosen.append((entry, reason))
            others.remove(entry)
        return chosen

    def _sweep(self, now: float) -> None:
        """Turn changed use counts into "last used" times (called with the lock held)."""
        for entry in self._entries:
            tick = entry.recency
            if tick != entry.seen:
                entry.seen = tick
                entry.last_used = now

    def forget(self, owner: Any, key: tuple | None = None) -> None:
        """Drop ``owner``'s entries (one ``key``, or all) without evicting: it dropped them."""
        with self._lock:
            self._entries = [
                e for e in self._entries if not (e.owner is owner and key in (None, e.key))
            ]

    def entries(self) -> list[Entry]:
        """The promoted variants held now, with their use times brought up to date."""
        with self._lock:
            self._sweep(time.monotonic())
            return list(self._entries)

    def clear(self) -> int:
        """Evict every variant (their calls run the original again); how many were held."""
        reason = "evicted: the specialization cache was cleared"
        with self._lock:
            victims, self._entries = self._entries, []
        for victim in victims:
            self.evictions.append(Eviction(victim.family, victim.signature, reason))
            victim.owner.evict(victim.key, reason)
        return len(victims)

    def stats(self) -> dict[str, Any]:
        """Counts, sizes and bounds of the cache (see :func:`autoaccel.get_cache_stats`)."""
        entries = self.entries()
        options = self.options
        return {
            "variants": len(entries),
            "functions": len({e.family for e in entries}),
            "memory_bytes": sum(e.size for e in entries),
            "max_variants": options.max_variants,
            "max_memory_mb": options.max_memory_mb,
            "policy": options.policy,
            "ttl_seconds": options.ttl_seconds,
            "evictions": len(self.evictions),
            "calls_served": sum(e.uses for e in entries),
        }


def variant_table() -> VariantTable:
    """The process's variant table, made at first use (kept in :data:`autoaccel.state.STATE`)."""
    table = STATE.variant_table
    if table is None:
        table = STATE.variant_table = VariantTable()
    return table


def clear_specialization_cache() -> int:
    """Drop every promoted variant held in memory, in every function.

    The calls of a dropped signature run the original function from then on (it is not
    compiled again in this process), never another variant, so answers stay the same. Its
    machine code is released once its function holds no variant. The on-disk cache is left
    alone (``python -m autoaccel cache clear`` empties it).

    Returns:
        How many variants were dropped (0 when none was held).
    """
    return variant_table().clear()


def code_size(dispatcher: Any, signature: str) -> int:
    """Object-code bytes of ``dispatcher``'s overload described as ``signature`` (0 if unknown).

    Never raises: the entry of a CUDA variant is a plain function without overloads.

    Args:
        dispatcher: a Numba dispatcher.
        signature: the signature as :func:`autoaccel.backends.signatures.describe` writes it.
    """
    overloads = getattr(dispatcher, "overloads", None)  # another target's entry may have none
    if not isinstance(overloads, dict):
        return 0
    for sig, overload in list(overloads.items()):
        if describe(sig) != signature:
            continue
        try:  # ~1 ms once per promotion; Numba caches the object code it emits
            return len(overload.library.serialize_using_object_code()[2][1])
        except Exception:  # code loaded from Numba's cache may not re-emit: size unknown
            return 0
    return 0


def fast_routes(exact: dict[Any, Any]) -> dict[tuple, Any]:
    """The fast path: promoted variants by argument types alone, where that is safe.

    A call on the fast path is matched by Numba's C dispatcher against every signature
    compiled into the variant's entry dispatcher, converting where Numba may (scalars to
    scalars, an array's layout). So a pattern of argument types gets a fast route only when
    no signature of that dispatcher that was not validated, or was evicted, could be
    reached by arguments of those types: one whose arguments are, position by position,
    arrays where the pattern has arrays, tuples where it has tuples, and scalars where it
    has scalars. A compiled code without Numba signatures (another target's) blocks all its
    patterns while it holds an unvalidated one. Other patterns are dispatched by their
    exact key. Tuples are on the fast path only through a
    :class:`~autoaccel.runtime.variant.ConvertingVariant`, which checks the exact classes or
    key of each call itself: Numba converts between tuple element types.

    Args:
        exact: promoted variants by exact key (:class:`~autoaccel.runtime.keys.ExactKey`).
    """
    blocked: dict[int, Any] = {}
    routes: dict[tuple, Any] = {}
    for key, variant in exact.items():
        types_ = key.types
        compiled = variant.compiled
        own_check = isinstance(variant, ConvertingVariant) and variant.keys is not None
        if types_ in routes or (tuple in types_ and not own_check) or compiled.compiling:
            continue
        patterns = blocked.get(id(compiled))
        if patterns is None:
            patterns = blocked[id(compiled)] = _unvalidated_patterns(compiled)
        if patterns is not _ALL and tuple(map(_python_kind, types_)) not in patterns:
            routes[types_] = variant
    return routes


_ALL = object()  # every pattern is blocked


def _unvalidated_patterns(compiled: Any) -> Any:
    signatures = getattr(compiled.entry, "signatures", None)
    if signatures is None:
        return _ALL if compiled.unvalidated() else set()
    validated = compiled.validated
    return {tuple(map(_numba_kind, sig)) for sig in signatures if describe(sig) not in validated}


def _numba_kind(numba_type: Any) -> str:
    from numba.core import types

    from autoaccel.boundary.numba_types import PySequence

    if isinstance(numba_type, types.Array):
        return "array"
    if isinstance(numba_type, types.BaseTuple):
        return "tuple"
    if isinstance(numba_type, PySequence):
        return "sequence"  # a converted list or buffer (autoaccel.boundary)
    return "scalar"


def _python_kind(kind: type) -> str:
    import numpy as np

    if issubclass(kind, np.ndarray):
        return "array"
    if issubclass(kind, tuple):
        return "tuple"
    if issubclass(kind, (list, bytes, bytearray, array.array, memoryview)):
        return "sequence"
    return "scalar"
