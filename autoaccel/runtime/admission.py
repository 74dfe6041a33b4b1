"""Admission: whether a hot signature's calls go on to a compile, decided without Numba.

Why this design: everything that can rule a compile out before Numba is imported is decided
here, in the order of its cost: the arguments and globals (:mod:`autoaccel.backends.screening`),
a rejection a previous run kept by source (:meth:`SavedDecisions.by_source`), and the cost
of the calls themselves (:mod:`autoaccel.policy.cost`): calls too short for any variant to
win are rejected, and a signature is compiled only once its calls have taken ``min_seconds``
of Python time. What passes goes to the :class:`~autoaccel.runtime.promoter.Promoter`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from autoaccel.backends.screening import argument_refusal, globals_refusal
from autoaccel.backends.signatures import describe_arguments
from autoaccel.policy.cost import TIMED_CALLS, CallCost
from autoaccel.runtime.keys import TypeKey
from autoaccel.runtime.registry import lookup
from autoaccel.runtime.saved import SavedDecisions
from autoaccel.runtime.variant import MISS


class _Ready:
    """What :meth:`Admission.cost_gate` answers when a signature is to be compiled now."""

    def __repr__(self) -> str:
        return "<autoaccel READY>"


READY = _Ready()


class Owner(Protocol):
    """What admission reads of its function (a trampoline is one)."""

    min_calls: int
    parent: Any
    code: Any
    globals: dict
    refusal: str | None
    compiled: Any
    config: Any
    original: Any

    def required_gain(self) -> float:
        """The speed-up a variant must reach."""

    def dispatch_seconds(self, arity: int) -> float:
        """What reaching a variant adds to a call (seconds)."""


class Admission:
    """The decisions before compiling, for one function.

    Args:
        owner: the function's trampoline.
        saved: its saved decisions.
        fail: records a rejection: ``fail(key, types, reason, signature)``.

    Attributes:
        costs: per argument types, the timed calls of the original.
        screened: argument types whose arguments and globals passed the screening.
    """

    def __init__(self, owner: Owner, saved: SavedDecisions, fail: Callable[..., None]) -> None:
        self.owner = owner
        self.saved = saved
        self.fail = fail
        self.costs: dict[TypeKey, CallCost] = {}
        self.screened: set[TypeKey] = set()

    def screening_from(self) -> int:
        """The count of calls of one signature from which they are screened and timed.

        The last :data:`~autoaccel.policy.cost.TIMED_CALLS` calls before ``min_calls`` are
        timed, so that a signature worth compiling is compiled at ``min_calls`` as before.
        """
        min_calls = self.owner.min_calls
        return max(1, min_calls - TIMED_CALLS) if self._costs_apply() else min_calls

    def screen(self, types_: TypeKey, args: tuple) -> str | None:
        """Why these arguments or the function's globals rule a variant out, else ``None``.

        Rejections a previous run kept by source included; a pass is remembered per
        argument types (the compile screens its arguments again).
        """
        if types_ in self.screened:
            return None
        reason = argument_refusal(args) or globals_refusal(self.owner, lookup)
        if reason is None:
            reason = self.saved.refused_before(self.saved.by_source(types_, args))
        if reason is None:
            self.screened.add(types_)
        return reason

    def cost_gate(self, types_: TypeKey, args: tuple, count: int) -> Any:
        """:data:`READY` when ``types_``'s calls can pay for a compile now (``count`` calls
        so far); else what this call returns: the original's result (a timed call), or
        :data:`~autoaccel.runtime.variant.MISS` (rejected as too short, or not enough
        Python time yet).
        """
        owner = self.owner
        if not self._costs_apply():
            return READY
        cost = self.costs.get(types_) or self.costs.setdefault(types_, CallCost())
        cost.calls = count
        if not cost.needed:
            if not cost.timed():
                return cost.call(owner.original, args)
            if count < owner.min_calls:
                return MISS
            floor = owner.dispatch_seconds(len(args))
            reason = cost.judge(floor, owner.required_gain(), owner.config.min_seconds)
            if reason:  # kept by source like a slow trial's, so later runs time nothing
                self.saved.save(self.saved.by_source(types_, args), False, reason)
                self.fail(types_, types_, reason, describe_arguments(args))
                return MISS
        return READY if count >= cost.needed else MISS

    def _costs_apply(self) -> bool:
        # A value specialization is routed to after its parent's decision; min_gain 0
        # promotes whatever its speed, so no cost can rule a variant out.
        return self.owner.parent is None and self.owner.required_gain() > 0

    def python_seconds(self) -> float | None:
        """The most Python time one signature's calls took so far, estimated (seconds), or
        ``None`` when no calls were timed."""
        timed = [cost.python_seconds() for cost in list(self.costs.values()) if cost.timed()]
        return max(timed, default=None)
