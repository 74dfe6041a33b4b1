"""Calls of a function taking ``*args`` or ``**kwargs``, dispatched by their shape.

Why this design: such a function's prologue passes what CPython bound (the ``*args`` tuple
and the ``**kwargs`` dict among them). :class:`BoundForms` reads the call's shape (how many
values ``*args`` holds, which keywords ``**kwargs`` has, in call order) and hands the call,
flattened, to a trampoline of its own for that shape, over the function's bound form
(:mod:`autoaccel.analysis.bound`). That trampoline counts, compiles, validates and promotes
like any function's; each ``*args`` element is screened as an argument of its own, so a
list passed through ``*args`` is refused as any list is (docs/divergences.md, row 24).
The function asks its owner (the trampoline) to make the shape's trampolines, so this module
depends on nothing above it.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

from autoaccel.analysis.bound import Refused, Shape, bound_form, describe, shape_of
from autoaccel.runtime.variant import MISS

logger = logging.getLogger("autoaccel")

MAX_FORMS = 8  # shapes per function with a trampoline of their own; others run as Python


class Owner(Protocol):
    """What the bound forms need of their function (a trampoline is one)."""

    name: str
    code: Any
    armed: bool

    def bound_trampoline(self, code: Any, suffix: str, refusal: str | None, arity: int) -> Any:
        """A registered trampoline for one shape's bound form ``code``."""


class BoundForms:
    """One function's trampolines per call shape.

    Attributes:
        forms: shape -> its trampoline (disarmed, with the reason, where no bound form exists).
    """

    def __init__(self, owner: Owner) -> None:
        self.owner = owner
        self.forms: dict[Shape, Any] = {}

    def enter(self, *bound: Any) -> Any:
        """What the prologue calls with the bound arguments: a result, or :data:`MISS`."""
        found = shape_of(self.owner.code, bound)
        if found is None:
            return MISS
        shape, arguments = found
        form = self.forms.get(shape)
        if form is None:
            if len(self.forms) >= MAX_FORMS:  # a shape beyond the first ones: plain Python
                return MISS
            form = self._new(shape, len(bound))
        if not form.armed:
            self._disarm_if_done()
            return MISS
        return form.enter(*arguments)

    def _new(self, shape: Shape, arity: int) -> Any:
        """The registered trampoline of a shape seen for the first time."""
        code, refusal = self.owner.code, None
        try:
            code = bound_form(self.owner.code, shape)
        except Refused as exc:
            refusal = str(exc)
        form = self.owner.bound_trampoline(code, describe(shape), refusal, arity)
        self.forms[shape] = form
        logger.debug("%s: bound form %s", self.owner.name, describe(shape))
        return form

    def _disarm_if_done(self) -> None:
        """No prologue call at all once every shape it may meet is plain Python."""
        if len(self.forms) >= MAX_FORMS and not any(f.armed for f in self.forms.values()):
            self.owner.armed = False

    def described(self) -> str:
        """The report's reason for the function itself: where its calls went."""
        shapes = ", ".join(describe(shape) for shape in self.forms) or "none yet"
        full = (
            f"; shapes beyond these {MAX_FORMS} run as Python"
            if len(self.forms) >= MAX_FORMS
            else ""
        )
        return f"takes *args or **kwargs: compiled per call shape, listed as bound forms ({shapes}){full}"
