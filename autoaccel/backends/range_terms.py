"""Terms for a range analysis: what a value of Numba's typed SSA IR is, as a term plus a constant.

Why this design: an index or an int operand is described as a *term* plus a constant (``i - 1``
is ``(i, -1)``; ``len(a) - 1`` is ``(len(a, axis 0), -1)``), after following copies, constant
additions and the ways a length is read (``len(a)``, ``a.shape[d]``, ``rows, cols = a.shape``,
an array allocated with ``np.empty(n)`` or ``np.empty_like(b)``, a row ``x[i]`` of a 2-d
array), so that two expressions of the same quantity meet. Only signed integers are terms;
every other value is opaque. The IR must be in SSA form, as Numba's is between type
inference and ``PreLowerStripPhis``: a variable defined more than once is never described.
:mod:`autoaccel.backends.range_facts` builds the inequalities between terms on these.
"""

from __future__ import annotations

import operator
from typing import Any

import numpy as np
from numba.core import ir, types

from autoaccel.backends import checked_ops

Term = tuple  # ("0",) | ("v", name) | ("len", array, axis) | ("lo", range) | ("hi", range)
Canon = tuple[Term, int]  # a term plus a constant
ZERO: Term = ("0",)
INT64_MAX = 2**63 - 1


def negated(term: Term) -> Term:
    """The term ``-term``: inequalities mirror (``x <= y + c`` is ``-y <= -x + c``), which
    lets ``-len(a) <= index`` be proven like any other bound."""
    if term == ZERO:
        return ZERO
    return term[1] if term[0] == "-" else ("-", term)


def negated_canon(value: Canon) -> Canon:
    return negated(value[0]), -value[1]


# Functions whose first positional argument is the shape of the array they return.
_ALLOCATE_BY_SHAPE = {np.empty, np.zeros, np.ones, np.full}
# Functions (and array methods) whose result has the shape of their first argument.
_ALLOCATE_LIKE = {np.empty_like, np.zeros_like, np.ones_like, np.full_like, np.copy}
_ROWS = ("getitem", "static_getitem")
_COMPARISONS = {"lt": operator.lt, "le": operator.le, "gt": operator.gt, "ge": operator.ge}
_COMPARISONS |= {"eq": operator.eq, "ne": operator.ne}
# Each comparison and the one its negation is (what a branch's other edge knows).
NEGATED = {
    operator.lt: operator.ge,
    operator.le: operator.gt,
    operator.gt: operator.le,
    operator.ge: operator.lt,
    operator.eq: operator.ne,
    operator.ne: operator.eq,
}
# The checked operations (autoaccel.backends.checked_ops) that compute exact results or
# deoptimize: their results are the mathematical ones wherever the code goes on.
_STAND_INS = {id(stub): name for (name, _), stub in checked_ops.BINARY.items()}
_COMPARE_STAND_INS = {id(stub): _COMPARISONS[name] for name, stub in checked_ops.COMPARE.items()}


class Terms:
    """The SSA definitions of one function's typed IR, read as terms.

    Args:
        blocks: ``func_ir.blocks`` (label -> ``ir.Block``), in SSA form.
        typemap: variable name -> Numba type.
    """

    def __init__(self, blocks: dict[int, ir.Block], typemap: dict[str, Any]) -> None:
        self.blocks = blocks
        self.typemap = typemap
        self.definitions: dict[str, Any] = {}
        self.defined_in: dict[str, int] = {}
        repeated: set[str] = set()
        for label, block in blocks.items():
            for stmt in block.body:
                if isinstance(stmt, ir.Assign):
                    name = stmt.target.name
                    if name in self.definitions:
                        repeated.add(name)
                    self.definitions[name] = stmt.value
                    self.defined_in[name] = label
        for name in repeated:  # not SSA: never described
            del self.definitions[name]

    def value_of(self, name: str) -> Any:
        """The single definition of ``name`` after copies, or ``None``."""
        value = self.definitions.get(name)
        for _ in range(50):
            if not isinstance(value, ir.Var):
                return value
            name = value.name
            value = self.definitions.get(name)
        return None

    def resolved_name(self, name: str, seen: frozenset = frozenset()) -> str:
        """``name`` after copies, and after phis that merge copies of one variable (Python
        3.11+ carries an array pushed before a conditional expression through a phi; a loop
        carries an unchanged variable through its header's phi)."""
        for _ in range(50):
            value = self.definitions.get(name)
            if isinstance(value, ir.Expr) and value.op == "phi" and name not in seen:
                inner = seen | {name}
                sources = {self.resolved_name(v.name, inner) for v in value.incoming_values}
                sources.discard(name)
                if len(sources) != 1:
                    return name
                name = sources.pop()
                continue
            if not isinstance(value, ir.Var):
                return name
            name = value.name
        return name

    def callee(self, call: ir.Expr) -> Any:
        """What a ``call`` calls: a global's value, a module's attribute, or ``None``."""
        value = self.value_of(call.func.name)
        if isinstance(value, (ir.Global, ir.FreeVar)):
            return value.value
        if isinstance(value, ir.Expr) and value.op == "getattr":
            owner = self.value_of(value.value.name)
            if isinstance(owner, (ir.Global, ir.FreeVar)):
                return getattr(owner.value, value.attr, None)
        return None

    def is_int(self, name: str) -> bool:
        """Whether ``name`` holds a signed integer (a term can describe it)."""
        return _signed_width(self.typemap.get(name)) is not None

    def type_bounds(self, term: Term) -> tuple[int, int]:
        """The smallest and largest value ``term`` can hold, by its type."""
        if term == ZERO:
            return 0, 0
        if term[0] == "-":
            low, high = self.type_bounds(term[1])
            return -high, -low
        if term[0] == "len":
            return 0, INT64_MAX  # a dimension is a non-negative intp
        if term[0] == "v":
            width = _signed_width(self.typemap.get(term[1]))
            if width is not None:
                return -(2 ** (width - 1)), 2 ** (width - 1) - 1
        return -(2**64), 2**64  # lo/hi of a range: stop - 1 and stop + 1 can leave int64

    # Terms -------------------------------------------------------------------------------

    def canon(self, name: str) -> Canon:
        """``name`` as a term plus a constant (``(ZERO, k)`` for a constant ``k``)."""
        name = self.resolved_name(name)
        for _ in range(50):
            value = self.definitions.get(name)
            if isinstance(value, ir.Var):
                name = value.name
                continue
            constant = value.value if isinstance(value, ir.Const) else None
            if isinstance(constant, int) and not isinstance(constant, bool):
                return ZERO, constant
            if isinstance(value, ir.Expr):
                found = self._canon_expr(value)
                if found is not None:
                    return found
            break
        return ("v", name), 0

    def _canon_expr(self, expr: ir.Expr) -> Canon | None:
        if expr.op == "call":
            callee = self.callee(expr)
            if callee is len and len(expr.args) == 1 and self._ndim(expr.args[0].name):
                return self.canon_len(expr.args[0].name, 0)
            operation = _STAND_INS.get(id(callee))
            if operation in ("add", "sub") and len(expr.args) == 2:
                return self._shifted(operation, *(arg.name for arg in expr.args))
            return None
        if expr.op == "static_getitem" and isinstance(expr.index, int):
            shape = self._shape_of(expr.value.name)
            ndim = self._ndim(shape) if shape is not None else 0
            if shape is not None and 0 <= expr.index < ndim:
                return self.canon_len(shape, expr.index)
        if expr.op == "getattr" and expr.attr == "size" and self._ndim(expr.value.name) == 1:
            return self.canon_len(expr.value.name, 0)
        return None

    def _shifted(self, operation: str, left: str, right: str) -> Canon | None:
        """``left + right`` or ``left - right`` where one side is a constant."""
        if not (self.is_int(left) and self.is_int(right)):
            return None
        (lt, lk), (rt, rk) = self.canon(left), self.canon(right)
        if rt == ZERO:
            return lt, lk + rk if operation == "add" else lk - rk
        if lt == ZERO and operation == "add":
            return rt, rk + lk
        return None

    def _shape_of(self, name: str) -> str | None:
        """The array whose ``.shape`` tuple ``name`` holds (directly or unpacked), or None."""
        value = self.value_of(name)
        if isinstance(value, ir.Expr) and value.op == "exhaust_iter":
            value = self.value_of(value.value.name)
        shape = isinstance(value, ir.Expr) and value.op == "getattr" and value.attr == "shape"
        return value.value.name if shape and self._ndim(value.value.name) else None

    def _ndim(self, name: str) -> int:
        t = self.typemap.get(name)
        return t.ndim if isinstance(t, types.Array) else 0

    def canon_len(self, array: str, axis: int) -> Canon:
        """The length of ``array`` along ``axis``, as a canonical term."""
        for _ in range(50):
            array = self.resolved_name(array)
            value = self.definitions.get(array)
            if not (isinstance(value, ir.Expr) and value.op in ("call", *_ROWS)):
                break
            if value.op in _ROWS:  # a row x[i] of an n-d array: the next axes
                if not self._integer_index(value):
                    break
                array, axis = value.value.name, axis + 1
                continue
            callee = self.callee(value)
            if callee in _ALLOCATE_LIKE and value.args:
                array = value.args[0].name
                if not self._ndim(array):
                    break
                continue
            if callee in _ALLOCATE_BY_SHAPE and value.args:
                found = self._allocated_length(value.args[0].name, axis)
                if found is not None:
                    return found
            break
        return ("len", self.resolved_name(array), axis), 0

    def _integer_index(self, expr: ir.Expr) -> bool:
        """Whether a ``getitem``'s index is one integer (it selects along the first axis)."""
        if expr.op == "static_getitem":
            return isinstance(expr.index, int) and not isinstance(expr.index, bool)
        return isinstance(types.unliteral(self.typemap.get(expr.index.name)), types.Integer)

    def _allocated_length(self, shape: str, axis: int) -> Canon | None:
        """Axis ``axis`` of an array allocated with shape ``shape`` (an int or a tuple)."""
        if self.is_int(shape):
            return self.canon(shape) if axis == 0 else None
        value = self.value_of(shape)
        if isinstance(value, ir.Expr) and value.op == "build_tuple" and axis < len(value.items):
            item = value.items[axis].name
            return self.canon(item) if self.is_int(item) else None
        source = self._shape_of(shape)
        if source is not None and axis < self._ndim(source):
            return self.canon_len(source, axis)
        return None

    def indexing(self, stmt: Any) -> tuple[str, list[Canon | None]] | None:
        """``(array, canonical index per axis)`` of an array access with integer indices
        (``None`` for an axis whose index facts cannot describe)."""
        if isinstance(stmt, ir.Assign) and isinstance(stmt.value, ir.Expr):
            expr = stmt.value
            if expr.op not in ("getitem", "static_getitem"):
                return None
            array, index = expr.value.name, expr.index
        elif isinstance(stmt, (ir.SetItem, ir.StaticSetItem)):
            array, index = stmt.target.name, stmt.index
        else:
            return None
        array_type = self.typemap.get(array)
        if not isinstance(array_type, types.Array):
            return None
        items = self._index_items(index)
        if items is None or not 0 < len(items) <= array_type.ndim:
            return None
        return array, items

    def _index_items(self, index: Any) -> list[Canon | None] | None:
        if isinstance(index, bool):
            return None
        if isinstance(index, int):
            return [(ZERO, index)]
        if isinstance(index, tuple):
            if not all(isinstance(i, int) and not isinstance(i, bool) for i in index):
                return None
            return [(ZERO, i) for i in index]
        if not isinstance(index, ir.Var):
            return None
        t = types.unliteral(self.typemap.get(index.name))
        if isinstance(t, types.Integer):
            return [self.canon(index.name) if self.is_int(index.name) else None]
        built = self.value_of(index.name) if isinstance(t, types.BaseTuple) else None
        if not (isinstance(built, ir.Expr) and built.op == "build_tuple"):
            return None
        items: list[Canon | None] = []
        for item in built.items:
            if not isinstance(types.unliteral(self.typemap.get(item.name)), types.Integer):
                return None  # a slice or an array: not an element access
            items.append(self.canon(item.name) if self.is_int(item.name) else None)
        return items

    def comparison(self, name: str, negated: bool = False) -> tuple[Any, Canon, Canon] | None:
        """``(operator, left, right)`` of the int comparison a branch condition tests."""
        value = self.value_of(name)
        if not isinstance(value, ir.Expr):
            return None
        if value.op == "call" and self.callee(value) is bool and len(value.args) == 1:
            return self.comparison(value.args[0].name, negated)
        if value.op == "unary" and value.fn is operator.not_:
            return self.comparison(value.value.name, not negated)
        if value.op == "binop" and value.fn in NEGATED:
            function, operands = value.fn, (value.lhs.name, value.rhs.name)
        elif value.op == "call" and id(self.callee(value)) in _COMPARE_STAND_INS:
            function = _COMPARE_STAND_INS[id(self.callee(value))]
            operands = tuple(arg.name for arg in value.args)
        else:
            return None
        if len(operands) != 2 or not all(self.is_int(name) for name in operands):
            return None
        if negated:
            function = NEGATED[function]
        return function, self.canon(operands[0]), self.canon(operands[1])


def _signed_width(numba_type: Any) -> int | None:
    """The bit width of a signed integer type of at most 64 bits, else ``None``."""
    t: Any = types.unliteral(numba_type)
    if isinstance(t, types.Integer) and getattr(t, "signed", False):
        width = int(getattr(t, "bitwidth", 64))
        return width if width <= 64 else None
    return None
