"""A loop's iteration boundary: what a compiled run of the loop takes, and what it gives back.

At a boundary the instrumentation hands over the frame's variables (``locals()``). The
variables the loop binds, and those it reads that hold data, become the compiled loop's
arguments; what it reads that is code (a function, a module, a class) stays a global, frozen
into the variant like any function's (docs/divergences.md, row 27). After a compiled run, the
variables it binds are handed back for the instrumentation to write into the frame, unless
one's type could differ from what CPython leaves there, in which case the run is handed back
to Python with the arrays restored (see :meth:`LoopVariant.run`).
"""

from __future__ import annotations

import builtins
import types
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from autoaccel.analysis.loops import LoopSpec
from autoaccel.backends.loop_code import UNBOUND, LoopPlan, decode, plan_for
from autoaccel.backends.screening import argument_refusal
from autoaccel.backends.signatures import fingerprint
from autoaccel.backends.snapshot import Snapshot, snapshot_changed, snapshot_guard
from autoaccel.errors import Rejection
from autoaccel.policy.compare import copy_value, restore_value
from autoaccel.policy.site_types import SiteTypes

# A budget that never runs out: Python (or the compiled loop) finishes this run of the loop.
NEVER = 1 << 62


class Exit(NamedTuple):
    """How a compiled run of a loop ended, for the instrumentation.

    Attributes:
        kind: ``BROKE`` (a ``break``), ``RETURNED`` (a ``return``) or ``ENDED``.
        value: for ``RETURNED``, the number of the ``return`` statement that ended it.
        values: the loop's live-out variables, in the order of ``LoopSpec.live_out``
            (:data:`UNBOUND` for one to leave as it is).
    """

    kind: int
    value: int
    values: tuple


class Boundary(NamedTuple):
    """The state at one boundary: the plan, the compiled loop's arguments, and their key."""

    plan: LoopPlan
    arguments: tuple
    key: tuple


def is_data(value: Any) -> bool:
    """Whether a variable holds data (an argument of the compiled loop) rather than code
    (a function, module, class: frozen into the compiled loop as a global)."""
    code = (types.ModuleType, types.FunctionType, types.BuiltinFunctionType, type, np.ufunc)
    return not isinstance(value, code) and not hasattr(value, "py_func")


def boundary(
    spec: LoopSpec, namespace: dict, iterable: Any, position: Any, frame: dict
) -> Boundary | str:
    """The state at a boundary, or why the loop cannot go compiled from here.

    Args:
        spec: the loop.
        namespace: its module's globals.
        iterable: the loop's ``range`` or array (``None`` for ``while``).
        position: the ``range`` value about to run, the array index, or 0.
        frame: the frame's variables.

    Returns:
        A :class:`Boundary`, or why not yet: a variable the code after the loop may read has
        no value yet (a later boundary may do).

    Raises:
        Rejection: a variable's value cannot be passed to compiled code (see
            :func:`~autoaccel.backends.screening.argument_refusal`).
    """
    params, values = [], []
    # A live-out variable an iteration never reads before binding it needs no value from
    # here: the run hands it back if it binds it, and leaves it as it is otherwise. The
    # plan is then the same at every boundary, whether or not it is bound yet.
    maybe = tuple(name for name in spec.live_out if name not in spec.exposed)
    for name in spec.exposed:
        value = value_of(spec, namespace, name, frame)
        if value is UNBOUND:
            if name in spec.assigned:
                return f"{name} has no value yet"
            continue  # a NameError to come in Python: the compiled loop will refuse it too
        if name in spec.assigned or is_data(value):
            params.append(name)
            values.append(value)
    reason = argument_refusal(tuple(values))
    if reason:
        raise Rejection(f"a variable {reason}")
    arguments = (*leading(spec, iterable, position), *values)
    plan = plan_for(spec, tuple(params), maybe)
    # Keyed by Numba's view of the values: a float and a NumPy float64 are one variant (the
    # trial learns what types Python leaves in the variables).
    return Boundary(plan, arguments, (plan.params, fingerprint(arguments)))


def value_of(spec: LoopSpec, namespace: dict, name: str, frame: dict) -> Any:
    """The value of variable ``name`` at a boundary: the frame's, else the module's (a
    global the function declares ``global``, or a builtin), else :data:`UNBOUND`."""
    if name in frame:
        return frame[name]
    if not spec.module_level and name in namespace:
        return namespace[name]
    return getattr(builtins, name, UNBOUND)


def leading(spec: LoopSpec, iterable: Any, position: Any) -> tuple:
    """The compiled loop's position arguments, and its budget (:data:`NEVER`)."""
    if spec.kind == "range":
        return (position, iterable.stop, iterable.step, NEVER)
    if spec.kind == "iter":
        return (iterable, position, NEVER)
    return (NEVER,)


def readable(plan: LoopPlan, signature: tuple) -> str:
    """``"(x: array(float64, 1d, C), total: float64)"``: the loop's variables and types."""
    kinds = signature[len(signature) - len(plan.params) :]
    return "(" + ", ".join(f"{n}: {k}" for n, k in zip(plan.params, kinds, strict=True)) + ")"


Reader = Callable[[tuple, tuple, dict], tuple[tuple, tuple, tuple]]


def reader(plan: LoopPlan) -> Reader:
    """``read(result, arguments, before) -> (values, sites, entries)`` for runs of ``plan``.

    ``entries`` are the variables' values before the run: in ``arguments``, or for a
    ``maybe`` variable in ``before`` (name -> value; :data:`UNBOUND`, "leave it as it is",
    when absent).
    """
    positions = {name: i for i, name in enumerate(plan.params)}

    def read(result: tuple, arguments: tuple, before: dict) -> tuple[tuple, tuple, tuple]:
        values, sites = decode(plan, result)
        offset = len(arguments) - len(plan.params)
        entries = tuple(
            arguments[offset + positions[name]] if name in positions else before.get(name, UNBOUND)
            for name in plan.names
        )
        return values, sites, entries

    return read


class LoopVariant:
    """A promoted compiled loop: its entry, the arguments it may write, its sites' types.

    Attributes:
        handbacks: compiled runs handed back to Python in a row.
        runs: compiled runs that finished the loop.
        snapshot: the globals the compiled loop and its helpers froze (docs/divergences.md,
            row 27); checked before every compiled run by :meth:`changed`.
    """

    def __init__(
        self,
        entry: Any,
        written: tuple[int, ...],
        site_types: SiteTypes,
        snapshot: Snapshot = (),
    ) -> None:
        self.entry = entry
        self.written = written
        self.site_types = site_types
        self.snapshot = snapshot
        self._stale = snapshot_guard(snapshot)
        self.handbacks = 0
        self.runs = 0

    def changed(self) -> str | None:
        """The name of a frozen global that no longer holds its value, or ``None``.

        Python code runs between compiled runs (the code around the loop, other calls), and
        it may rebind a global that a helper of the loop read when it was compiled.
        """
        if self._stale is None or not self._stale():
            return None
        return snapshot_changed(self.snapshot) or "?"

    def run(self, spec: LoopSpec, plan: LoopPlan, arguments: tuple) -> Exit | None:
        """Run the loop compiled to its end: its :class:`Exit`, or ``None`` (handed back).

        Handed back when a checked operation gives up, the code raises, or a variable's
        Python type is not certain; the arrays it may have written hold their values from
        before the run again, so Python goes on from the same iteration.
        """
        saved = [(i, copy_value(arguments[i])) for i in self.written]
        try:
            result = self.entry(*arguments)
            values, sites, entries = reader(plan)(result, arguments, {})
            converted = self.site_types.convert(plan.names, values, sites, entries)
        except Exception:  # a checked operation gave up, or the code raised: Python answers
            converted = None
        if converted is None:
            for position, copy in saved:
                restore_value(arguments[position], copy)
            self.handbacks += 1
            return None
        self.runs += 1
        self.handbacks = 0
        by_name = dict(zip(plan.names, converted, strict=True))
        return Exit(result[0], result[1], tuple(by_name.get(n, UNBOUND) for n in spec.live_out))
