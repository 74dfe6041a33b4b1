"""Typed keys of the runtime's tables.

A call is counted by its argument types alone (a plain tuple of classes: cheap to build on
every call); once its signature is hot, it is keyed exactly (:class:`ExactKey`): the types
and Numba's fingerprints (dtype, ndim, layout, writability of each array), which is what
one compiled signature serves.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, NamedTuple

from autoaccel.backends.signatures import fingerprint
from autoaccel.boundary import objects
from autoaccel.boundary.kinds import Unconvertible
from autoaccel.lazy_numpy import np
from autoaccel.policy.compare import field_at

# The Python classes of a call's arguments, position by position.
TypeKey = tuple[type, ...]


class ExactKey(NamedTuple):
    """The key of a hot call: its argument types, then Numba's fingerprint of each."""

    types: TypeKey
    fingerprints: tuple


def exact_key(args: tuple, fields: tuple = ()) -> ExactKey:
    """The exact key of a call with ``args`` (imports Numba the first time); ``fields`` as
    for :func:`fingerprints`."""
    return ExactKey(tuple(map(type, args)), fingerprints(args, fields))


def fingerprints(args: tuple, fields: tuple = ()) -> tuple:
    """Numba's fingerprints of ``args`` (:func:`~autoaccel.backends.signatures.
    fingerprint`). An object among them is keyed by its class and the classes of the
    attributes of ``fields`` (per position, the names it converts with, as for
    :func:`autoaccel.boundary.convert.convert`; ``None`` or absent: all of its
    ``__dict__``), read by name: on CPython 3.11-3.12 reading ``__dict__`` slows every
    later attribute access on the object (:func:`~autoaccel.boundary.objects.
    wanted_attributes`).
    """
    if not fields:
        return fingerprint(args)
    return fingerprint(args, functools.partial(_record, fields))


def _record(fields: tuple, value: Any, position: int) -> Any:
    """The key of an object at ``position`` converted with ``fields``, else ``None``."""
    wanted = field_at(fields, position)
    if wanted is None or not objects.is_object_class(type(value)):
        return None
    try:
        names, values, _ = objects.wanted_attributes(value, wanted)
    except Unconvertible:
        return type(value)  # refused when converted
    return (type(value), tuple(zip(names, map(type, values), strict=True)))


class Failure(NamedTuple):
    """Why a key is never tried again: its signature as text, and the reason."""

    signature: str
    reason: str


def describe_types(types_: TypeKey) -> str:
    """``"(ndarray, float)"``: argument types as the report writes them."""
    return "(" + ", ".join(t.__name__ for t in types_) + ")"


@functools.cache
def type_key_function(arity: int, min_size: int | None = None) -> Callable[[tuple], TypeKey]:
    """``tuple(map(type, args))`` for ``arity`` arguments, unrolled: ~35 ns instead of ~160.

    The prologue passes a function's positional parameters, so a trampoline's arity is its
    code's ``co_argcount``. With ``min_size``, an array of fewer elements counts as the type
    :func:`small_array_type` instead, so small arrays form a signature of their own.
    """
    namespace: dict = {}
    if min_size is None:
        items = "".join(f"type(args[{i}]), " for i in range(arity))
    else:  # an option about arrays: NumPy is imported for it
        items = "".join(
            f"small if args[{i}].__class__ is ndarray and args[{i}].size < {min_size} "
            f"else args[{i}].__class__, "
            for i in range(arity)
        )
        namespace.update(small=small_array_type(min_size), ndarray=np.ndarray)
    exec(f"def type_key(args):\n    return ({items})", namespace)
    return namespace["type_key"]


@functools.cache
def small_array_type(min_size: int) -> type:
    """The stand-in type of arrays under ``min_size`` elements, named for the report."""
    return type(f"ndarray[size<{min_size}]", (np.ndarray,), {})
