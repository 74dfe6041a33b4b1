"""Converting a hot call's arguments, and giving the caller exactly the changes it would see.

Why this design: most refusals on real code were about the arguments (issue 18). A list of
floats, ints or bools, a list of equal-length such lists, a list of tuples of those (the
pyperformance n-body layout), ``bytes``, ``bytearray``, ``array.array`` and ``memoryview``
are converted per call into :class:`Native` values that the compiled code sees as
:class:`~autoaccel.boundary.numba_types.PySequence` types, which allow only what CPython
would answer the same way. ``str`` needs no conversion: Numba reads it in place.

- A list's numbers go into a fresh array (its *storage*); the unboxer fills it from the list
  at C speed and checks every element's class, so a list whose first element is a float
  holds only floats (a mismatch hands the call back). After a call that answered, every
  list the call may have written (``written`` positions, from the typed IR) gets its new
  values with ``lst[:] = storage.tolist()``: the same list object, the same length, elements
  of the list's own class. A call handed back never writes, so the list is as it was.
- A buffer is a view (``np.frombuffer``): writes land in the caller's memory, so, like
  arrays, the buffers a call may write are copied first (:func:`save`) and put back
  (:func:`restore`) when the call is handed back.
- Aliasing is kept: within one call each object is converted once, so a list passed twice,
  or reached from two tuples, is one storage, and a write through one name is seen through
  the other, as in CPython. The rows of a list of lists are views of its storage.

Which kind a value converts to is decided from its class and first element, as Numba's own
type fingerprint does, so the exact key of a hot call (types and Numba's fingerprints)
already tells a list of floats from a list of ints; :func:`refusal` checks every element,
once, before the first compile.

The functions here serve any unit of compiled code (a function's call, a loop's live
variables): :func:`refusal`, :func:`carries`, :func:`convert`, :func:`write_back`,
:func:`save`, :func:`restore` and :func:`kind`.
"""

from __future__ import annotations

import array
import functools
import operator
from collections.abc import Iterable
from typing import Any, NamedTuple

import numpy as np

from autoaccel.backends.screening import argument_refusal
from autoaccel.errors import Rejection

# A list converts to an array of the dtype of its elements' (exact) class.
_LIST_DTYPES = {float: np.dtype(np.float64), int: np.dtype(np.int64), bool: np.dtype(np.bool_)}
# array.array typecodes whose items are ints within int64, or floats ('L', 'Q': uint64).
_ARRAY_CODES = frozenset("bBhHiIlqfd")
_BUFFERS = (bytes, bytearray, array.array, memoryview)
_CONVERTED = frozenset((list, *_BUFFERS))
_SCALARS = frozenset((float, int, bool, complex, str, type(None)))
_INT64 = (-(2**63), 2**63 - 1)


class Unconvertible(Rejection):
    """A value the boundary does not convert; ``str(exc)`` says why, for the report."""


class Kind(NamedTuple):
    """How one list or buffer converts: hashable, Numba-free.

    Attributes:
        tag: ``"list"`` (numbers), ``"records"`` (tuples) or ``"buffer"``.
        dtype: the storage's dtype (``np.dtype.str``); empty for records.
        ndim: 2 for a list of lists, else 1.
        readonly: the buffer cannot be written (``bytes``, a read-only memoryview).
        source: the buffer's kind for the type's name (``"bytearray"``, ``"array('d')"``).
        item: a records list's element kind.
    """

    tag: str
    dtype: str = ""
    ndim: int = 1
    readonly: bool = False
    source: str = "list"
    item: Any = None


class ArrayKind(NamedTuple):
    """A NumPy array inside a record: dtype, dimensions, layout and writability."""

    dtype: str
    ndim: int
    layout: str
    writeable: bool


class NativeTuple(tuple):
    """A tuple holding converted values; each kind of tuple is a subclass of its own.

    Numba types a plain tuple holding :class:`Native` values in Python on every call (its C
    fingerprint does not know them): 40 us for spectral_norm's ``(i, u)``, as long as the
    call itself. A subclass whose ``_numba_type_`` is a class attribute is typed in C.
    """

    __slots__ = ()
    kind: Any = None
    _numba_type_: Any = None


@functools.cache
def _tuple_class(kind: tuple) -> type:
    """The :class:`NativeTuple` subclass of tuples of ``kind`` (imports Numba)."""
    return type("NativeTuple", (NativeTuple,), {"kind": kind, "_numba_type_": numba_type(kind)})


class Native:
    """A converted list or buffer, as compiled code receives it.

    Attributes:
        storage: the data: an array (a fresh one a list's numbers are read into, or a view
            of a buffer), or a Python list of converted records.
        kind: its :class:`Kind`.
        source: the object it was converted from.
        _numba_type_: its Numba type, read by Numba's dispatcher instead of typing the
            object (``None`` when only screening, before Numba is imported).
    """

    __slots__ = ("_numba_type_", "kind", "source", "storage")

    def __init__(self, storage: Any, kind: Kind, source: Any, numba_type: Any) -> None:
        self.storage = storage
        self.kind = kind
        self.source = source
        self._numba_type_ = numba_type

    def __repr__(self) -> str:
        return f"<autoaccel converted {type(self.source).__name__} {self.kind}>"


def refusal(values: Iterable[Any]) -> str | None:
    """Why these argument values cannot be passed to a variant, or ``None``.

    Every element of every list is checked (once per hot signature, before compiling); the
    rest is :func:`autoaccel.backends.screening.argument_refusal`'s, except that ``str`` is
    accepted. Numba is not imported.
    """
    walk = _Walk(checked=True)
    try:
        walk.values(values)
    except Unconvertible as exc:
        return str(exc)
    if walk.lists and walk.numpy_scalars:
        # A list element computed from a NumPy scalar is a NumPy scalar in CPython; the
        # write-back would store a Python number.
        return "takes NumPy scalars together with lists [11]"
    return None


def carries(values: Iterable[Any]) -> bool:
    """Whether any of ``values`` (or of the tuples among them) is converted by :func:`convert`."""
    for value in values:
        kind = type(value)
        if kind in _CONVERTED or (kind is tuple and carries(value)):
            return True
    return False


def convert(values: Iterable[Any]) -> tuple:
    """The values compiled code is called with: lists and buffers as :class:`Native`.

    Other values are passed as they are (tuples are rebuilt around what they hold).

    Raises:
        Unconvertible: a value of a kind the boundary converts cannot be converted this time
            (a ragged list of lists, a list reached both as a row and on its own...).
    """
    return _Walk(checked=False, typed=True).values(values)


def kind(value: Any) -> Any:
    """A hashable description of how ``value`` converts (its class if it does not).

    Raises:
        Unconvertible: as :func:`convert`.
    """
    return _kind(_Walk(checked=False).value(value))


def write_back(natives: tuple, written: Iterable[int]) -> None:
    """Give the lists reachable from the ``written`` positions of ``natives`` their new values.

    Called after a call that answered. Each list keeps its identity and length and gets
    elements of its own class (``tolist`` of an int64 array gives ints); a list reached
    twice is written once.
    """
    done: set[int] = set()
    for position in written:
        _write_back(natives[position], done)


def _write_back(value: Any, done: set[int]) -> None:
    if isinstance(value, tuple):
        for item in value:
            _write_back(item, done)
    elif type(value) is Native and id(value) not in done:
        done.add(id(value))
        kind = value.kind
        if kind.tag == "records":
            for item in value.storage:
                _write_back(item, done)
        elif kind.tag == "list" and kind.ndim == 1:
            value.source[:] = value.storage.tolist()
        elif kind.tag == "list":
            for row, numbers in zip(value.source, value.storage.tolist(), strict=True):
                row[:] = numbers


def save(value: Any) -> Any:
    """What :func:`restore` needs to undo writes to the caller's memory held in ``value``.

    ``value`` is one converted argument (what :func:`convert` made of it): buffers and
    arrays are copied, lists are not (their storage is private until written back).
    """
    kind = type(value)
    if isinstance(value, tuple):
        return tuple([save(item) for item in value])
    if kind is np.ndarray:
        return value.copy()
    if kind is Native:
        if value.kind.tag == "buffer":
            return None if value.kind.readonly else value.storage.copy()
        if value.kind.tag == "records":
            return [save(item) for item in value.storage]
    return None


def restore(value: Any, saved: Any) -> None:
    """Undo the writes to the caller's memory in ``value`` since ``saved = save(value)``."""
    kind = type(value)
    if isinstance(value, tuple):
        for item, item_saved in zip(value, saved, strict=True):
            restore(item, item_saved)
    elif kind is np.ndarray:
        if value.flags.writeable:
            np.copyto(value, saved)
    elif kind is Native and saved is not None:
        if value.kind.tag == "buffer":
            np.copyto(value.storage, saved)
        else:
            for item, item_saved in zip(value.storage, saved, strict=True):
                restore(item, item_saved)


class _Walk:
    """One conversion: the values of a call, each object converted once (aliasing)."""

    __slots__ = ("checked", "lists", "memo", "numpy_scalars", "typed")

    def __init__(self, checked: bool, typed: bool = False) -> None:
        self.checked = checked  # screening: check every element here, and the other values
        self.typed = typed  # give each Native its Numba type (imports Numba)
        self.memo: dict[int, Any] = {}
        self.lists = self.numpy_scalars = False  # seen, when checked

    def values(self, values: Iterable[Any]) -> tuple:
        return tuple([self.value(value) for value in values])

    def value(self, value: Any) -> Any:
        kind = type(value)
        if kind is tuple:
            items = [self.value(item) for item in value]
            if all(map(operator.is_, items, value)):
                return value  # nothing converted: Numba types it in C as it is
            return _tuple_class(_kind(items))(items) if self.typed else tuple(items)
        if kind is list or kind in _BUFFERS:
            known = self.memo.get(id(value))
            if known is None:
                known = self.memo[id(value)] = (
                    self.of_list(value) if kind is list else self.buffer(value)
                )
            elif type(known) is tuple:  # a row of a list of lists, now reached on its own
                storage, index, row_kind = known
                known = self.memo[id(value)] = self.native(storage[index], row_kind, value)
            return known
        if self.checked and kind is not str:
            reason = argument_refusal((value,))
            if reason:
                raise Unconvertible(reason)
            self.numpy_scalars |= isinstance(value, np.generic)
        return value

    def native(self, storage: Any, kind: Kind, source: Any) -> Native:
        return Native(storage, kind, source, numba_type(kind) if self.typed else None)

    def of_list(self, value: list) -> Native:
        self.lists = True
        if not value:
            return self.numbers(value, float)
        first = type(value[0])
        if first in _LIST_DTYPES:
            return self.numbers(value, first)
        if first is list:
            return self.rows(value)
        if first is tuple:
            return self.records(value)
        raise Unconvertible(
            f"takes a list of {first.__name__} (lists of floats, ints, bools, lists of those "
            "and tuples are converted) [23]"
        )

    def numbers(self, value: list, element: type) -> Native:
        if self.checked:
            _check_elements(value, element)
        dtype = _LIST_DTYPES[element]
        return self.native(np.empty(len(value), dtype), Kind("list", dtype.str), value)

    def rows(self, value: list) -> Native:
        try:
            widths = {*map(len, value)}
        except TypeError:
            raise Unconvertible("takes a list mixing lists and other values [23]") from None
        if len(widths) > 1:
            raise Unconvertible("takes a list of lists of different lengths (ragged) [23]")
        ids = [*map(id, value)]
        if len({*ids}) < len(ids) or not self.memo.keys().isdisjoint(ids):
            raise Unconvertible("takes a list of lists in which one list is reached twice [24]")
        width = widths.pop()
        element = type(value[0][0]) if width else float
        if element not in _LIST_DTYPES:
            raise Unconvertible(f"takes a list of lists of {element.__name__} [23]")
        if self.checked:
            if {*map(type, value)} != {list}:
                raise Unconvertible("takes a list mixing lists and other values [23]")
            for row in value:
                _check_elements(row, element)
        dtype = _LIST_DTYPES[element]
        storage = np.empty((len(value), width), dtype)
        row_kind = Kind("list", dtype.str)
        for index, key in enumerate(ids):
            self.memo[key] = (storage, index, row_kind)  # a Native if reached on its own
        return self.native(storage, Kind("list", dtype.str, ndim=2), value)

    def records(self, value: list) -> Native:
        if self.checked and {*map(type, value)} != {tuple}:
            raise Unconvertible("takes a list mixing tuples and other values [23]")
        items = [self.value(item) for item in value]
        kinds = {*map(_kind, items)}
        if len(kinds) > 1:
            raise Unconvertible("takes a list of tuples of different kinds [23]")
        return self.native(items, Kind("records", item=kinds.pop()), value)

    def buffer(self, value: Any) -> Native:
        kind = type(value)
        if kind is bytes or kind is bytearray:
            storage = np.frombuffer(value, np.uint8)
            return self.native(
                storage, Kind("buffer", "|u1", source=kind.__name__, readonly=kind is bytes), value
            )
        if kind is array.array:
            if value.typecode not in _ARRAY_CODES:
                raise Unconvertible(
                    f"takes an array('{value.typecode}'), whose items Numba cannot hold exactly"
                )
            storage = np.frombuffer(value, value.typecode)
            return self.native(
                storage,
                Kind("buffer", storage.dtype.str, source=f"array('{value.typecode}')"),
                value,
            )
        storage = _memoryview_storage(value)
        source = f"memoryview('{value.format}')"
        buffer_kind = Kind("buffer", storage.dtype.str, readonly=value.readonly, source=source)
        return self.native(storage, buffer_kind, value)


def _check_elements(values: list, element: type) -> None:
    """Every element is exactly of class ``element``, and ints fit int64."""
    classes = {*map(type, values)}
    if len(classes) > 1 or (classes and element not in classes):
        names = ", ".join(sorted(c.__name__ for c in classes))
        raise Unconvertible(
            f"takes a list holding {names} together (converted lists hold one class) [23]"
        )
    if element is int and values and (min(values) < _INT64[0] or max(values) > _INT64[1]):
        raise Unconvertible("takes a list holding an int beyond int64 [2]")


def _memoryview_storage(view: memoryview) -> np.ndarray:
    """A NumPy view of a contiguous 1-D memoryview of ints within int64 or of floats."""
    if view.ndim != 1 or not view.c_contiguous:
        raise Unconvertible("takes a memoryview that is not contiguous and one-dimensional")
    try:
        storage = np.asarray(view)
    except (ValueError, TypeError) as exc:
        raise Unconvertible(f"takes a memoryview NumPy cannot view: {exc}") from None
    dtype = storage.dtype
    if (
        dtype.kind == "i"
        or (dtype.kind == "u" and dtype.itemsize < 8)
        or (dtype.kind == "f" and dtype.itemsize in (4, 8))
    ):
        return storage
    raise Unconvertible(
        f"takes a memoryview of format '{view.format}', whose items Numba cannot hold exactly"
    )


def _kind(value: Any) -> Any:
    """The kind of a converted value: what its Numba type is built from."""
    kind = type(value)
    if kind is Native:
        return value.kind
    if kind is tuple or kind is list:
        return tuple([_kind(item) for item in value])
    if kind in _SCALARS:
        return kind
    if isinstance(value, NativeTuple):
        return value.kind
    if isinstance(value, np.generic):
        return np.dtype(type(value))
    if kind is np.ndarray and value.flags.aligned:
        layout = "C" if value.flags.c_contiguous else "F" if value.flags.f_contiguous else "A"
        return ArrayKind(value.dtype.str, value.ndim, layout, bool(value.flags.writeable))
    raise Unconvertible(f"takes a {kind.__name__} inside a tuple or list, which is not converted")


@functools.cache
def _numba_types() -> Any:
    """:mod:`autoaccel.boundary.numba_types`, with Numba's ``typeof`` taught the converted
    values (its generic path tries the buffer protocol first, and a tuple subclass would be
    typed item by item)."""
    from numba.extending import typeof_impl

    from autoaccel.boundary import numba_types, unboxing  # noqa: F401 (registers the unboxer)

    for kind in (Native, NativeTuple):
        typeof_impl.register(kind)(lambda value, context: value._numba_type_)
    return numba_types


@functools.cache
def numba_type(kind: Any) -> Any:
    """The Numba type of a converted value of ``kind`` (imports Numba)."""
    from numba import types

    numba_types = _numba_types()

    if type(kind) is Kind:
        dtype = np.dtype(kind.dtype) if kind.dtype else None
        if kind.tag == "list":
            return numba_types.list_type(dtype, kind.ndim)
        if kind.tag == "records":
            return numba_types.records_type(numba_type(kind.item))
        return numba_types.buffer_type(kind.source, dtype, kind.readonly)
    if type(kind) is tuple:
        return types.Tuple([numba_type(item) for item in kind])
    if type(kind) is ArrayKind:
        element = numba_types.from_dtype(np.dtype(kind.dtype))
        layout: Any = kind.layout
        return types.Array(element, kind.ndim, layout, readonly=not kind.writeable)
    if isinstance(kind, np.dtype):
        return numba_types.from_dtype(kind)
    scalars: dict[Any, Any] = {float: types.float64, int: types.int64, bool: types.boolean}
    scalars.update({complex: types.complex128, str: types.unicode_type, type(None): types.none})
    return scalars[kind]
