"""Admission: whether a hot signature's calls go on to a compile, decided without Numba.

Why this design: everything that can rule a compile out before Numba is imported is decided
here, in the order of its cost: the arguments and globals (:mod:`autoaccel.backends.screening`),
a rejection a previous run kept by source (:meth:`SavedDecisions.by_source`), and the cost
of the calls themselves (:mod:`autoaccel.policy.cost`): calls too short for any variant to
win are rejected, and a signature is compiled only once its calls have taken ``min_seconds``
of Python time, and as long as a compile is expected to take (``compile_payback``); until
then its calls are only counted (in C where that path is built: ``quiet_until``). What
passes goes to the :class:`~autoaccel.runtime.promoter.Promoter`.

Call trees are compiled whole: the back-end compiles a function with the helpers it calls
from the selected modules (:func:`~autoaccel.backends.screening.helpers`), and LLVM inlines
small ones, so a helper costs nothing per call inside a compiled caller. So when a helper is
ready to be compiled on its own, but its calls come from a caller that is itself on its way
to a decision (a function armed and counting, timing or in its trial, or a loop armed and
not yet promoted) and could take it (its arguments and globals pass the screening), the
helper waits: the caller's measured gain decides, as JIT compilers inline callees into the
hottest method rather than compile each (HotSpot's inlining of small methods). Once the
caller is decided, the helper goes on if it is still called: promoted, the caller runs the
helper compiled and no longer calls it from Python; rejected, the helper is tried alone.
"""

from __future__ import annotations

import logging
import sys
import types
from collections.abc import Callable
from typing import Any, Protocol

from autoaccel.backends.screening import globals_refusal
from autoaccel.backends.signatures import describe_arguments
from autoaccel.boundary.convert import conversion_seconds
from autoaccel.policy.cost import TIMED_CALLS, CallCost, compile_threshold, entry_seconds
from autoaccel.runtime import methods
from autoaccel.runtime.keys import TypeKey
from autoaccel.runtime.loop import LoopTrampoline
from autoaccel.runtime.registry import lookup, lookup_code
from autoaccel.runtime.saved import SavedDecisions
from autoaccel.runtime.variant import MISS
from autoaccel.runtime.warm_start import load_refusal

logger = logging.getLogger("autoaccel")


class _Ready:
    """What :meth:`Admission.cost_gate` answers when a signature is to be compiled now."""

    def __repr__(self) -> str:
        return "<autoaccel READY>"


READY = _Ready()
# The most calls a helper waits for its caller's decision (each costs it ~1 us armed).
_WAIT_CALLS = 100_000
_WAIT_SECONDS = 0.1  # ... and at most this much of its own Python time (or 2x its threshold)
# A helper waiting for its caller counts this many calls quietly between looks at it.
_RECHECK_CALLS = 1_000


class Owner(Protocol):
    """What admission reads of its function (a trampoline is one)."""

    name: str
    min_calls: int
    parent: Any
    code: Any
    globals: dict
    refusal: str | None
    compiled: Any
    config: Any
    original: Any
    quiet_until: dict

    def required_gain(self) -> float:
        """The speed-up a variant must reach."""

    def signature_calls(self, types_: TypeKey | None = None) -> int:
        """The calls counted for these argument types (some counted in C, unseen here)."""

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
        waiting: the caller (function or loop trampoline) this function waits for, or
            ``None``.
        inlined_into: the name of the caller that was promoted with this function inlined,
            or ``None``.
    """

    def __init__(self, owner: Owner, saved: SavedDecisions, fail: Callable[..., None]) -> None:
        self.owner = owner
        self.saved = saved
        self.fail = fail
        self.costs: dict[TypeKey, CallCost] = {}
        self.screened: set[TypeKey] = set()
        self.waiting: Any = None
        # While waiting: calls after which to look again, the most calls to wait, the calls
        # of this function's own patience, and the caller loop's iterations when last seen.
        self._wait_until = self._wait_limit = self._patience = 0
        self._caller_looks: int | None = None
        self.inlined_into: str | None = None
        self._looked = False  # whether the caller was looked for

    def screening_from(self) -> int:
        """The count of calls of one signature from which they are screened and timed.

        The last :data:`~autoaccel.policy.cost.TIMED_CALLS` calls before ``min_calls`` are
        timed, so that a signature worth compiling is compiled at ``min_calls`` as before;
        never the first call: a timed call runs the original, without the instrumentation of
        its loops, and a function called once with a hot loop would lose it.
        """
        min_calls = self.owner.min_calls
        return max(2, min_calls - TIMED_CALLS) if self._costs_apply() else min_calls

    def screen(self, types_: TypeKey, args: tuple) -> str | None:
        """Why these arguments or the function's globals rule a variant out, else ``None``.

        Rejections a previous run kept by source included; a pass is remembered per
        argument types (the compile screens its arguments again).
        """
        if types_ in self.screened:
            return None
        try:
            return self._screen(types_, args)
        except Exception as exc:  # a bug of ours must never reach the program
            logger.debug("%s: internal error", self.owner.name, exc_info=True)
            return f"internal error: {exc!r}"

    def _screen(self, types_: TypeKey, args: tuple) -> str | None:
        owner = self.owner
        reason = methods.screen(owner.code, args, owner.config.strings)
        reason = reason or globals_refusal(owner, lookup)
        if reason is None:
            reason = self.saved.refused_before(self.saved.by_source(types_, args))
        if reason is None:  # starting Numba would not pay: a plain run (warm_start.py)
            reason = load_refusal(owner.config)
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
        if not cost.needed:
            if not cost.timed():
                return cost.call(owner.original, args)
            if count < owner.min_calls:
                return MISS
            fields = methods.resolve(owner.code, args).fields()
            floor = owner.dispatch_seconds(len(args)) + entry_seconds(len(args))
            floor += conversion_seconds(args, fields)
            reason = cost.judge(floor, owner.required_gain(), self.threshold()[0])
            if reason:  # kept by source like a slow trial's, so later runs time nothing
                self.saved.save(self.saved.by_source(types_, args), False, reason)
                self.fail(types_, types_, reason, describe_arguments(args))
                return MISS
        if count >= cost.needed:  # other units' compiles since may have raised the bar
            cost.needed = cost.calls_for(self.threshold()[0])
        if count < cost.needed:
            owner.quiet_until[types_] = cost.needed  # nothing to decide until then
            return MISS
        if self._waits_for_caller(count, cost):
            # Looked at again every _RECHECK_CALLS calls: the caller may be decided by then.
            owner.quiet_until[types_] = min(count + _RECHECK_CALLS, self._wait_until)
            return MISS
        return READY

    def threshold(self) -> tuple[float, str]:
        """The Python time (seconds) a signature's calls must take before it is compiled,
        and which setting says so (:func:`~autoaccel.policy.cost.compile_threshold`)."""
        config = self.owner.config
        return compile_threshold(config.min_seconds, config.compile_payback, "min_seconds")

    def caller_reason(self) -> str | None:
        """What the report says of a function whose compile was left to its caller, or
        ``None``."""
        caller = self.waiting
        if caller is not None and not caller.promotions:
            return f"waits for its caller {caller.name}, which would be compiled with it"
        name = caller.name if caller is not None else self.inlined_into
        return f"runs compiled inside its caller {name}" if name else None

    def _waits_for_caller(self, count: int, cost: CallCost) -> bool:
        """Whether this function's compile waits for its caller's decision (looked up once,
        at the first call that could compile it).

        It waits at most :data:`_WAIT_CALLS` calls. A loop caller that has not looked at its
        speed while this function spent :data:`_WAIT_SECONDS` (or twice its own compile
        threshold) of Python time is not about to decide (a loop of a few long iterations
        looks only after several; montecarlo's Ising sweeps, 2 ms a call, waited for such a
        loop for the whole run): then this function is tried alone. One that looked since
        is waited for again as long.
        """
        if self.waiting is None:
            if self._looked:
                return False
            self._looked = True
            self.waiting = deciding_caller(self.owner)
            self._patience = cost.calls_for(max(2 * self.threshold()[0], _WAIT_SECONDS))
            self._wait_until = count + min(_WAIT_CALLS, self._patience)
            self._wait_limit = count + _WAIT_CALLS
            self._caller_looks = getattr(self.waiting, "iterations", None)
            return self.waiting is not None
        caller = self.waiting
        if caller.armed and not caller.promotions and count < self._wait_until:
            return True
        looks = getattr(caller, "iterations", None)
        if looks is not None and looks != self._caller_looks and count < self._wait_limit:
            self._caller_looks = looks  # the loop looked: its decision may be near
            self._wait_until = min(count + self._patience, self._wait_limit)
            return caller.armed and not caller.promotions
        if caller.promotions:
            self.inlined_into = caller.name
        self.waiting = None
        return False

    def _costs_apply(self) -> bool:
        # A value specialization is routed to after its parent's decision; min_gain 0
        # promotes whatever its speed, so no cost can rule a variant out.
        return self.owner.parent is None and self.owner.required_gain() > 0

    def python_seconds(self) -> float | None:
        """The most Python time one signature's calls took so far, estimated (seconds), or
        ``None`` when no calls were timed."""
        timed = [
            cost.python_seconds(self.owner.signature_calls(types_))
            for types_, cost in list(self.costs.items())
            if cost.timed()
        ]
        return max(timed, default=None)


def deciding_caller(owner: Any) -> Any:
    """The caller of ``owner``'s function now running that will be compiled with it inlined.

    Found from the frames: the frame running ``owner``'s code (the prologue holds it), then
    its caller's frame: the innermost candidate loop of it whose lines hold the call, armed
    and not promoted; else its function's trampoline, armed, not promoted, counted up to its
    screening (so about to decide), with arguments and globals that pass the screening.

    Returns:
        The loop or function trampoline, or ``None``.
    """
    frame: types.FrameType | None = sys._getframe(1)
    while frame is not None and not any(c is owner for c in frame.f_code.co_consts):
        frame = frame.f_back
    caller = frame.f_back if frame is not None else None
    if caller is None:
        return None
    # The innermost loop holding the call: an outer one of a few long iterations may
    # never look at its speed (montecarlo's loop over 5 temperatures waited for 2.7 s).
    loops = [
        const
        for const in caller.f_code.co_consts
        if isinstance(const, LoopTrampoline) and _encloses(const, caller.f_lineno)
    ]
    if loops:
        loop = max(loops, key=lambda candidate: candidate.spec.lineno)
        return loop if loop.armed and not loop.promotions else None
    trampoline = lookup_code(caller.f_code)
    if trampoline is None or not trampoline.armed or trampoline.promotions:
        return None
    admission = trampoline.promoter.admission
    if trampoline.signature_calls() < admission.screening_from():
        return None  # not hot: it may never decide
    code = trampoline.code
    values = caller.f_locals
    args = tuple(values.get(name) for name in code.co_varnames[: code.co_argcount])
    if methods.screen(code, args, trampoline.config.strings) or globals_refusal(trampoline, lookup):
        return None
    return trampoline


def _encloses(loop: LoopTrampoline, line: int | None) -> bool:
    """Whether ``line`` is one of ``loop``'s lines."""
    first = loop.spec.lineno
    return line is not None and first <= line <= first + loop.spec.source.count("\n")
