"""Compiling with the range analysis: Numba's nopython pipeline, one pass more, and a lowering
that leaves proven accesses unchecked.

Why this design: Numba decides bounds checking per compile (``boundscheck=True`` makes every
``getitem`` and ``setitem`` on an array compare its index with the length and raise
``IndexError``); the check is emitted where the access is lowered, from the target context's
``enable_boundscheck`` (``numba/np/arrayobj.py``'s ``basic_indexing``). The pass here runs
right after type inference, while the IR is still in SSA form, and asks
:mod:`autoaccel.backends.ranges` which accesses are in bounds. It then

* inserts each guard the analysis placed before a loop: one call of :func:`range_guard`,
  an intrinsic that evaluates the guard's conditions in 128-bit integers (no overflow) and
  raises :class:`~autoaccel.errors.Deoptimize` when they fail, so the original runs;
* replaces each checked int operation (:mod:`autoaccel.backends.checked_ops`) whose result
  cannot leave int64 by Numba's plain operator;
* records the accesses that no longer need their check; the lowering turns the context's
  ``enable_boundscheck`` off while it lowers exactly those statements.

A guard the pass cannot insert leaves its accesses checked. ``NUMBA_BOUNDSCHECK`` (Numba's
environment override) still applies to every access.
"""

from __future__ import annotations

import json
import logging
import operator
from typing import Any, NamedTuple, cast

from llvmlite import ir as llvm_ir
from numba.core import cgutils, config, ir, types
from numba.core.compiler import CompilerBase, DefaultPassBuilder
from numba.core.compiler_machinery import FunctionPass, register_pass
from numba.core.ir_utils import mk_unique_var
from numba.core.lowering import Lower
from numba.core.typed_passes import NativeLowering, NopythonTypeInference
from numba.extending import intrinsic
from numba.np.arrayobj import make_array

from autoaccel.backends import ranges
from autoaccel.backends.range_facts import Atom, Facts
from autoaccel.backends.range_terms import ZERO
from autoaccel.errors import Deoptimize

logger = logging.getLogger("autoaccel")

SUMMARY = "autoaccel_ranges"  # the overload's metadata key of a :class:`Summary`
_UNCHECKED = "autoaccel_unchecked"  # metadata key: id(statement) -> statement
_OPERATORS = {"add": operator.add, "sub": operator.sub, "mul": operator.mul}


class Summary(NamedTuple):
    """What the range analysis did to one compiled function (kept in its metadata).

    Attributes:
        accesses: ``(line, array, status)`` per array access, status ``"proven"``,
            ``"guarded"`` or ``"checked"``.
        guards: how many guards were inserted before loops.
        exact: ``(line, operation)`` per checked int operation made plain.
        unchecked: ``id()`` of the IR statements lowered without a bounds check.
    """

    accesses: tuple[tuple[int, str, str], ...]
    guards: int
    exact: tuple[tuple[int, str], ...]
    unchecked: frozenset[int]


@register_pass(mutates_CFG=False, analysis_only=False)
class RangePass(FunctionPass):
    """Runs the range analysis and applies it (see the module docstring)."""

    _name = "autoaccel_ranges"

    def __init__(self) -> None:
        FunctionPass.__init__(self)

    def run_pass(self, state: Any) -> bool:
        func_ir = state.func_ir
        override = getattr(config, "BOUNDSCHECK", None)  # NUMBA_BOUNDSCHECK, over the flag
        checking = bool(state.flags.boundscheck if override is None else override)
        analysis = ranges.analyse(func_ir.blocks, state.typemap, checking, _suspension(func_ir))
        placed = {
            block
            for block, clauses in analysis.guards.items()
            if checking and _insert_guard(state, analysis.facts, block, clauses)
        }
        unchecked = {
            id(access.statement): access.statement
            for access in analysis.accesses
            if access.status == "proven" or (access.status == "guarded" and access.guard in placed)
        }
        exact = [(stmt.loc.line, op) for stmt, op in analysis.exact if _make_plain(state, stmt, op)]
        state.metadata[_UNCHECKED] = unchecked
        state.metadata[SUMMARY] = Summary(
            tuple(
                (
                    a.line,
                    a.array,
                    a.status if a.status != "guarded" or a.guard in placed else "checked",
                )
                for a in analysis.accesses
            ),
            len(placed),
            tuple(exact),
            frozenset(unchecked),
        )
        return bool(placed or exact)


def _suspension(func_ir: Any) -> str:
    """The budget argument of a compiled loop (:mod:`autoaccel.backends.loop_code` names its
    function ``<prefix>loop`` and the argument ``<prefix>budget``), else ``""``."""
    name = func_ir.func_id.func_name
    budget = name[: -len("loop")] + "budget" if name.endswith("loop") else ""
    return budget if budget in func_ir.arg_names else ""


def _insert_guard(state: Any, facts: Facts, block: int, clauses: list) -> bool:
    """Put a :func:`range_guard` call at the end of ``block``; ``False`` if it cannot."""
    values: list[str] = []
    try:
        spec = json.dumps(
            [[_atoms(c.nonempty, facts, values), _atoms(c.goals, facts, values)] for c in clauses]
        )
        target = func_block = state.func_ir.blocks[block]
        loc = func_block.terminator.loc
        scope = func_block.scope
        typemap, context = state.typemap, state.typingctx
        function = ir.Var(scope, mk_unique_var("$aa_range_guard"), loc)
        text = ir.Var(scope, mk_unique_var("$aa_range_spec"), loc)
        items = ir.Var(scope, mk_unique_var("$aa_range_values"), loc)
        result = ir.Var(scope, mk_unique_var("$aa_range_ok"), loc)
        operands = [ir.Var(scope, name, loc) for name in values]
        call = ir.Expr.call(function, [text, items], (), loc)
        typemap[function.name] = context.resolve_value_type(range_guard)
        typemap[text.name] = types.literal(spec)
        typemap[items.name] = types.BaseTuple.from_types([typemap[name] for name in values])
        signature = context.resolve_function_type(
            typemap[function.name], (typemap[text.name], typemap[items.name]), {}
        )
        if signature is None:
            return False
        state.calltypes[call] = signature
        typemap[result.name] = signature.return_type
        for stmt in (
            ir.Assign(ir.Global("range_guard", range_guard, loc), function, loc),
            ir.Assign(ir.Const(spec, loc), text, loc),
            ir.Assign(ir.Expr.build_tuple(operands, loc), items, loc),
            ir.Assign(call, result, loc),
        ):
            target.insert_before_terminator(stmt)
    except Exception:  # a guard we cannot build leaves its accesses checked
        logger.debug("range guard not inserted", exc_info=True)
        return False
    return True


def _atoms(atoms: tuple[Atom, ...], facts: Facts, values: list[str]) -> list:
    return [[_term(a.left, facts, values), _term(a.right, facts, values), a.offset] for a in atoms]


def _term(term: tuple, facts: Facts, values: list[str]) -> list:
    """A term as the guard's spec names it, with its variables added to ``values``."""

    def position(name: str | None) -> int | None:
        if name is None:
            return None
        if name not in values:
            values.append(name)
        return values.index(name)

    if term == ZERO:
        return ["0"]
    if term[0] == "-":
        return ["-", _term(term[1], facts, values)]
    if term[0] == "v":
        return ["v", position(term[1])]
    if term[0] == "len":
        return ["len", position(term[1]), term[2]]
    start, stop, step = facts.ranges_by_value[term[1]].arguments
    return [term[0], position(start), position(stop), position(step)]


def _make_plain(state: Any, stmt: ir.Assign, operation: str) -> bool:
    """Replace a checked int operation's call by Numba's operator; ``False`` if typing differs."""
    call: Any = stmt.value
    loc = call.loc
    argument_types = tuple(state.typemap[arg.name] for arg in call.args)
    if operation == "negative":
        function: Any = operator.neg
        plain = ir.Expr.unary(operator.neg, call.args[0], loc)
    else:
        function = _OPERATORS[operation]
        plain = ir.Expr.binop(function, call.args[0], call.args[1], loc)
    signature = state.typingctx.resolve_function_type(function, argument_types, {})
    if signature is None or signature.return_type != state.typemap[stmt.target.name]:
        return False
    state.calltypes[plain] = signature
    stmt.value = plain
    return True


@intrinsic
def range_guard(typingctx: Any, spec: Any, values: Any) -> Any:
    """Deoptimize unless every clause of ``spec`` holds (compiled code only).

    ``spec`` is a JSON string literal: a list of clauses ``[nonempty, goals]``, each a list
    of atoms ``[left, right, offset]`` meaning ``left <= right + offset``. A clause holds
    when an atom of ``nonempty`` fails (its loop runs no iteration) or every goal holds.
    Terms: ``["0"]``, ``["v", i]`` (item ``i`` of ``values``), ``["len", i, axis]`` (a
    dimension of the array item ``i``), ``["lo" | "hi", start, stop, step]`` (the smallest
    or largest value of ``range(start, stop, step)``, items or ``None``).
    """
    if not isinstance(spec, types.StringLiteral) or not isinstance(values, types.BaseTuple):
        return None

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        clauses = json.loads(spec.literal_value)
        kinds = tuple(cast(Any, values).types)  # the tuple's item types
        items = cgutils.unpack_tuple(builder, args[1], len(kinds))
        evaluate = _Evaluator(context, builder, kinds, items)
        failed = cgutils.false_bit
        for nonempty, goals in clauses:
            runs = evaluate.all(nonempty)
            holds = builder.or_(builder.not_(runs), evaluate.all(goals))
            failed = builder.or_(failed, builder.not_(holds))
        with cgutils.if_unlikely(builder, failed):
            context.call_conv.return_user_exc(builder, Deoptimize, ("a range guard failed",))
        return context.get_dummy_value()

    return types.none(spec, values), codegen


class _Evaluator:
    """LLVM values of a guard's terms and atoms, in 128-bit integers."""

    def __init__(self, context: Any, builder: Any, kinds: tuple, items: list) -> None:
        self.context = context
        self.builder = builder
        self.kinds = kinds
        self.items = items
        self.wide = llvm_ir.IntType(128)

    def all(self, atoms: list) -> Any:
        result = cgutils.true_bit
        for left, right, offset in atoms:
            bound = self.builder.add(self.term(right), self.wide(offset))
            result = self.builder.and_(
                result, self.builder.icmp_signed("<=", self.term(left), bound)
            )
        return result

    def term(self, code: list) -> Any:
        builder, wide = self.builder, self.wide
        if code[0] == "0":
            return wide(0)
        if code[0] == "-":
            return builder.neg(self.term(code[1]))
        if code[0] == "v":
            return builder.sext(self.items[code[1]], wide)
        if code[0] == "len":
            kind = self.kinds[code[1]]
            array = make_array(kind)(self.context, builder, self.items[code[1]])
            shape = cgutils.unpack_tuple(builder, array.shape, kind.ndim)
            return builder.sext(shape[code[2]], wide)
        start, stop, step = (
            wide(0) if i is None else builder.sext(self.items[i], wide) for i in code[1:]
        )
        if code[3] is None:
            step = wide(1)
        rising = builder.icmp_signed(">", step, wide(0))
        if code[0] == "lo":
            return builder.select(rising, start, builder.add(stop, wide(1)))
        return builder.select(rising, builder.sub(stop, wide(1)), start)


class _Lower(Lower):
    """Numba's lowering, without the bounds check of the statements the pass proved."""

    def lower_inst(self, inst: Any) -> None:
        if id(inst) not in self.metadata.get(_UNCHECKED, ()):
            super().lower_inst(inst)
            return
        context = self.context
        checking = context._boundscheck
        context._boundscheck = False
        try:
            super().lower_inst(inst)
        finally:
            context._boundscheck = checking


@register_pass(mutates_CFG=True, analysis_only=False)
class RangeLowering(NativeLowering):
    """Numba's native lowering with :class:`_Lower`."""

    _name = "autoaccel_range_lowering"

    @property
    def lowering_class(self) -> type:
        return _Lower


class RangeCompiler(CompilerBase):
    """Numba's nopython pipeline with :class:`RangePass` after type inference and
    :class:`RangeLowering` for lowering (``numba.njit(pipeline_class=RangeCompiler)``)."""

    def define_pipelines(self) -> list:
        manager = DefaultPassBuilder.define_nopython_pipeline(self.state)
        manager.add_pass_after(RangePass, NopythonTypeInference)
        manager.passes = [
            (RangeLowering, description)
            if pass_class is NativeLowering
            else (pass_class, description)
            for pass_class, description in manager.passes
        ]
        manager.finalize()
        return [manager]
