"""Buffers at the call boundary: ``bytes``, ``bytearray``, ``array.array`` and ``memoryview``.

A buffer reaches compiled code as a NumPy view of the caller's memory (``np.frombuffer``,
``np.asarray``), without copying: writes land where the caller will see them, which is why
a call that may write one copies it first (:func:`autoaccel.boundary.convert.save`). Only
buffers whose items Numba holds exactly are views: ints within int64 and floats of 4 or 8
bytes. The kind of ``bytes`` and ``bytearray`` is known without NumPy, so screening their
calls does not import it (:mod:`autoaccel.lazy_numpy`).
"""

from __future__ import annotations

import array
import functools
from typing import Any

from autoaccel.boundary.kinds import Kind, Unconvertible
from autoaccel.lazy_numpy import np

BUFFERS = frozenset((bytes, bytearray, array.array, memoryview))
# array.array typecodes whose items are ints within int64, or floats ('L', 'Q': uint64).
_ARRAY_CODES = frozenset("bBhHiIlqfd")


def view(value: Any, wanted: bool = True) -> tuple[Any, Kind]:
    """The NumPy view compiled code reads ``value`` through, and its :class:`Kind`.

    Args:
        value: a ``bytes``, ``bytearray``, ``array.array`` or ``memoryview``.
        wanted: ``False`` where only the kind matters: the view is then ``None`` for
            ``bytes`` and ``bytearray``.

    Raises:
        Unconvertible: an ``array.array`` or ``memoryview`` whose items Numba cannot hold
            exactly, or a ``memoryview`` that is not contiguous and one-dimensional.
    """
    kind = type(value)
    storage: Any = None
    if kind is array.array:
        if value.typecode not in _ARRAY_CODES:
            raise Unconvertible(
                f"takes an array('{value.typecode}'), whose items Numba cannot hold exactly"
            )
        storage = np.frombuffer(value, value.typecode)
        key: tuple = (kind, value.typecode, storage.dtype.str)
    elif kind is memoryview:
        storage = _memoryview_storage(value)
        key = (kind, value.format, storage.dtype.str, value.readonly)
    else:  # bytes, bytearray
        if wanted:
            storage = np.frombuffer(value, np.uint8)
        key = (kind,)
    return storage, _buffer_kind(key)


@functools.cache
def _buffer_kind(key: tuple) -> Kind:
    """The kind of buffers of ``key``: ``(class, typecode or format, dtype, read-only)``."""
    kind = key[0]
    if kind is array.array:
        return Kind("buffer", key[2], source=f"array('{key[1]}')")
    if kind is memoryview:
        return Kind("buffer", key[2], readonly=key[3], source=f"memoryview('{key[1]}')")
    return Kind("buffer", "|u1", readonly=kind is bytes, source=kind.__name__)


def _memoryview_storage(view: memoryview) -> Any:
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
