"""The trampoline of one value specialization (see :mod:`autoaccel._value_spec`).

Why a subclass: a value-specialized variant goes through everything a function's variant
goes through (compile, typed-IR checks, isolated first run, trial against the original
body, decision saved on disk, variant cache), so it is a :class:`Trampoline` over the
specialized code. What differs is small: it is reached only through its function's
:class:`~autoaccel._value_spec.Router` (never by a prologue), it counts against its
function's ``max_variants``, and its ``min_gain`` is relative to the generic variant.
"""

from __future__ import annotations

import types

from autoaccel._trampoline import Trampoline, dispatch_seconds, register
from autoaccel._value_spec import ValueKey, describe_values, specialized_code
from autoaccel._variant_table import TABLE


class ValueTrampoline(Trampoline):
    """A trampoline over ``parent``'s code with the arguments at ``positions`` frozen.

    Its ``name`` is the parent's with the values appended (``"mod.signal[ma_type='EMA']"``),
    and its ``min_gain`` is the specialization's ``min_gain`` times the speed-up that the
    parent's generic variant for ``types_`` measured (1 when there is none), so it is
    promoted only when it beats the generic variant by that factor.

    Args:
        parent: the function's trampoline.
        types_: the parent signature's argument types.
        positions: frozen argument positions; key: their ``(type, value)`` pairs.

    Raises:
        Refused: the code cannot be specialized on those arguments.
    """

    def __init__(
        self, parent: Trampoline, types_: tuple, positions: tuple[int, ...], key: ValueKey
    ) -> None:
        code: types.CodeType = specialized_code(parent.code, positions, key)
        qualname = parent.qualname + describe_values(parent.code, positions, key)
        super().__init__(parent.module, code, parent.globals, parent.config, None, qualname)
        self.parent = parent
        self.parent_types = types_
        self.family = parent.family
        self._specialize = parent._specialize  # nested values follow the function's setting
        self.reported = parent.reported
        self.min_calls = 1  # the router has counted min_calls calls with this value already
        options = TABLE.options
        if options.min_gain is not None:
            self.min_gain = options.min_gain

    def dispatch_seconds(self, arity: int) -> float:
        """Its own dispatch plus the parent's, which every call pays before the router (s).

        The router's value lookup comes on top and is not counted: a lower bound.
        """
        return dispatch_seconds(arity) + dispatch_seconds(len(self.parent_types))

    def _fail(self, key: tuple, types_: tuple, reason: str, signature: str = "") -> None:
        super()._fail(key, types_, reason, signature)
        if not self.armed:
            self.parent.specialization_failed(self.parent_types)

    @property
    def min_gain(self) -> float:
        """The speed-up over the original it must reach: min_gain x the generic's speed-up."""
        return self._base_gain * self.parent.generic_speedup(self.parent_types)

    @min_gain.setter
    def min_gain(self, value: float) -> None:
        self._base_gain = value


def make(
    parent: Trampoline, types_: tuple, positions: tuple[int, ...], key: ValueKey
) -> ValueTrampoline | None:
    """A registered :class:`ValueTrampoline`, or ``None`` (the reason is logged on ``parent``)."""
    from autoaccel._value_spec import Refused

    try:
        sub = ValueTrampoline(parent, types_, positions, key)
    except Refused as exc:
        parent.note_specialization_refused(str(exc))
        parent.specialization_failed(types_, every_value=True)
        return None
    register([sub])
    return sub
