"""Value specialization at run time: routing calls by argument value to specialized variants.

Why this design: the analysis (:mod:`autoaccel.analysis.values`) says which arguments a
function could be specialized on and counts their values; when a few values cover most calls
of a signature, a :class:`Router` sends the calls with those values to a trampoline each: a
trampoline of its own over the code with the argument replaced by the value, compiled,
validated and timed like any function, and promoted only when it beats the generic variant of
that signature by ``min_gain``. Calls with other values, and values whose variant was
rejected or evicted, go to the generic variant or the original. The :class:`Specializer`
keeps one function's routers; it asks its owner (the trampoline) to make the specialized
trampolines, so this module depends on nothing above it.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any, Protocol

from autoaccel.analysis.values import ValueKey, ValueStats, value_key
from autoaccel.backends.screening import argument_refusal, globals_refusal
from autoaccel.runtime.keys import TypeKey, describe_types
from autoaccel.runtime.registry import lookup
from autoaccel.runtime.table import variant_table
from autoaccel.runtime.variant import MISS, NO_MATCH

logger = logging.getLogger("autoaccel")

# Distinct values a router counts at most before it starts counting afresh.
_MAX_COUNTED = 1024


class Router:
    """Dispatch of one signature's calls on the values of its frozen arguments.

    Args:
        positions: the frozen argument positions, ascending.
        generic: the generic variant of the signature (its ``run``), or ``None``.
        make: ``make(key) -> specialized trampoline or None`` for a new value.
        max_values: most values that get a specialized trampoline.
        min_calls: calls with one value before it gets a specialized trampoline.
    """

    __slots__ = (
        "counts",
        "generic",
        "keep",
        "make",
        "max_values",
        "min_calls",
        "positions",
        "subs",
    )

    def __init__(
        self,
        positions: tuple[int, ...],
        arity: int,
        make: Callable[[ValueKey], Any],
        max_values: int,
        min_calls: int,
    ) -> None:
        self.positions = positions
        self.keep = tuple(i for i in range(arity) if i not in positions)
        self.generic: Any = None
        self.make = make
        self.max_values = max_values
        self.min_calls = min_calls
        self.subs: dict[ValueKey, Any] = {}
        self.counts: dict[ValueKey, int] = {}

    @property
    def compiled(self) -> Any:
        """The generic variant's dispatchers (what the fast path would have tried), or None."""
        return None if self.generic is None else self.generic.compiled

    def add(self, key: ValueKey) -> None:
        """Give ``key`` a specialized trampoline (if the function can be specialized)."""
        if key not in self.subs and len(self.subs) < self.max_values:
            self.subs[key] = self.make(key)

    def exhausted(self) -> bool:
        """Whether no specialization is armed, and every slot is taken or every value seen
        so far has had its try: a new value might still gain, but the router's lookup on
        every call is a sure cost."""
        if any(sub is not None and sub.armed for sub in self.subs.values()):
            return False
        return len(self.subs) >= self.max_values or all(key in self.subs for key in self.counts)

    def sub_for(self, args: tuple) -> Any:
        """The armed specialized trampoline for ``args``' values, or ``None``."""
        try:
            key = value_key(args, self.positions)
            sub = self.subs.get(key) if key is not None else None
        except TypeError:  # an unhashable tuple element
            return None
        if sub is None and key is not None and len(self.subs) < self.max_values:
            if len(self.counts) >= _MAX_COUNTED:
                self.counts.clear()  # the argument takes many values now: bound the memory
            count = self.counts[key] = self.counts.get(key, 0) + 1
            if count >= self.min_calls:
                self.add(key)
                sub = self.subs[key]
        return sub if sub is not None and sub.armed else None

    def enter(self, sub: Any, args: tuple) -> Any:
        """``sub``'s answer for ``args`` without the frozen arguments (or ``MISS``)."""
        return sub.enter(*[args[i] for i in self.keep])

    def run(self, args: tuple) -> Any:
        """The fast path's entry: the specialized variant, else the generic one.

        Returns a result, :data:`MISS` (run the original), or :data:`NO_MATCH` (no variant
        took the call: the trampoline's slow path decides).
        """
        sub = self.sub_for(args)
        if sub is not None:
            result = self.enter(sub, args)
            if result is not MISS:
                return result
        generic = self.generic
        return NO_MATCH if generic is None else generic.run(args)


class Owner(Protocol):
    """What the specializer reads and asks of its function (a trampoline is one)."""

    name: str
    code: Any
    globals: dict
    refusal: str | None
    compiled: Any
    min_calls: int
    _exact: dict
    _fast: dict

    def wants_values(self) -> bool:
        """Whether value specialization is on for this function now."""

    def pending(self, types_: TypeKey) -> bool:
        """Whether the generic variant of ``types_`` is still in its trial."""

    def specialize(self, types_: TypeKey, positions: tuple[int, ...], key: ValueKey) -> Any:
        """A registered trampoline over the code with those values frozen, or ``None``."""

    def refresh_fast_path(self) -> None:
        """Rebuild the dispatch by argument types."""

    def disarm_if_idle(self) -> None:
        """Disarm the function when nothing is promoted or pending."""


class Specializer:
    """One function's value specialization: the values counted, and the routers.

    Attributes:
        routers: argument types -> the :class:`Router` of that signature.
        refusal: why a value specialization could not be built, for the report.
    """

    def __init__(self, owner: Owner) -> None:
        self.owner = owner
        self.values: dict[TypeKey, ValueStats] = {}
        self.routers: dict[TypeKey, Router] = {}
        self.refusal: str | None = None

    def observe(self, types_: TypeKey, args: tuple, count: int) -> None:
        """Count the values of a signature not yet hot; at ``min_calls``, plan a router."""
        owner = self.owner
        if not owner.wants_values():
            return
        stats = self.values.get(types_)
        if stats is None:
            stats = self.values[types_] = ValueStats(owner.code, types_)
        stats.record(args)
        if count < owner.min_calls:
            return
        del self.values[types_]
        options = variant_table().options
        positions = stats.plan(options.threshold, options.max_values)
        if not positions:
            return
        kept = tuple(a for i, a in enumerate(args) if i not in positions)
        reason = argument_refusal(kept) or globals_refusal(owner, lookup)
        if reason:
            # Freezing values removes neither the other arguments nor any global: every
            # specialization would be refused for the same reason, after costing each call
            # a router lookup (pyperformance scimark's Array2D.__getitem__ ran 10x slower).
            self.note_refused(reason)
            return
        self.routers[types_] = Router(
            positions,
            len(types_),
            functools.partial(self._make, types_, positions),
            options.max_values,
            options.min_calls or owner.min_calls,
        )
        logger.info("%s%s: specializing on %s", owner.name, describe_types(types_), positions)

    def _make(self, types_: TypeKey, positions: tuple[int, ...], key: ValueKey) -> Any:
        return self.owner.specialize(types_, positions, key)

    def route(self, types_: TypeKey, args: tuple) -> Any:
        """A value-specialized answer on the slow path, or :data:`NO_MATCH`."""
        router = self.routers.get(types_)
        owner = self.owner
        if router is None or owner._fast.get(types_) is router or owner.pending(types_):
            return NO_MATCH
        sub = router.sub_for(args)
        if sub is None:
            return NO_MATCH
        result = router.enter(sub, args)
        return NO_MATCH if result is MISS else result

    def fast_routes(self, fast: dict) -> dict:
        """``fast`` (dispatch by argument types) with the routers of settled signatures."""
        for types_, router in self.routers.items():
            router.generic = fast.get(types_)
            if not self.owner.pending(types_):
                fast[types_] = router  # value-guarded: specialized, else the generic variant
        return fast

    def on_failure(self, types_: TypeKey) -> None:
        """A key of ``types_`` failed: drop a router that cannot pay without a generic variant."""
        router = self.routers.get(types_)
        if (
            router is not None
            and not any(types_[p] in (str, tuple) for p in router.positions)
            and not any(k.types == types_ for k in self.owner._exact)
        ):
            # Specializing an int or bool is only worth it against a promoted generic
            # variant; without one, the router would keep the function armed for nothing
            # (and add frames to every call, which changes where deep recursion fails).
            del self.routers[types_]

    def failed(self, types_: TypeKey, every_value: bool = False) -> None:
        """A value specialization of ``types_`` gave up: drop its router if all have.

        ``every_value``: the reason holds for any value (the code cannot be specialized).
        Without the router, calls of ``types_`` go straight to the generic variant, or run
        the original with the function disarmed when there is none.
        """
        router = self.routers.get(types_)
        if router is None or not (every_value or router.exhausted()):
            return
        del self.routers[types_]
        logger.info(
            "%s%s: every value specialization failed", self.owner.name, describe_types(types_)
        )
        self.owner.refresh_fast_path()
        self.owner.disarm_if_idle()

    def note_refused(self, reason: str) -> None:
        """Record why a value specialization could not be built (for the report)."""
        self.refusal = reason
        logger.info("%s: not specialized on values, %s", self.owner.name, reason)
