"""A loop's compile unit: the function generated for one plan, as the back-ends see it.

The back-ends compile functions (:func:`autoaccel.backends.cpu.build`): a loop is given to
them as the function :func:`~autoaccel.backends.loop_code.loop_code` generates from it
(its live-ins as parameters, its live-outs returned), with the attributes a function's
trampoline has for them (name, globals, config, where its decisions are kept).
"""

from __future__ import annotations

from typing import Any

from autoaccel.backends.loop_code import LoopPlan, loop_code
from autoaccel.policy.site_types import SiteTypes
from autoaccel.runtime.saved import SavedDecisions


class LoopUnit:
    """One plan's compile unit: the generated function, as the back-ends and the cache see it.

    Args:
        loop: the loop (its :class:`~autoaccel.runtime.loop.LoopTrampoline`: name,
            qualname, module, globals, config, min_gain, spec and filename are read).
        plan: the variables in and out.
        frozen: the function's variables that hold code, ``(name, value)``: the compiled
            loop reads them as globals of these values (a boundary's ``frozen``).

    Attributes:
        code: the function :func:`~autoaccel.backends.loop_code.loop_code` generated.
        globals: the module's globals, or a copy with ``frozen`` over them.
        saved: where its decisions are kept.
    """

    def __init__(self, loop: Any, plan: LoopPlan, frozen: tuple = ()) -> None:
        self.plan = plan
        self.name = loop.name
        self.qualname = loop.qualname
        self.module = loop.module
        self.namespace = loop.globals
        self.frozen = frozen
        self.globals = {**loop.globals, **dict(frozen)} if frozen else loop.globals
        self.config = loop.config
        self.min_gain = loop.min_gain
        self.code = loop_code(loop.spec, plan, loop.filename)
        self.refusal: str | None = None
        self.compiled: Any = None
        self.saved = SavedDecisions(self, SiteTypes.plain, SiteTypes.from_plain)

    def required_gain(self) -> float:
        """The speed-up the loop's variant must reach."""
        return self.min_gain

    def refresh(self) -> None:
        """Bring the copy under ``frozen`` up to date with the module's globals (before a
        build: a global may have changed since the copy was made)."""
        if self.globals is not self.namespace:
            self.globals.clear()
            self.globals.update(self.namespace)
            self.globals.update(dict(self.frozen))

    def live_snapshot(self, snapshot: tuple) -> tuple:
        """``snapshot`` read from the module's own globals instead of the copy under
        ``frozen``, except for the ``frozen`` names themselves: those stay read from the copy
        (they hold by construction: the key carries their values) and still name the
        variant's code, on disk as in memory."""
        if self.globals is self.namespace:
            return snapshot
        names = {name for name, _ in self.frozen}
        return tuple(
            (self.namespace, name, value)
            if owner is self.globals and name not in names
            else (owner, name, value)
            for owner, name, value in snapshot
        )
