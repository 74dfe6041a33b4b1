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
import threading
import time
import types
from collections.abc import Callable
from typing import Any, NamedTuple

from autoaccel.analysis.attributes import source_attribute_uses
from autoaccel.analysis.loops import LoopSpec
from autoaccel.backends.loop_code import UNBOUND, LoopPlan, decode, plan_for
from autoaccel.backends.screening import argument_refusal
from autoaccel.backends.signatures import fingerprint
from autoaccel.backends.snapshot import snapshot_changed, snapshot_guard
from autoaccel.boundary.convert import (
    carries,
    convert,
    objects_refusal,
    release,
    restore,
    save,
    write_back,
)
from autoaccel.boundary.kinds import Unconvertible
from autoaccel.errors import Rejection
from autoaccel.lazy_numpy import loaded, np
from autoaccel.policy.site_types import SiteTypes
from autoaccel.runtime import methods

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
    """The state at one boundary: the plan, the compiled loop's arguments, and their key.

    ``frozen`` holds the function's own variables that hold code (``f = math.sqrt`` before
    the loop), as ``(name, value)``: the compiled loop reads them as frozen globals, so the
    key holds the values themselves and a run with another one is another variant.
    """

    plan: LoopPlan
    arguments: tuple
    key: tuple
    frozen: tuple[tuple[str, Any], ...] = ()
    natives: tuple = ()  # ``arguments`` as the compiled loop takes them (lists converted)
    methods: tuple = ()  # the methods it calls on its objects (runtime.methods.Method)

    def __enter__(self) -> Boundary:
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Decided at this boundary: the views of the caller's buffers are released
        (:func:`~autoaccel.boundary.convert.release`)."""
        if self.natives is not self.arguments:
            release(self.natives)


def is_data(value: Any) -> bool:
    """Whether a variable holds data (an argument of the compiled loop) rather than code
    (a function, module, class: frozen into the compiled loop as a global)."""
    code = (types.ModuleType, types.FunctionType, types.BuiltinFunctionType, type)
    if isinstance(value, code) or (loaded() and isinstance(value, np.ufunc)):
        return False
    return not hasattr(value, "py_func")


def boundary(
    spec: LoopSpec,
    namespace: dict,
    iterable: Any,
    position: Any,
    frame: dict,
    screen: Callable[[LoopPlan, tuple, tuple], str | None] | None = None,
) -> Boundary | str:
    """The state at a boundary, or why the loop cannot go compiled from here.

    Args:
        spec: the loop.
        namespace: its module's globals.
        iterable: the loop's ``range`` or array (``None`` for ``while``).
        position: the ``range`` value about to run, the array index, or 0.
        frame: the frame's variables.
        screen: ``screen(plan, frozen, arguments)`` says why the loop's code cannot be
            compiled for this plan and these arguments (a global Numba cannot freeze, a
            rejection a previous run kept), checked before any value is converted
            (converting imports Numba).

    Returns:
        A :class:`Boundary`, or why not yet: a variable the code after the loop may read has
        no value yet (a later boundary may do).

    Raises:
        Rejection: a variable's value cannot be passed to compiled code (see
            :func:`~autoaccel.backends.screening.argument_refusal`), or a list or buffer
            cannot be converted (:mod:`autoaccel.boundary.convert`).
    """
    params, values, frozen = [], [], []
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
        elif not spec.module_level and name in frame:
            frozen.append((name, value))  # a local holding code, shadowing any global
    # Lists and buffers are converted (their elements checked once, when the loop compiles:
    # screening a long list at every look would cost more than the loop).
    reason = argument_refusal(tuple(v for v in values if not carries((v,))))
    if reason:
        raise Rejection(f"a variable {reason}")
    # What the loop does with an object's attributes and the methods it calls on it, before
    # Numba is imported to compile.
    uses = source_attribute_uses(spec.source)
    resolved = methods.fold(values, [uses.get(name) for name in params])
    reason = resolved.reason or objects_refusal(values, resolved.uses, methods=True)
    if reason:
        raise Rejection(reason)
    plan = plan_for(spec, tuple(params), maybe, resolved.fields())
    arguments = (*leading(spec, iterable, position), *values)
    reason = screen(plan, tuple(frozen), arguments) if screen is not None else None
    if reason:
        raise Rejection(reason)
    natives = natives_of(arguments, plan.fields)
    # Keyed by Numba's view of the values: a float and a NumPy float64 are one variant (the
    # trial learns what types Python leaves in the variables).
    key = (plan.params, fingerprint(natives), tuple(value for _, value in frozen))
    return Boundary(plan, arguments, key, tuple(frozen), natives, resolved.methods)


def natives_of(arguments: tuple, fields: tuple = ()) -> tuple:
    """``arguments`` as the compiled loop takes them: lists, buffers and objects converted
    (objects with ``fields`` only: a plan's, see :class:`~autoaccel.backends.loop_code.LoopPlan`).

    Raises:
        Rejection: one cannot be converted this time (a ragged list of lists, an element
            of another class than the first's).
    """
    if not carries(arguments):
        return arguments
    try:
        return convert(arguments, fields)
    except Unconvertible as exc:
        raise Rejection(f"a variable {exc}") from None


class Route:
    """The short way from a boundary into a promoted variant, for the runs after the first.

    :func:`boundary` screens every variable and builds the plan again (~25 us); a run that
    finds the frame as the route's own did (the same variables bound, the same code in the
    function's variables holding code, arguments of the same Numba fingerprints) has the
    same plan and key, so it only needs the arguments (a few us).

    Args:
        spec: the loop.
        state: the boundary the variant was reached from.
        frame: that boundary's frame.
    """

    __slots__ = ("absent", "frozen", "key", "plan")

    def __init__(self, spec: LoopSpec, state: Boundary, frame: dict) -> None:
        self.key = state.key
        self.plan = state.plan
        self.frozen = state.frozen
        taken = set(state.plan.params) | {name for name, _ in state.frozen}
        # Variables the loop reads that were not bound: bound later, they change the plan.
        self.absent = tuple(n for n in spec.exposed if n not in taken and n not in frame)

    def arguments(
        self, spec: LoopSpec, namespace: dict, iterable: Any, position: Any, frame: dict
    ) -> tuple[tuple, tuple] | None:
        """The compiled loop's arguments at this boundary, as they are and converted, or
        ``None`` when the frame has changed in a way only :func:`boundary` can judge."""
        for name, value in self.frozen:
            if frame.get(name, UNBOUND) is not value:
                return None
        for name in self.absent:
            if name in frame:
                return None
        values = [value_of(spec, namespace, name, frame) for name in self.plan.params]
        arguments = (*leading(spec, iterable, position), *values)
        try:
            natives = natives_of(arguments, self.plan.fields)
        except Rejection:
            return None
        return (arguments, natives) if fingerprint(natives) == self.key[1] else None


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
    # Each handed-back variable's place among the params (-1: a maybe variable).
    slots = tuple(positions.get(name, -1) for name in plan.names)
    taken = len(plan.params)

    def read(result: tuple, arguments: tuple, before: dict) -> tuple[tuple, tuple, tuple]:
        values, sites = decode(plan, result)
        offset = len(arguments) - taken
        entries = tuple(
            arguments[offset + slot] if slot >= 0 else before.get(name, UNBOUND)
            for name, slot in zip(plan.names, slots, strict=True)
        )
        return values, sites, entries

    return read


class Lesson(NamedTuple):
    """A compiled run that handed back for an assignment site of no known type, kept in
    the loop's window slot until Python's run of the same iterations ends and teaches the
    site's type (:meth:`~autoaccel.policy.site_types.SiteTypes.learn_from_rerun`): the
    trial's windows see the first iterations of a few runs only, and a site they never
    reached (a reset, a stock-out) made every later run that reached it go back to Python,
    ten in a row dropping the variant.

    Attributes:
        variant: the :class:`LoopVariant` that ran.
        kind: how the compiled run ended (the rerun must end the same way).
        names, values, sites: the handed-back variables, their compiled values and sites.
        owner: the thread that runs the loop, and 0 (as a window's owner is read).
    """

    variant: Any
    kind: int
    names: tuple
    values: tuple
    sites: tuple
    owner: tuple

    def teach(self, kind: int, frame: dict, spec: LoopSpec, namespace: dict) -> None:
        """Python's run ended (``kind``) with ``frame``, its variables (``namespace``: the
        module's globals)."""
        if kind == self.kind:
            python = tuple(value_of(spec, namespace, name, frame) for name in self.names)
            self.variant.site_types.learn_from_rerun(self.names, self.values, self.sites, python)


class LoopVariant:
    """A promoted compiled loop: its entry, the arguments it may write, its sites' types.

    Args:
        entry: the compiled loop.
        written: positions of the arguments it may write.
        site_types: the Python types its assignment sites leave in the variables.
        snapshot: the globals it froze (:mod:`autoaccel.backends.snapshot`).

    Attributes:
        handbacks: compiled runs handed back to Python in a row.
        runs: compiled runs that finished the loop.
        seconds: the wall time of those runs (seconds).
        speedup: the speed-up its trial measured (ratio), for :mod:`.warm_start`'s account
            of what it saved.
        stale: ``stale()`` is true once a global it froze has changed (``None``: it froze
            none); a stale variant must not run again.
    """

    def __init__(
        self,
        entry: Any,
        written: tuple[int, ...],
        site_types: SiteTypes,
        snapshot: tuple = (),
        speedup: float = 1.0,
    ) -> None:
        self.entry = entry
        self.written = written
        self.site_types = site_types
        self.snapshot = snapshot
        self.stale = snapshot_guard(snapshot)
        self.handbacks = 0
        self.runs = 0
        self.seconds = 0.0
        self.speedup = speedup
        self._read: Reader | None = None
        self._live: tuple[int, ...] = ()  # each live-out variable's place in plan.names
        self.lesson: Lesson | None = None  # the last run's, when it handed back to learn

    def changed(self) -> str | None:
        """The name of a frozen global that no longer holds its value, or ``None``.

        Python code runs between compiled runs (the code around the loop, other calls), and
        it may rebind a global that a helper of the loop read when it was compiled.
        """
        if self.stale is None or not self.stale():
            return None
        return snapshot_changed(self.snapshot) or "?"

    def run(self, spec: LoopSpec, plan: LoopPlan, arguments: tuple, natives: tuple) -> Exit | None:
        """Run the loop compiled to its end: its :class:`Exit`, or ``None`` (handed back).

        Handed back when a checked operation gives up, the code raises, or a variable's
        Python type is not certain; the arrays and buffers it may have written hold their
        values from before the run again (a converted list's storage is its own until
        written back), so Python goes on from the same iteration.

        Args:
            spec, plan: the loop and the variant's plan.
            arguments: the compiled loop's arguments, as the frame holds them.
            natives: the same converted (:func:`natives_of`).
        """
        saved = [(i, save(natives[i])) for i in self.written]
        self.lesson = None  # a run that raises teaches nothing
        started = time.perf_counter()
        try:
            result = self.entry(*natives)
            self.seconds += time.perf_counter() - started
            if self._read is None:  # one plan per variant: its key holds the params
                self._read = reader(plan)
                self._live = tuple(
                    plan.names.index(n) if n in plan.names else -1 for n in spec.live_out
                )
            values, sites, entries = self._read(result, arguments, {})
            converted = self.site_types.convert(plan.names, values, sites, entries)
            if converted is None and self.site_types.unknown(plan.names, values, sites):
                owner = (threading.get_ident(), 0)
                self.lesson = Lesson(self, result[0], plan.names, values, sites, owner)
        except Exception:  # a checked operation gave up, or the code raised: Python answers
            converted = None
        if converted is None:
            for position, copy in saved:
                restore(natives[position], copy)
            if natives is not arguments:
                release(natives)
            self.handbacks += 1
            return None
        if natives is not arguments:
            write_back(natives, self.written)
            release(natives)
        self.runs += 1
        self.handbacks = 0
        live = tuple(converted[i] if i >= 0 else UNBOUND for i in self._live)
        return Exit(result[0], result[1], live)
