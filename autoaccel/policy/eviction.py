"""Eviction policies of the variant cache: which promoted variant goes when a bound is reached.

Why this design: a policy is a pure function of the entries' bookkeeping (calls, last use,
admission time, code size, measured time saved), so each one can be tested without
compiling anything, and :mod:`autoaccel.runtime.table` stays one loop: while a bound is
exceeded, ask the policy for a victim among the candidates and evict it. The bookkeeping is
what the trampoline measures anyway; nothing here estimates a speed-up.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol, TypeVar


class Usage(Protocol):
    """What a policy reads about one cached variant."""

    @property
    def uses(self) -> int:
        """Calls served by the variant so far."""

    @property
    def recency(self) -> int:
        """A tick that is larger the more recently a call used it."""

    @property
    def last_used(self) -> float:
        """When a call last used it (``time.monotonic`` seconds; coarser than ``recency``)."""

    @property
    def admitted(self) -> float:
        """When it was promoted (``time.monotonic`` seconds)."""

    @property
    def size(self) -> int:
        """Its machine code, in bytes."""

    @property
    def saved_seconds(self) -> float:
        """Measured time it saves per call (original minus variant, seconds, >= 0)."""


def _lru(entries: Sequence[Usage], now: float, ttl: float) -> Usage:
    return min(entries, key=lambda e: e.recency)


def _lfu(entries: Sequence[Usage], now: float, ttl: float) -> Usage:
    return min(entries, key=lambda e: (e.uses, e.recency))


def _ttl(entries: Sequence[Usage], now: float, ttl: float) -> Usage:
    # Expired entries are dropped before any bound is checked (see expired()); what is
    # left to choose from is evicted oldest-admitted first.
    return min(entries, key=lambda e: e.admitted)


def _size(entries: Sequence[Usage], now: float, ttl: float) -> Usage:
    return max(entries, key=lambda e: (e.size, -e.uses))


def _adaptive(entries: Sequence[Usage], now: float, ttl: float) -> Usage:
    # Total time saved so far: calls x measured gain per call. A variant that served no
    # call yet is judged by one call's gain, so a fresh promotion is not the first victim.
    return min(entries, key=lambda e: (max(e.uses, 1) * e.saved_seconds, e.recency))


U = TypeVar("U", bound=Usage)

Policy = Callable[[Sequence[Usage], float, float], Usage]

POLICIES: dict[str, Policy] = {
    "lru": _lru,
    "lfu": _lfu,
    "ttl": _ttl,
    "size": _size,
    "adaptive": _adaptive,
}


def victim(policy: str, entries: Sequence[U], now: float, ttl: float = 0.0) -> U:
    """The entry ``policy`` evicts first among ``entries``.

    Args:
        policy: one of :data:`POLICIES` (``lru``, ``lfu``, ``ttl``, ``size``, ``adaptive``).
        entries: the candidates (not empty).
        now: the current ``time.monotonic()`` (seconds).
        ttl: the ``ttl`` policy's time to live (seconds).

    Raises:
        ValueError: ``policy`` is unknown or ``entries`` is empty.
    """
    if policy not in POLICIES:
        raise ValueError(f"unknown eviction policy {policy!r} (one of {', '.join(POLICIES)})")
    if not entries:
        raise ValueError("no entries to evict from")
    return POLICIES[policy](entries, now, ttl)  # type: ignore[return-value]


def expired(policy: str, entries: Sequence[U], now: float, ttl: float) -> list[U]:
    """Entries the ``ttl`` policy evicts whatever the bounds: unused for ``ttl`` seconds."""
    if policy != "ttl":
        return []
    return [e for e in entries if now - e.last_used >= ttl]
