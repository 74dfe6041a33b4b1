"""Unboxing: how a converted list or buffer becomes a :class:`PySequence` value in compiled code.

Why this design: the Python side (:mod:`autoaccel.boundary.convert`) only decides a value's kind
and allocates its storage; everything per element happens here, in the compiled wrapper, at C
speed. A list of numbers arrives as an empty array of its shape and the list itself: its
elements are read into the array, each checked to be exactly of the list's element class.
Converting in Python instead (``np.array``, then ``{*map(type, xs)}`` for the classes) took
~11 us for spectral_norm's 130 floats on the development machine, several times the compiled
call it fed. A list of records (tuples) is read into a native list without Numba's per-item
typing call back into Python.

The unboxer follows Numba's extension API (``@unbox``, docs/source/extending/low-level.rst);
the records loop follows ``numba/core/boxing.py``'s ``_python_list_to_native``.
"""

from __future__ import annotations

import struct
import sys
from typing import Any

from llvmlite import ir
from numba.core import cgutils, types
from numba.cpython import listobj
from numba.extending import NativeValue
from numba.extending import unbox as register_unbox

from autoaccel.boundary.instance_type import PyInstance
from autoaccel.boundary.numba_types import PySequence
from autoaccel.errors import Deoptimize

# Where CPython keeps a list's item pointers and a float's value, read in place instead of
# through PyList_GetItem and PyFloat_AsDouble (a call per element each; the fill of a 90x90
# list of lists took 12 ns an element with them). The layouts (``PyListObject.ob_item`` after
# the variable-size header, ``PyFloatObject.ob_fval`` after the header) are those of every
# supported CPython; where the sizes say otherwise (a debug build) the calls are used.
_WORD = struct.calcsize("P")
_HEADER = object.__basicsize__
_LIST_ITEMS = _HEADER + _WORD if list.__basicsize__ == _HEADER + 3 * _WORD else None
_FLOAT_VALUE = _HEADER if float.__basicsize__ == _HEADER + 8 else None
_INT_DIGITS = (
    _HEADER + _WORD
    if (int.__basicsize__, int.__itemsize__, sys.int_info.bits_per_digit)
    == (_HEADER + _WORD, 4, 30)
    else None
)

# The exact Python class each list storage's elements must have (no subclass, no int in a
# float list): CPython's C names of the type objects.
_ELEMENT_CLASSES = {"float64": "PyFloat_Type", "int64": "PyLong_Type", "bool": "PyBool_Type"}


@register_unbox(PySequence)
def _unbox(typ: PySequence, obj: Any, c: Any) -> NativeValue:
    """A :class:`~autoaccel.boundary.kinds.Native`'s ``storage`` as the sequence's data.

    A list's elements are read from ``source`` into the storage; one of another class raises
    ``Deoptimize``, which hands the call back to the original.
    """
    return _unboxed(typ, obj, c, _unbox_sequence)


def _unboxed(typ: Any, obj: Any, c: Any, work: Any) -> NativeValue:
    """The value ``work(typ, obj, c, result, error)`` stores into ``result`` (clearing
    ``error`` on success), run only while no Python exception is pending. Numba's tuple
    unboxer goes on unboxing a tuple's items after one failed; touching Python objects then
    would replace the pending ``Deoptimize`` (a list whose elements changed class) with a
    bogus ``AttributeError``."""
    builder = c.builder
    error = cgutils.alloca_once_value(builder, cgutils.true_bit)
    result = cgutils.alloca_once(builder, c.context.get_value_type(typ), zfill=True)
    with builder.if_then(cgutils.is_null(builder, c.pyapi.err_occurred()), likely=True):
        work(typ, obj, c, result, error)
    return NativeValue(builder.load(result), is_error=builder.load(error))


def _unbox_sequence(typ: PySequence, obj: Any, c: Any, result: Any, error: Any) -> None:
    """:func:`_unbox`'s work, storing the value into ``result`` and ``False`` into
    ``error`` on success."""
    builder = c.builder
    storage = c.pyapi.object_getattr_string(obj, "storage")
    with builder.if_then(cgutils.is_not_null(builder, storage), likely=True):
        proxy = cgutils.create_struct_proxy(typ)(c.context, builder)
        if isinstance(typ.storage, types.List):
            proxy.list, failed = _unbox_records(typ.storage, storage, c)
        else:
            failed = _unbox_array(typ, proxy, storage, c)
            if typ.source == "list":
                failed = _filled(typ, obj, proxy, failed, c)
        c.pyapi.decref(storage)
        builder.store(proxy._getvalue(), result)
        builder.store(failed, error)


def _unbox_array(typ: PySequence, proxy: Any, storage: Any, c: Any) -> Any:
    """Unbox the ndarray ``storage`` into ``proxy``'s data, shape and strides; failed?

    A list's storage has its written mark after the last element of each row
    (:mod:`autoaccel.boundary.convert`): the sequence's last axis is one shorter.
    Numba's array unboxing takes a reference to the array for the compiled code; it is
    given back at once, since the Native holds the array for the whole call.
    """
    builder = c.builder
    native = c.unbox(typ.storage, storage)
    with builder.if_then(builder.not_(native.is_error), likely=True):
        array = c.context.make_array(typ.storage)(c.context, builder, value=native.value)
        proxy.data = array.data
        shape = cgutils.unpack_tuple(builder, array.shape)
        if typ.source == "list":
            shape[-1] = builder.sub(shape[-1], shape[-1].type(1))
        proxy.shape = c.context.make_tuple(builder, types.UniTuple(types.intp, len(shape)), shape)
        proxy.strides = array.strides
        c.context.nrt.decref(builder, typ.storage, native.value)
    return native.is_error


def _filled(typ: PySequence, obj: Any, proxy: Any, failed: Any, c: Any) -> Any:
    """Read the list ``obj.source`` into the unboxed storage; whether anything failed."""
    builder = c.builder
    failure = cgutils.alloca_once_value(builder, failed)
    with builder.if_then(builder.not_(failed), likely=True):
        source = c.pyapi.object_getattr_string(obj, "source")
        with builder.if_else(cgutils.is_null(builder, source), likely=False) as (absent, present):
            with absent:
                builder.store(cgutils.true_bit, failure)
            with present:
                shape = cgutils.unpack_tuple(builder, proxy.shape)
                element = typ.storage.dtype
                if typ.storage.ndim == 1:
                    _fill_row(c, source, proxy.data, shape[0], element, failure)
                else:
                    _fill_rows(c, source, proxy.data, shape, element, failure)
                c.pyapi.decref(source)
        with builder.if_then(builder.load(failure), likely=False):
            _deoptimize(c, "a list's elements are not all of the class its first one has")
    return builder.load(failure)


def _fill_rows(c: Any, rows: Any, data: Any, shape: list, element: Any, failure: Any) -> None:
    builder = c.builder
    with cgutils.for_range(builder, shape[0]) as loop:
        row = c.pyapi.list_getitem(rows, loop.index)
        is_list = builder.icmp_unsigned(
            "==", c.pyapi.get_type(row), c.pyapi.get_c_object("PyList_Type")
        )
        with builder.if_then(builder.not_(is_list), likely=False):
            builder.store(cgutils.true_bit, failure)
            loop.do_break()
        row_stride = builder.add(shape[1], shape[1].type(1))  # the row and its mark
        start = cgutils.gep(builder, data, builder.mul(loop.index, row_stride))
        _fill_row(c, row, start, shape[1], element, failure)
        with builder.if_then(builder.load(failure), likely=False):
            loop.do_break()


def _fill_row(c: Any, source: Any, data: Any, size: Any, element: Any, failure: Any) -> None:
    """Read Python list ``source`` (``size`` items, all of ``element``'s class) into ``data``,
    and clear its written mark (``data[size]``)."""
    builder = c.builder
    zero = c.context.get_constant(element, 0)
    c.context.pack_value(builder, element, zero, cgutils.gep(builder, data, size))
    same_size = builder.icmp_signed("==", c.pyapi.list_size(source), size)
    with builder.if_else(same_size, likely=True) as (sized, resized):
        with resized:
            builder.store(cgutils.true_bit, failure)
        with sized:
            _fill_items(c, source, data, size, element, failure)


def _fill_items(c: Any, source: Any, data: Any, size: Any, element: Any, failure: Any) -> None:
    """:func:`_fill_row`'s loop over the ``size`` items of ``source``."""
    builder = c.builder
    pyapi = c.pyapi
    expected = pyapi.get_c_object(_ELEMENT_CLASSES[str(element)])
    items = _at(builder, source, _LIST_ITEMS, pyapi.pyobj.as_pointer())
    with cgutils.for_range(builder, size) as loop:
        if items is None:
            item = pyapi.list_getitem(source, loop.index)  # borrowed
        else:  # nothing runs Python code during the fill: the items stay where they are
            item = builder.load(builder.gep(items, [loop.index]))
        exact = builder.icmp_unsigned("==", pyapi.get_type(item), expected)
        with builder.if_then(builder.not_(exact), likely=False):
            builder.store(cgutils.true_bit, failure)
            loop.do_break()
        if element == types.float64:
            number = _at(builder, item, _FLOAT_VALUE, ir.DoubleType())
            if number is None:
                number = pyapi.float_as_double(item)
        elif element == types.boolean:
            number = builder.icmp_unsigned("==", item, pyapi.get_c_object("_Py_TrueStruct"))
        else:
            number = _int_value(c, item, failure, loop)
        c.context.pack_value(builder, element, number, cgutils.gep(builder, data, loop.index))


def _int_value(c: Any, item: Any, failure: Any, loop: Any) -> Any:
    """The int64 value of the exact ``int`` ``item``: read in place where it has at most one
    digit (CPython's compact ints: every int below 2**30 in magnitude), else through
    ``PyLong_AsLongLong``."""
    builder = c.builder
    compact = _compact_int(builder, item)
    if compact is None:
        return _long_value(c, item, failure, loop)
    slot = cgutils.alloca_once(builder, ir.IntType(64))
    with builder.if_else(compact[0], likely=True) as (small, large):
        with small:
            builder.store(compact[1], slot)
        with large:
            builder.store(_long_value(c, item, failure, loop), slot)
    return builder.load(slot)


def _long_value(c: Any, item: Any, failure: Any, loop: Any) -> Any:
    """``PyLong_AsLongLong(item)``; one beyond int64 stores ``failure`` and leaves ``loop``."""
    builder = c.builder
    number = c.pyapi.long_as_longlong(item)
    minus_one = builder.icmp_signed("==", number, number.type(-1))
    overflowed = builder.and_(minus_one, cgutils.is_not_null(builder, c.pyapi.err_occurred()))
    with builder.if_then(overflowed, likely=False):
        builder.store(cgutils.true_bit, failure)  # beyond int64 [2]
        loop.do_break()
    return number


def _compact_int(builder: Any, item: Any) -> tuple[Any, Any] | None:
    """``(compact, value)`` of an exact ``int``: whether it has at most one digit, and its
    value if so; ``None`` where the layout is not known.

    The word after the object header is the signed digit count up to 3.11 (``ob_size``), and
    from 3.12 the digit count shifted by 3 above two sign bits (``lv_tag``: 0 positive, 1
    zero, 2 negative; Include/cpython/longintrepr.h); the first 30-bit digit follows it.
    """
    if _INT_DIGITS is None:
        return None
    word = ir.IntType(64)
    tag = _at(builder, item, _HEADER, word)
    digit = builder.zext(_at(builder, item, _INT_DIGITS, ir.IntType(32)), word)
    if sys.version_info >= (3, 12):
        compact = builder.icmp_unsigned("<", tag, word(2 << 3))
        sign = builder.sub(word(1), builder.and_(tag, word(3)))
    else:
        compact = builder.icmp_unsigned("<=", builder.add(tag, word(1)), word(2))
        sign = tag
    return compact, builder.mul(sign, digit)


def _at(builder: Any, obj: Any, offset: int | None, kind: Any) -> Any:
    """The ``kind`` value at byte ``offset`` of Python object ``obj``, or ``None`` where the
    offset is unknown."""
    if offset is None:
        return None
    address = builder.gep(
        builder.bitcast(obj, ir.IntType(8).as_pointer()), [ir.Constant(ir.IntType(64), offset)]
    )
    return builder.load(builder.bitcast(address, kind.as_pointer()))


def _deoptimize(c: Any, message: str) -> None:
    """Set ``autoaccel.errors.Deoptimize(message)`` as the pending Python exception."""
    pyapi = c.pyapi
    pyapi.err_clear()
    kind = pyapi.unserialize(pyapi.serialize_object(Deoptimize))
    pyapi.err_set_string(kind, message)
    pyapi.decref(kind)


def _unbox_records(list_type: Any, obj: Any, c: Any) -> tuple[Any, Any]:
    """A native list of the records in Python list ``obj``: ``(value, failed)``.

    Numba's ``_python_list_to_native`` types every item again with a call back into Python
    and keeps the native list on the Python object for reflection; the conversion built
    these records with one type and never reflects, so neither is done here.
    """
    builder = c.builder
    failed = cgutils.alloca_once_value(builder, cgutils.false_bit)
    result = cgutils.alloca_once(builder, c.context.get_value_type(list_type), zfill=True)
    size = c.pyapi.list_size(obj)
    ok, native = listobj.ListInstance.allocate_ex(c.context, builder, list_type, size)
    with builder.if_else(ok, likely=True) as (if_ok, if_not_ok):
        with if_ok:
            native.size = size
            native.zfill(size.type(0), size)  # a failure part-way decrefs zeros, not garbage
            with cgutils.for_range(builder, size) as loop:
                item = c.pyapi.list_getitem(obj, loop.index)  # borrowed
                value = c.unbox(list_type.dtype, item)
                with builder.if_then(value.is_error, likely=False):
                    builder.store(cgutils.true_bit, failed)
                    loop.do_break()
                native.setitem(loop.index, value.value, incref=False, decref_old_value=False)
            builder.store(native.value, result)
            with builder.if_then(builder.load(failed), likely=False):
                c.context.nrt.decref(builder, list_type, native.value)
        with if_not_ok:
            builder.store(cgutils.true_bit, failed)
    return builder.load(result), builder.load(failed)


@register_unbox(PyInstance)
def _unbox_instance(typ: PyInstance, obj: Any, c: Any) -> NativeValue:
    """A :class:`~autoaccel.boundary.kinds.NativeObject`'s ``storage``: the scalar buffer's
    data pointer and the reference fields.

    The buffer's own reference is given back at once (the converted value holds it for the
    call); the reference fields' are kept in the instance and released by Numba's wrapper
    after the call, with the argument.
    """
    return _unboxed(typ, obj, c, _unbox_fields)


def _unbox_fields(typ: PyInstance, obj: Any, c: Any, result: Any, error: Any) -> None:
    """:func:`_unbox_instance`'s work, storing the value into ``result`` and ``False`` into
    ``error`` on success."""
    builder = c.builder
    storage = c.pyapi.object_getattr_string(obj, "storage")
    with builder.if_then(cgutils.is_not_null(builder, storage), likely=True):
        storage_type = typ.storage_type
        native = c.unbox(storage_type, storage)
        c.pyapi.decref(storage)
        with builder.if_then(builder.not_(native.is_error), likely=True):
            items = cgutils.unpack_tuple(builder, native.value)
            buffer_type = storage_type.types[0]
            buffer = c.context.make_array(buffer_type)(c.context, builder, value=items[0])
            proxy = cgutils.create_struct_proxy(typ)(c.context, builder)
            proxy.data = buffer.data
            c.context.nrt.decref(builder, buffer_type, items[0])
            for index, item in enumerate(items[1:]):
                setattr(proxy, f"ref{index}", item)
            builder.store(proxy._getvalue(), result)
            builder.store(cgutils.false_bit, error)
