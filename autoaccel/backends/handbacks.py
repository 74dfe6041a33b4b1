"""Hand-backs after writes: which written arguments a promoted call must copy first.

Why this design: a promoted call that is handed back (a checked operation deoptimizes, a
range guard fails, an access out of bounds raises, the code raises) runs the original on the
same arguments, so an argument the variant wrote before the hand-back must first be restored
(:class:`~autoaccel.runtime.variant.Variant` copies it before each call). An argument whose
every write comes after the last point that can hand back needs no copy: nothing can undo the
call once it wrote. This module reads the typed IR for the statements that can raise and
follows the control-flow graph from each write: a write from which a raising statement can
be reached (later in its block, or in any block reachable after it, loops included) needs
the copy. Statements that cannot raise are few and listed (copies, constants, float
arithmetic, comparisons of numbers, proven array accesses, range iteration, array
attributes); everything else counts as raising, calls included.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable
from typing import Any

from numba.core import ir, types
from numba.core.analysis import compute_cfg_from_blocks

_QUIET_VALUES = (ir.Var, ir.Const, ir.Global, ir.FreeVar, ir.Arg)
_QUIET_EXPRESSIONS = {"cast", "phi", "build_tuple", "pair_first", "pair_second", "getattr"}
_QUIET_OPERATORS = {operator.add, operator.sub, operator.mul, operator.neg, operator.not_}
_QUIET_OPERATORS |= {operator.lt, operator.le, operator.gt, operator.ge, operator.eq, operator.ne}
_QUIET_BUILTINS = {len, range, bool}


def copied(
    blocks: dict[int, ir.Block],
    writes: dict[int, set[int]],
    may_raise: Callable[[Any], bool],
) -> set[int]:
    """Positions of the arguments written where a hand-back can still follow.

    Args:
        blocks: the typed IR's blocks.
        writes: ``id(statement)`` -> positions of the arguments it may write.
        may_raise: whether a statement can raise (see :func:`raises`).
    """
    cfg = compute_cfg_from_blocks(blocks)
    raising = {label for label, block in blocks.items() if any(map(may_raise, block.body))}
    needed: set[int] = set()
    for label, block in blocks.items():
        for index, stmt in enumerate(block.body):
            positions = writes.get(id(stmt))
            if not positions or positions <= needed:
                continue
            later = block.body[index:] if isinstance(stmt, ir.Assign) else block.body[index + 1 :]
            if any(map(may_raise, later)) or _reaches(cfg, label, raising):
                needed |= positions
    return needed


def _reaches(cfg: Any, start: int, targets: set[int]) -> bool:
    """Whether a block of ``targets`` can run after block ``start`` (itself again included)."""
    seen: set[int] = set()
    pending = [successor for successor, _ in cfg.successors(start)]
    while pending:
        label = pending.pop()
        if label in targets:
            return True
        if label not in seen:
            seen.add(label)
            pending.extend(successor for successor, _ in cfg.successors(label))
    return False


def raises(stmt: Any, typemap: dict[str, Any], calltypes: Any, unchecked: Iterable[int]) -> bool:
    """Whether ``stmt`` can raise (or deoptimize), conservatively.

    Args:
        stmt: an IR statement.
        typemap: variable name -> Numba type.
        calltypes: the typed IR's call signatures (by expression).
        unchecked: ``id()`` of the array accesses compiled without a bounds check (proven
            in bounds by :mod:`autoaccel.backends.ranges`).
    """
    if isinstance(stmt, (ir.Jump, ir.Branch, ir.Return, ir.Del)):
        return False
    if isinstance(stmt, (ir.SetItem, ir.StaticSetItem)):
        return id(stmt) not in unchecked
    if not isinstance(stmt, ir.Assign):
        return True
    value = stmt.value
    if isinstance(value, _QUIET_VALUES):
        return False
    if not isinstance(value, ir.Expr):
        return True
    if value.op in _QUIET_EXPRESSIONS:
        return False
    if value.op in ("getitem", "static_getitem"):
        if value.op == "static_getitem" and isinstance(
            typemap.get(value.value.name), types.BaseTuple
        ):
            return False  # a constant index into a tuple: checked when compiling
        return id(stmt) not in unchecked
    if value.op in ("getiter", "iternext"):
        return not isinstance(
            typemap.get(value.value.name),
            (types.RangeType, types.RangeIteratorType, types.ArrayIterator, types.Array),
        )
    if value.op in ("binop", "inplace_binop", "unary"):
        operands = [v for v in value.list_vars()]
        return value.fn not in _QUIET_OPERATORS or not all(
            _scalar(typemap.get(v.name)) for v in operands
        )
    if value.op == "call":
        return _call_raises(value, typemap, calltypes)
    return True


def _scalar(t: Any) -> bool:
    return isinstance(types.unliteral(t), (types.Number, types.Boolean))


def _call_raises(call: ir.Expr, typemap: dict[str, Any], calltypes: Any) -> bool:
    """Builtins that cannot raise on scalars, and the checked operations that are the plain
    operation for their types (float ``+ - *`` and comparisons of two ints or two floats);
    any other call can raise."""
    from autoaccel.backends import checked_ops

    callee = typemap.get(call.func.name)
    key = getattr(callee, "typing_key", None)
    arguments = [typemap.get(arg.name) for arg in call.args]
    if key in _QUIET_BUILTINS:
        return not all(
            _scalar(t) or isinstance(t, (types.Array, types.BaseTuple)) for t in arguments
        )
    if not arguments or not all(_scalar(t) for t in arguments):
        return True
    kinds = {type(types.unliteral(t)) for t in arguments}
    if key in checked_ops.COMPARE.values():
        return len(kinds) != 1  # int vs float deoptimizes above 2**53
    plain = [
        checked_ops.BINARY[(name, inplace)]
        for name in ("add", "sub", "mul")
        for inplace in (False, True)
    ]
    numbers = all(isinstance(types.unliteral(t), (types.Float, types.Complex)) for t in arguments)
    return not (key in plain and numbers)
