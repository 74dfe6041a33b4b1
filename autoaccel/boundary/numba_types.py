"""Numba's side of the boundary: the type compiled code sees for a converted list or buffer.

Why this design: Numba's own answers for Python lists differ from CPython's or cost too much.
A reflected list unboxes every element on every call and is pending deprecation (numba#9535),
``typed.List(x)`` is 30x slower to build than ``np.array(x)`` (numba#7727), and a plain array
in place of a list would let compiled code do what a list cannot: ``a + b`` adds where lists
concatenate, ``a[1:]`` is a view where a list slice is a copy, a float stored into an int array
is truncated where the list would hold the float. So a converted value is a
:class:`PySequence`: the data Numba handles fast (an array, or a native list of records)
behind a type that allows only what it answers exactly as CPython does: ``len``, truth,
indexing with an int (negative ones too), iteration and unpacking (so ``enumerate``, ``zip``,
``min`` and ``max`` work through it), and storing an element the Python object would hold.
Anything else fails Numba's typing, which rejects the variant before it ever runs.

Element reads give CPython's values: an element of a ``bytearray`` or ``array('i')`` is a
Python int (int64 here), not NumPy's uint8 or int32 with NumPy's arithmetic
(docs/divergences.md, row 8). Stores check what CPython checks (a byte outside 0..255, an
int beyond the array's type) by raising in compiled code, which hands the call back to the
original.

The technique, a Numba type with a data model, typing templates and lowerings, is Numba's
extension API (docs/source/extending/low-level.rst;
``numba/tests/doc_examples/test_interval_example.py``). How a converted value becomes one is
:mod:`autoaccel.boundary.unboxing`'s.
"""

from __future__ import annotations

import functools
import operator
from typing import Any

import numpy as np
from numba import types
from numba.core import cgutils
from numba.core.datamodel import models
from numba.core.imputils import RefType, impl_ret_new_ref, iternext_impl, lower_builtin
from numba.core.typing import signature
from numba.core.typing.templates import AbstractTemplate, infer_global
from numba.cpython import listobj
from numba.extending import register_model
from numba.np.numpy_support import from_dtype

from autoaccel.backends.checked_ops import refusals


class PySequence(types.IterableType):
    """The compiled code's type for a converted list or buffer.

    Args:
        storage: where the data is: a ``types.Array`` of numbers (1-D, or 2-D for a list of
            lists), or a ``types.List`` of records for a list of tuples.
        item: the type ``s[i]`` and iteration give: a number as CPython would see it, the row
            type of a 2-D storage, or the record type.
        source: the Python value's kind for the name (``"list"``, ``"bytearray"``,
            ``"array('d')"``...).
        store: which values ``s[i] = v`` takes: ``"exact"`` (exactly ``item``'s type: lists),
            ``"int"`` (integers within the storage's range: integer buffers), ``"float"``
            (floats and integers: float buffers), or ``None`` (none).
    """

    # Numba has no default ``a is b`` for mutable types, so identity tests are refused
    # rather than answered by a guess (two views of one buffer are not one object).
    mutable = True

    def __init__(self, storage: Any, item: Any, source: str, store: str | None) -> None:
        self.storage = storage
        self.item = item
        self.source = source
        self.store = store
        readonly = "" if store or source in ("list", "bytes") else ", readonly"
        super().__init__(f"{source}({item}{readonly})")

    @property
    def key(self) -> tuple:
        """What makes two sequence types the same type."""
        return (self.storage, self.item, self.source, self.store)

    @property
    def dtype(self) -> Any:
        """The element type, for checks that ask what a container holds."""
        return self.item

    @property
    def iterator_type(self) -> PySequenceIterator:
        """The type of ``iter(s)``."""
        return PySequenceIterator(self)


class PySequenceIterator(types.SimpleIteratorType):
    """``iter(s)`` of a :class:`PySequence`: an index into it."""

    def __init__(self, sequence: PySequence) -> None:
        self.sequence = sequence
        super().__init__(f"iter({sequence})", sequence.item)


@register_model(PySequence)
class _SequenceModel(models.StructModel):
    """An array storage as its data pointer, shape and strides (a list's written mark,
    after each row, is outside the shape: :mod:`autoaccel.boundary.unboxing`), without
    Numba's reference count: the :class:`~autoaccel.boundary.kinds.Native` keeps the data
    alive for the call, and no sequence value outlives the call (it has no boxing, so it can
    be neither returned nor stored in anything returned). Taking a record or row out of a
    sequence then costs no reference-count call: with them, n-body's pair loop ran at 360 ns
    a pair, 8x the hand-written port. A records storage is Numba's native list, freed after the call."""

    def __init__(self, dmm: Any, fe_type: PySequence) -> None:
        storage = fe_type.storage
        members: list[tuple[str, Any]]
        if isinstance(storage, types.List):
            members = [("list", storage)]
        else:
            members = [
                ("data", types.CPointer(storage.dtype)),
                ("shape", types.UniTuple(types.intp, storage.ndim)),
                ("strides", types.UniTuple(types.intp, storage.ndim)),
            ]
        super().__init__(dmm, fe_type, members)


@register_model(PySequenceIterator)
class _IteratorModel(models.StructModel):
    def __init__(self, dmm: Any, fe_type: PySequenceIterator) -> None:
        members = [
            ("index", types.EphemeralPointer(types.intp)),
            ("sequence", fe_type.sequence),
        ]
        super().__init__(dmm, fe_type, members)


# Types -----------------------------------------------------------------------------------


def list_type(dtype: np.dtype, ndim: int) -> PySequence:
    """The type of a list of numbers (``ndim`` 1) or of equal-length lists of them (2)."""
    element = from_dtype(dtype)
    row = PySequence(types.Array(element, 1, "C"), element, "list", "exact")
    return row if ndim == 1 else PySequence(types.Array(element, 2, "C"), row, "list", None)


def records_type(record: Any) -> PySequence:
    """The type of a list of tuples of Numba type ``record`` (read-only: no stores)."""
    return PySequence(types.List(record), record, "list", None)


def buffer_type(source: str, dtype: np.dtype, readonly: bool) -> PySequence:
    """The type of a contiguous 1-D buffer of ``dtype`` (``source``: ``"bytearray"``,
    ``"array('i')"``...): its items read as Python ints (int64) or floats (float64)."""
    element = from_dtype(dtype)
    item = types.float64 if dtype.kind == "f" else types.int64
    store = None if readonly else ("float" if dtype.kind == "f" else "int")
    return PySequence(types.Array(element, 1, "C", readonly=readonly), item, source, store)


# Typing: what compiled code may do with a sequence ----------------------------------------


def _integer(value: Any) -> bool:
    """An integer type whose values all fit int64 (uint64 ones may not)."""
    integer = types.unliteral(value)
    if not isinstance(integer, types.Integer):
        return False
    details: Any = integer  # Numba's type stubs lack these attributes
    return bool(details.signed or details.bitwidth < 64)


def _storable(sequence: PySequence, value: Any) -> bool:
    """Whether ``sequence[i] = value`` stores what the Python object would hold."""
    value = types.unliteral(value)
    if sequence.store == "exact":  # a list holds the object: its class must not change
        return bool(value == sequence.item)
    if sequence.store == "float":
        return isinstance(value, types.Float) or _integer(value)
    return sequence.store == "int" and _integer(value)


@infer_global(len)
class _Len(AbstractTemplate):
    def generic(self, args: tuple, kws: dict) -> Any:
        if len(args) == 1 and isinstance(args[0], PySequence):
            return signature(types.intp, *args)
        return None


@infer_global(bool)
class _Truth(AbstractTemplate):
    def generic(self, args: tuple, kws: dict) -> Any:
        if len(args) == 1 and isinstance(args[0], PySequence):
            return signature(types.boolean, *args)
        return None


def _refused(reason: str) -> None:
    """Record why typing refuses an operation, for the report (the compile then fails)."""
    refusals.append(reason)


@infer_global(operator.getitem)
class _GetItem(AbstractTemplate):
    def generic(self, args: tuple, kws: dict) -> Any:
        if len(args) != 2 or not isinstance(args[0], PySequence):
            return None
        if _integer(args[1]):
            return signature(args[0].item, args[0], types.intp)
        # A list slice is a copy where an array's is a view; other indexes are errors.
        _refused(f"indexes a {args[0].source} with {args[1]} (only ints are compiled) [23]")
        return None


@infer_global(operator.setitem)
class _SetItem(AbstractTemplate):
    def generic(self, args: tuple, kws: dict) -> Any:
        if len(args) != 3 or not isinstance(args[0], PySequence):
            return None
        sequence, index, value = args
        if _integer(index) and _storable(sequence, value):
            return signature(types.none, sequence, types.intp, types.unliteral(value))
        if not _integer(index):
            _refused(f"assigns to a {sequence.source} at {index} (only ints are compiled) [23]")
        else:
            _refused(
                f"stores {types.unliteral(value)} into {sequence}, which the Python object "
                "would not hold as such [23]"
            )
        return None


def _refuse_operator(operation: Any, symbol: str) -> None:
    """Type ``operation`` on a sequence as refused, with the reason for the report."""

    @infer_global(operation)
    class _Refused(AbstractTemplate):
        def generic(self, args: tuple, kws: dict) -> Any:
            found = next((a for a in args if isinstance(a, PySequence)), None)
            if found is not None:
                _refused(f"applies {symbol} to a whole {found.source}, which is not compiled [23]")
            return None


# What a list or buffer means to these operators (concatenation, repetition, comparison of
# whole sequences, membership) is not compiled: each is refused with its reason.
for _operation, _symbol in [
    (operator.add, "+"),
    (operator.iadd, "+="),
    (operator.mul, "*"),
    (operator.imul, "*="),
    (operator.eq, "=="),
    (operator.ne, "!="),
    (operator.lt, "<"),
    (operator.le, "<="),
    (operator.gt, ">"),
    (operator.ge, ">="),
    (operator.contains, "in"),
]:
    _refuse_operator(_operation, _symbol)


# Lowering ---------------------------------------------------------------------------------


def _size(context: Any, builder: Any, sequence_type: PySequence, sequence: Any) -> Any:
    proxy = cgutils.create_struct_proxy(sequence_type)(context, builder, value=sequence)
    if isinstance(sequence_type.storage, types.List):
        return listobj.ListInstance(context, builder, sequence_type.storage, proxy.list).size
    return builder.extract_value(proxy.shape, 0)


def _position(context: Any, builder: Any, index: Any, size: Any) -> Any:
    """``index`` as a position in ``0..size-1``, counting negative ones from the end;
    raises IndexError (the call is handed back) outside, as CPython does."""
    zero = index.type(0)
    index = builder.select(builder.icmp_signed("<", index, zero), builder.add(index, size), index)
    outside = builder.or_(
        builder.icmp_signed("<", index, zero), builder.icmp_signed(">=", index, size)
    )
    with cgutils.if_unlikely(builder, outside):
        context.call_conv.return_user_exc(builder, IndexError, ("sequence index out of range",))
    return index


def _item_pointer(context: Any, builder: Any, sequence_type: PySequence, proxy: Any, index: Any):
    storage = sequence_type.storage
    shape = cgutils.unpack_tuple(builder, proxy.shape)
    strides = cgutils.unpack_tuple(builder, proxy.strides)
    return cgutils.get_item_pointer2(
        context, builder, proxy.data, shape[:1], strides[:1], storage.layout, [index]
    )


def _item(context: Any, builder: Any, sequence_type: PySequence, sequence: Any, index: Any):
    """The item at position ``index`` (checked by the caller), as a new reference."""
    storage = sequence_type.storage
    item_type = sequence_type.item
    proxy = cgutils.create_struct_proxy(sequence_type)(context, builder, value=sequence)
    if isinstance(storage, types.List):
        item = listobj.ListInstance(context, builder, storage, proxy.list).getitem(index)
        context.nrt.incref(builder, item_type, item)
        return item
    if storage.ndim == 2:  # the inner list is the same object: a row view
        shape = cgutils.unpack_tuple(builder, proxy.shape)
        strides = cgutils.unpack_tuple(builder, proxy.strides)
        row = cgutils.create_struct_proxy(item_type)(context, builder)
        row.data = cgutils.pointer_add(builder, proxy.data, builder.mul(index, strides[0]))
        row.shape = context.make_tuple(builder, types.UniTuple(types.intp, 1), [shape[1]])
        row.strides = context.make_tuple(builder, types.UniTuple(types.intp, 1), [strides[1]])
        return row._getvalue()
    pointer = _item_pointer(context, builder, sequence_type, proxy, index)
    value = context.unpack_value(builder, storage.dtype, pointer)
    return context.cast(builder, value, storage.dtype, item_type)


@lower_builtin(len, PySequence)
def _len_impl(context: Any, builder: Any, sig: Any, args: Any) -> Any:
    return _size(context, builder, sig.args[0], args[0])


@lower_builtin(bool, PySequence)
def _truth_impl(context: Any, builder: Any, sig: Any, args: Any) -> Any:
    size = _size(context, builder, sig.args[0], args[0])
    return builder.icmp_signed(">", size, size.type(0))


@lower_builtin(operator.getitem, PySequence, types.intp)
def _getitem_impl(context: Any, builder: Any, sig: Any, args: Any) -> Any:
    sequence_type = sig.args[0]
    size = _size(context, builder, sequence_type, args[0])
    index = _position(context, builder, args[1], size)
    return _item(context, builder, sequence_type, args[0], index)


@lower_builtin(operator.setitem, PySequence, types.intp, types.Any)
def _setitem_impl(context: Any, builder: Any, sig: Any, args: Any) -> Any:
    sequence_type, _, value_type = sig.args
    sequence, index, value = args
    dtype = sequence_type.storage.dtype
    size = _size(context, builder, sequence_type, sequence)
    index = _position(context, builder, index, size)
    if sequence_type.store == "int":
        low, high = _bounds(dtype)
        number = context.cast(builder, value, value_type, types.int64)
        outside = builder.or_(
            builder.icmp_signed("<", number, number.type(low)),
            builder.icmp_signed(">", number, number.type(high)),
        )
        with cgutils.if_unlikely(builder, outside):
            context.call_conv.return_user_exc(
                builder, ValueError, ("value out of range for the buffer's items",)
            )
    proxy = cgutils.create_struct_proxy(sequence_type)(context, builder, value=sequence)
    pointer = _item_pointer(context, builder, sequence_type, proxy, index)
    context.pack_value(builder, dtype, context.cast(builder, value, value_type, dtype), pointer)
    if sequence_type.source == "list":  # set the written mark, after the last element
        one = context.get_constant(dtype, 1)
        context.pack_value(builder, dtype, one, cgutils.gep(builder, proxy.data, size))
    return context.get_dummy_value()


@functools.cache
def _bounds(dtype: Any) -> tuple[int, int]:
    info = np.iinfo(str(dtype))
    return int(info.min), int(info.max)


@lower_builtin("getiter", PySequence)
def _getiter(context: Any, builder: Any, sig: Any, args: Any) -> Any:
    iterator = context.make_helper(builder, sig.return_type)
    iterator.index = cgutils.alloca_once_value(builder, context.get_constant(types.intp, 0))
    iterator.sequence = args[0]
    context.nrt.incref(builder, sig.args[0], args[0])
    return impl_ret_new_ref(context, builder, sig.return_type, iterator._getvalue())


@lower_builtin("iternext", PySequenceIterator)
@iternext_impl(RefType.NEW)
def _iternext(context: Any, builder: Any, sig: Any, args: Any, result: Any) -> None:
    sequence_type = sig.args[0].sequence
    iterator = context.make_helper(builder, sig.args[0], value=args[0])
    index = builder.load(iterator.index)
    valid = builder.icmp_signed(
        "<", index, _size(context, builder, sequence_type, iterator.sequence)
    )
    result.set_valid(valid)
    with builder.if_then(valid):
        result.yield_(_item(context, builder, sequence_type, iterator.sequence, index))
        builder.store(builder.add(index, index.type(1)), iterator.index)
