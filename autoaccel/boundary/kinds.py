"""What a converted value is: its kind, its class, and the Numba type both stand for.

Why this design: a converted value's Numba type must be known without typing it again on each
call. Numba's dispatcher types an argument in C from its class where it can; for other objects
it reads ``_numba_type_``, but only after its type fingerprint failed, and a tuple holding such
objects it types in Python, item by item (40 us for spectral_norm's ``(i, u)``, as long as the
call itself). So every kind of converted value has a class of its own: a :class:`Native`
subclass for a list or buffer, a :class:`NativeTuple` subclass for a tuple holding converted
values, each with its kind and Numba type as class attributes. Their kinds are hashable and
Numba-free, so screening before Numba is imported builds the same objects.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import Any, NamedTuple

from autoaccel.errors import Rejection
from autoaccel.lazy_numpy import loaded, np

_SCALARS: frozenset[type] = frozenset((float, int, bool, complex, str, type(None)))


class Unconvertible(Rejection):
    """A value the boundary does not convert; ``str(exc)`` says why, for the report."""


class Kind(NamedTuple):
    """How one list or buffer converts.

    Attributes:
        tag: ``"list"`` (numbers), ``"records"`` (tuples), ``"buffer"`` or ``"object"``.
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
    """A NumPy array inside a converted tuple: dtype, dimensions, layout and writability."""

    dtype: str
    ndim: int
    layout: str
    writeable: bool


class Native:
    """A converted list or buffer, as compiled code receives it (one subclass per kind).

    Attributes:
        storage: the data: an array (a fresh one a list's numbers are read into, or a view
            of a buffer), or a Python list of converted records.
        source: the object it was converted from.
        kind: its :class:`Kind` (a class attribute).
        _numba_type_: its Numba type (a class attribute; ``None`` until Numba is imported).
    """

    __slots__ = ("source", "storage")
    kind: Kind
    _numba_type_: Any = None

    def __init__(self, storage: Any, source: Any) -> None:
        self.storage = storage
        self.source = source

    def __repr__(self) -> str:
        return f"<autoaccel converted {type(self.source).__name__} {self.kind}>"


class NativeObject(Native):
    """A converted object (:mod:`autoaccel.boundary.objects`): ``storage`` is ``(buffer,
    *reference fields)``, ``source`` the object, ``packed`` its scalar fields' bytes as
    packed before the call (one subclass per kind)."""

    __slots__ = ("packed",)

    def __init__(self, storage: Any, source: Any, packed: bytes = b"") -> None:
        super().__init__(storage, source)
        self.packed = packed


class NativeTuple(tuple):
    """A tuple holding converted values (one subclass per kind of tuple)."""

    __slots__ = ()
    kind: Any = None
    _numba_type_: Any = None


_CLASSES: dict[Any, Any] = {}
# Classes whose instances all have one Numba type: Python scalars, NumPy scalar types and
# the classes of converted values (grown as they are made).
_EXACT: set[type] = set(_SCALARS)


def native_class(kind: Any, typed: bool) -> Any:
    """The class of converted values of ``kind`` (a :class:`Kind`, or a tuple of kinds for a
    :class:`NativeTuple`), with its Numba type set if ``typed`` (which imports Numba)."""
    cls: Any = _CLASSES.get(kind)
    if cls is None:
        base = (
            NativeTuple if type(kind) is tuple else NativeObject if kind.tag == "object" else Native
        )
        cls = _CLASSES[kind] = type(base.__name__, (base,), {"__slots__": (), "kind": kind})
        _EXACT.add(cls)
    if typed and cls._numba_type_ is None:
        cls._numba_type_ = numba_type(kind)
    return cls


def exact_classes(values: Iterable[Any]) -> tuple[type, ...] | None:
    """The classes of converted ``values`` if they tell the values' Numba types exactly, else
    ``None`` (an array's class does not tell its dtype, a plain tuple's its items)."""
    classes = tuple(map(type, values))
    for cls in classes:
        if cls not in _EXACT:
            if not (loaded() and issubclass(cls, np.generic)) or cls is np.object_:
                return None
            _EXACT.add(cls)
    return classes


def kind_of(value: Any) -> Any:
    """The kind of a value inside a converted tuple: what its Numba type is built from.

    Raises:
        Unconvertible: a value compiled code cannot receive inside a tuple.
    """
    cls = type(value)
    if cls in _SCALARS:
        return cls
    if cls is tuple or cls is list:
        return tuple([kind_of(item) for item in value])
    if isinstance(value, (Native, NativeTuple)):
        return value.kind
    if loaded():  # else no value is NumPy's (autoaccel/lazy_numpy.py)
        if isinstance(value, np.generic):
            return value.dtype
        if cls is np.ndarray and value.flags.aligned:
            flags = value.flags
            layout = "C" if flags.c_contiguous else "F" if flags.f_contiguous else "A"
            return tuple.__new__(ArrayKind, (value.dtype.str, value.ndim, layout, flags.writeable))
    raise Unconvertible(f"takes a {cls.__name__} inside a tuple or list, which is not converted")


@functools.cache
def _numba_types() -> Any:
    """:mod:`autoaccel.boundary.numba_types`, with Numba's ``typeof`` taught the converted
    values (its generic path tries the buffer protocol first, and would type a tuple
    subclass item by item)."""
    from numba.extending import typeof_impl

    from autoaccel.boundary import instance_type, numba_types, unboxing  # noqa: F401 (registers)

    for base in (Native, NativeTuple):
        typeof_impl.register(base)(lambda value, context: value._numba_type_)
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
        if kind.tag == "object":
            from autoaccel.boundary.instance_type import instance_type

            return instance_type(kind.item, numba_type)
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
