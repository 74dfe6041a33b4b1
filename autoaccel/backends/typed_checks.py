"""Typed-IR checks: what a compiled variant does, read from Numba's typed IR before it runs.

Why this design: some differences between Numba and CPython depend on which operations the
code performs on which types, and cannot be seen from bytecode or from the first calls (rows
of docs/divergences.md): float reductions that NumPy sums pairwise (16), sorts of floats with
NaN or signed zeros and argsort ties (20), ``str`` predicates (14), in-place array updates
from an overlapping slice of the same array (17), dicts and sets returned (25), locals read
before any assignment on some path (26), lists whose elements Numba converts (23), and
stores into a list converted at the boundary of values that may be NumPy scalars (11). After
``Dispatcher.compile`` and before the first run, :func:`inspect_variant` walks the typed IR
that Numba keeps for each overload (``CompileResult.type_annotation``: blocks, typemap,
calltypes), and the IR of every helper overload it calls.

The same walk reports two things the variant needs at run time: which arguments the code
may write (so a call that raises can be handed to the original on restored arguments), and
the constants and arguments that can be returned as they are (also as items of a returned
tuple), whose CPython type can differ from the type Numba unifies the return to
(docs/divergences.md, rows 11 and 12: ``s = 0``, ``s += x`` over no items: ``0`` or ``0.0``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numba import types
from numba.core import ir

from autoaccel.backends import converted_checks, handbacks
from autoaccel.backends.range_compiler import SUMMARY, Summary
from autoaccel.backends.returned import is_scalar_constant, returned_as_is
from autoaccel.cache import plain
from autoaccel.errors import with_article

_FLOAT_KINDS = (types.Float, types.Complex)
# NumPy sums floats pairwise (and BLAS orders dot products its own way); Numba loops.
_REDUCTIONS = {np.sum, np.mean, np.std, np.var, np.nansum, np.nanmean, np.nanstd, np.nanvar}
_REDUCTIONS |= {np.prod, np.nanprod, np.average, np.dot, np.vdot, np.cov, np.corrcoef}
_REDUCTIONS |= {np.linalg.norm, np.trace}
_ALWAYS_REDUCING = {np.mean, np.std, np.var, np.average, np.nanmean, np.nanstd, np.nanvar}
_REDUCING_METHODS = {"sum", "mean", "std", "var", "prod", "dot", "cumsum", "cumprod"}
_SORTS = {np.sort, np.median, np.nanmedian, np.percentile, np.nanpercentile, np.quantile}
_SORTS |= {np.nanquantile, np.partition, np.unique, sorted}
_TIE_ORDERS = {np.argsort, np.argpartition}
_SORTING_METHODS = {"sort", "argsort"}
_STR_PREDICATES = {"isdigit", "isdecimal", "isnumeric", "isalpha", "isalnum", "isspace"}
_STR_PREDICATES |= {"islower", "isupper", "istitle", "isidentifier", "isprintable", "isascii"}
_MUTATING_METHODS = {"sort", "fill", "resize", "put", "itemset", "partition"}
_MUTATING_METHODS |= {"append", "extend", "insert", "pop", "remove", "clear", "reverse"}
_MUTATING_FUNCTIONS = {np.copyto, np.put, np.place, np.fill_diagonal}
# Functions whose result is always a new array, never a view of an argument.
_ALLOCATING = {np.empty, np.zeros, np.ones, np.full, np.arange, np.linspace, np.eye}
_ALLOCATING |= {np.empty_like, np.zeros_like, np.ones_like, np.full_like, np.copy, np.identity}
# Types whose values are immutable and hold no array, so they cannot be views of one.
_VALUE_TYPES = (types.Number, types.Boolean, types.NoneType, types.UnicodeType)
_NO_SUMMARY = Summary((), 0, (), frozenset())  # compiled without the range analysis


@dataclass
class Inspection:
    """What :func:`inspect_variant` found.

    Attributes:
        refusal: why the variant must not run (ending with its row of docs/divergences.md
            in brackets), or ``None``.
        written: positions of the arguments the code may write (arrays, through views).
        ambiguous_constants: values that can be returned unchanged from a constant.
        ambiguous_arguments: positions of arguments that can be returned unchanged.
        shared_constants, shared_arguments: those of ``ambiguous_constants`` and
            ``ambiguous_arguments`` returned where something else may be returned too
            (:class:`autoaccel.backends.returned.Returned`).
        copied: those of ``written`` that a hand-back can follow (which a promoted call
            must copy first, :mod:`autoaccel.backends.handbacks`); ``None``: all of
            ``written``.
    """

    refusal: str | None = None
    written: set[int] = field(default_factory=set)
    ambiguous_constants: list[Any] = field(default_factory=list)
    ambiguous_arguments: set[int] = field(default_factory=set)
    copied: set[int] | None = None
    shared_constants: list[Any] = field(default_factory=list)
    shared_arguments: set[int] = field(default_factory=set)

    def as_plain(self) -> dict[str, Any]:
        """The inspection as JSON-ready data, for the cache (:mod:`autoaccel.cache.plain`).

        Raises:
            TypeError: a constant the cache cannot store.
        """
        return {
            "refusal": self.refusal,
            "written": sorted(self.written),
            "ambiguous_constants": [plain.encode(c) for c in self.ambiguous_constants],
            "ambiguous_arguments": sorted(self.ambiguous_arguments),
            "copied": None if self.copied is None else sorted(self.copied),
            "shared_constants": [plain.encode(c) for c in self.shared_constants],
            "shared_arguments": sorted(self.shared_arguments),
        }

    @classmethod
    def from_plain(cls, data: Any) -> Inspection:
        """The inspection :meth:`as_plain` gave ``data`` for, every field checked.

        Raises:
            ValueError: a field is missing, unknown or of the wrong type.
        """
        if type(data) is not dict or set(data) != set(cls.__dataclass_fields__):
            raise ValueError("not an inspection record")
        refusal, written, arguments, copied, shared_arguments = (
            data["refusal"],
            data["written"],
            data["ambiguous_arguments"],
            data["copied"],
            data["shared_arguments"],
        )
        positions = (written, arguments, [] if copied is None else copied, shared_arguments)
        if not (refusal is None or type(refusal) is str) or not all(
            type(p) is list and all(type(i) is int and i >= 0 for i in p) for p in positions
        ):
            raise ValueError("an inspection field has the wrong type")
        values, shared = (
            _constants(data[key]) for key in ("ambiguous_constants", "shared_constants")
        )
        kept = None if copied is None else set(copied)
        return cls(
            refusal, set(written), values, set(arguments), kept, shared, set(shared_arguments)
        )


def _constants(data: Any) -> list[Any]:
    """The numbers :meth:`Inspection.as_plain` stored as ``data``.

    Raises:
        ValueError: ``data`` is not a list of numbers.
    """
    values = [plain.decode(c) for c in data] if type(data) is list else None
    if values is None or not all(map(is_scalar_constant, values)):
        raise ValueError("an ambiguous constant is not a number")
    return values


def inspect_variant(dispatcher: Any, signature: tuple) -> Inspection:
    """Check the overload of ``dispatcher`` compiled for ``signature`` and its helpers.

    Args:
        dispatcher: a Numba CPU dispatcher holding an overload for ``signature``.
        signature: the tuple of Numba argument types it was compiled for.
    """
    memo: dict[int, _Function] = {}
    result = _function(dispatcher.overloads[signature], memo)
    refusal = result.refusal or converted_checks.list_store_refusal(result)
    inspection = Inspection(refusal=refusal, written=result.written)
    inspection.copied = result.copied()
    returned = returned_as_is(result, _callee, memo, set())
    inspection.ambiguous_constants = returned.constants
    inspection.ambiguous_arguments = returned.arguments
    inspection.shared_constants = returned.shared_constants
    inspection.shared_arguments = returned.shared_arguments
    return inspection


class _Function:
    """One overload's typed IR, indexed for the checks."""

    def __init__(self, overload: Any) -> None:
        annotation = overload.type_annotation
        self.typemap = annotation.typemap
        self.calltypes = annotation.calltypes
        self.return_type = overload.signature.return_type
        self.assigns = [
            stmt
            for block in annotation.blocks.values()
            for stmt in block.body
            if isinstance(stmt, ir.Assign)
        ]
        self.statements = [stmt for block in annotation.blocks.values() for stmt in block.body]
        self.definitions: dict[str, list[Any]] = {}
        for stmt in self.assigns:
            self.definitions.setdefault(stmt.target.name, []).append(stmt.value)
        self.refusal: str | None = None
        self.written: set[int] = set()
        self.writes: dict[int, set[int]] = {}  # id(statement) -> positions it may write
        self.current: Any = None  # the statement being checked
        self.blocks = annotation.blocks
        self.unchecked = overload.metadata.get(SUMMARY, _NO_SUMMARY).unchecked
        self.roots: dict[str, set[int]] = {}
        # Whether it (or a helper) stores into a converted list, and whether NumPy values can
        # occur: see converted_checks.list_store_refusal.
        self.list_stores = False
        self.numpy = any(map(_is_numpy, self.typemap.values()))

    def type_of(self, var: ir.Var) -> Any:
        return self.typemap.get(var.name)

    def write(self, variable: str) -> None:
        """The statement being checked may write the arguments ``variable`` may view."""
        positions = self.roots.get(variable, set())
        self.written |= positions
        self.writes.setdefault(id(self.current), set()).update(positions)

    def copied(self) -> set[int]:
        """The written arguments a hand-back can follow (:mod:`autoaccel.backends.handbacks`)."""

        def may_raise(stmt: Any) -> bool:
            return handbacks.raises(stmt, self.typemap, self.calltypes, self.unchecked)

        return handbacks.copied(self.blocks, self.writes, may_raise)


def _is_numpy(t: Any) -> bool:
    """Whether a value of Numba type ``t`` is NumPy's: an array, a NumPy scalar class, the
    module, or a NumPy function (whose scalar results are NumPy scalars in CPython)."""
    if isinstance(t, (types.Array, types.NumberClass)):
        return True
    if isinstance(t, types.Module):
        return t.pymod.__name__.split(".")[0] == "numpy"
    key = getattr(t, "typing_key", None)
    return isinstance(key, np.ufunc) or (getattr(key, "__module__", None) or "").startswith("numpy")


def _function(overload: Any, memo: dict[int, _Function]) -> _Function:
    """Run every check on one overload (and, through calls, its helpers)."""
    known = memo.get(id(overload))
    if known is not None:
        return known
    function = memo[id(overload)] = _Function(overload)
    function.refusal = _first(_checks(function, memo))
    return function


def _first(reasons: Iterator[str | None]) -> str | None:
    return next((reason for reason in reasons if reason), None)


def _checks(function: _Function, memo: dict[int, _Function]) -> Iterator[str | None]:
    yield _returned_container(function.return_type)
    _trace_roots(function)
    for stmt in function.statements:
        function.current = stmt
        if isinstance(stmt, (ir.SetItem, ir.StaticSetItem)):
            function.write(stmt.target.name)
            function.list_stores |= converted_checks.is_converted_list(
                function.type_of(stmt.target)
            )
        elif isinstance(stmt, ir.SetAttr):
            yield converted_checks.attribute_store(function, stmt)
        if not isinstance(stmt, ir.Assign) or not isinstance(stmt.value, ir.Expr):
            continue
        expr = stmt.value
        if expr.op == "null" and _is_read(function, stmt.target.name):
            yield f"may read local {_source_name(stmt.target.name)} before assignment [26]"
        elif expr.op == "build_list":
            yield converted_checks.list_conversion(function, stmt.target, expr.items)
        elif expr.op == "inplace_binop":
            yield _overlap(function, expr.lhs, expr.rhs)
        elif expr.op == "call":
            yield _call(function, expr, memo)


def _returned_container(return_type: Any) -> str | None:
    inner = getattr(return_type, "types", (return_type,))
    for t in inner:
        if isinstance(t, (types.DictType, types.Set)):
            return f"returns {with_article(str(t))} (a typed container, not the dict or set CPython returns) [25]"
        if converted_checks.is_converted(t):
            return f"returns a {t.source} it was given (compiled code holds a converted copy)"
        if hasattr(t, "store_refusal"):  # autoaccel.boundary.instance_type.PyInstance
            return f"returns {with_article(str(t))} object it was given (compiled code holds a record of it)"
    return None


def _is_read(function: _Function, name: str) -> bool:
    for stmt in function.statements:
        if isinstance(stmt, ir.Assign) and stmt.target.name == name:
            continue
        if any(var.name == name for var in stmt.list_vars()):
            return True
    return False


def _source_name(name: str) -> str:
    return name.split(".")[0]


def _trace_roots(function: _Function) -> None:
    """Which variables may be (views of) which arguments, to a fixed point."""
    roots = function.roots
    changed = True
    while changed:
        changed = False
        for stmt in function.assigns:
            if not _may_view(function.type_of(stmt.target)):
                continue
            found = _value_roots(function, stmt.value)
            if found and not found <= roots.get(stmt.target.name, set()):
                roots.setdefault(stmt.target.name, set()).update(found)
                changed = True


def _value_roots(function: _Function, value: Any) -> set[int]:
    roots = function.roots
    if isinstance(value, ir.Arg):
        return {value.index}
    if isinstance(value, ir.Var):
        return set(roots.get(value.name, ()))
    if not isinstance(value, ir.Expr) or value.op in ("binop", "unary", "inplace_binop"):
        return set()
    if value.op == "call" and _allocates(function, value):
        return set()
    found: set[int] = set()
    for var in value.list_vars():
        found |= roots.get(var.name, set())
    return found


def _may_view(t: Any) -> bool:
    """Whether a value of Numba type ``t`` can be, or hold, a view of an argument.

    Scalars, strings and tuples of them cannot: without this, ``n = x.shape[0]`` made every
    array allocated with ``n`` elements count as a view of ``x``, and each promoted call
    copied ``x`` to restore it in case the call was handed back.
    """
    if isinstance(t, types.BaseTuple):
        return any(_may_view(item) for item in getattr(t, "types", (None,)))
    return t is None or not isinstance(t, _VALUE_TYPES)


def _allocates(function: _Function, call: ir.Expr) -> bool:
    """Whether ``call`` returns a new array: a NumPy allocator, or an array's ``.copy()``."""
    callee = function.type_of(call.func)
    if isinstance(callee, types.BoundFunction):
        key = callee.typing_key
        name = key[1] if isinstance(key, tuple) else str(key).rsplit(".", 1)[-1]
        return name == "copy" and isinstance(callee.this, types.Array)
    return getattr(callee, "typing_key", None) in _ALLOCATING


def _root_of(function: _Function, var: ir.Var) -> str:
    """The variable an array view was taken from (through copies, slicing and getattr)."""
    name = var.name
    for _ in range(100):
        definitions = function.definitions.get(name, [])
        if len(definitions) != 1:
            return name
        value = definitions[0]
        if isinstance(value, ir.Var):
            name = value.name
        elif isinstance(value, ir.Expr) and value.op in ("getitem", "static_getitem", "getattr"):
            name = value.value.name
        else:
            return name
    return name


def _overlap(function: _Function, lhs: ir.Var, rhs: ir.Var) -> str | None:
    if not isinstance(function.type_of(lhs), types.Array):
        return None
    if not isinstance(function.type_of(rhs), types.Array):
        return None
    if _root_of(function, lhs) == _root_of(function, rhs) and lhs.name != rhs.name:
        return "updates an array in place from an overlapping view of itself [17]"
    return None


def _call(function: _Function, expr: ir.Expr, memo: dict[int, _Function]) -> str | None:
    callee = function.type_of(expr.func)
    args = [function.type_of(arg) for arg in expr.args]
    found = _callee(function, expr)
    if found is not None:
        return _helper_call(function, found, memo)
    if isinstance(callee, types.BoundFunction):
        return _method_call(function, expr, callee)
    key = getattr(callee, "typing_key", None)
    if getattr(key, "__name__", "").startswith("i") and len(expr.args) == 2:
        # An in-place operator routed through a checked operation (see _variant_code).
        overlap = _overlap(function, expr.args[0], expr.args[1])
        if overlap and getattr(key, "__module__", "") == "autoaccel.backends.checked_ops":
            return overlap
    if key in _MUTATING_FUNCTIONS and expr.args:
        function.write(expr.args[0].name)
    floats = any(_has_float_elements(t) for t in args)
    if key in _REDUCTIONS and (floats or key in _ALWAYS_REDUCING):
        return (
            f"calls np.{key.__name__} on floats, which NumPy sums pairwise and Numba in order [16]"
        )
    if key in _SORTS and floats:
        name = getattr(key, "__name__", str(key))
        return f"sorts floats with {name}, where NaN and -0.0 order differ from NumPy [20]"
    if key in _TIE_ORDERS:
        return f"calls np.{key.__name__}, whose order of equal elements differs from NumPy [20]"
    return None


def _has_float_elements(t: Any) -> bool:
    dtype = getattr(t, "dtype", t)
    return isinstance(dtype, _FLOAT_KINDS)


def _receiver(function: _Function, expr: ir.Expr) -> ir.Var | None:
    """The variable a method call ``expr`` calls its method on (``obj`` in ``obj.m()``)."""
    getattr_defs = function.definitions.get(expr.func.name, [])
    return next((d.value for d in getattr_defs if isinstance(d, ir.Expr)), None)


def _callee(function: _Function, call: ir.Expr) -> tuple[Any, list, tuple] | None:
    """``(dispatcher, variables passed, their types)`` for a call of a helper, or of a
    converted object's method (``boundary.instance_type``: the object is passed first)."""
    callee = function.type_of(call.func)
    arg_types = tuple(function.calltypes[call].args)
    if isinstance(callee, types.Dispatcher):
        return callee.dispatcher, list(call.args), arg_types
    if isinstance(callee, types.BoundFunction) and hasattr(callee.this, "method_dispatcher"):
        key: Any = callee.typing_key  # (PyInstance, the method's name)
        dispatcher = callee.this.method_dispatcher(key[1])
        owner = _receiver(function, call)
        if dispatcher is not None and owner is not None:
            return dispatcher, [owner, *call.args], (callee.this, *arg_types)
    return None


def _method_call(function: _Function, expr: ir.Expr, callee: Any) -> str | None:
    key = callee.typing_key
    name = key[1] if isinstance(key, tuple) else str(key).rsplit(".", 1)[-1]
    receiver = callee.this
    owner = _receiver(function, expr)
    if name in _MUTATING_METHODS and owner is not None:
        function.write(owner.name)
    if isinstance(receiver, types.UnicodeType) and name in _STR_PREDICATES:
        return f"calls str.{name}, which Numba answers differently for some characters [14]"
    if isinstance(receiver, types.Array) and isinstance(receiver.dtype, _FLOAT_KINDS):
        if name in _REDUCING_METHODS - {"cumsum", "cumprod"}:
            return f"calls .{name}() on a float array, which NumPy sums pairwise [16]"
        if name in _SORTING_METHODS:
            return f"calls .{name}() on a float array, where NaN and -0.0 order differ [20]"
    if isinstance(receiver, types.Array) and name == "argsort":
        return "calls .argsort(), whose order of equal elements differs from NumPy [20]"
    if isinstance(receiver, types.List) and name in ("append", "insert") and expr.args:
        value = types.unliteral(function.type_of(expr.args[-1]))
        if value != receiver.dtype:
            return f"puts {with_article(str(value))} in a list of {receiver.dtype} (Numba converts it) [23]"
    if isinstance(receiver, types.List) and name == "sort" and _has_float_elements(receiver):
        return "sorts a list of floats, where NaN and -0.0 order differ [20]"
    return None


def _helper_call(
    function: _Function, callee: tuple[Any, list, tuple], memo: dict[int, _Function]
) -> str | None:
    """A call of :func:`_callee`'s: its checks, and what it writes written here."""
    dispatcher, passed, arg_types = callee
    overload = dispatcher.overloads.get(arg_types)
    if overload is None:
        return None
    helper = _function(overload, memo)
    function.list_stores |= helper.list_stores
    function.numpy |= helper.numpy
    for position in helper.written:
        if position < len(passed):
            function.write(passed[position].name)
    if helper.refusal:
        name = dispatcher.py_func.__qualname__
        return f"calls {name}, which {helper.refusal}"
    return None
