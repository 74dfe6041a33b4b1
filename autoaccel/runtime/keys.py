"""Typed keys of the runtime's tables.

A call is counted by its argument types alone (a plain tuple of classes: cheap to build on
every call); once its signature is hot, it is keyed exactly (:class:`ExactKey`): the types
and Numba's fingerprints (dtype, ndim, layout, writability of each array), which is what
one compiled signature serves.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from autoaccel.backends.signatures import fingerprint

# The Python classes of a call's arguments, position by position.
TypeKey = tuple[type, ...]


class ExactKey(NamedTuple):
    """The key of a hot call: its argument types, then Numba's fingerprint of each."""

    types: TypeKey
    fingerprints: tuple


def exact_key(args: tuple) -> ExactKey:
    """The exact key of a call with ``args`` (imports Numba the first time)."""
    return ExactKey(tuple(map(type, args)), fingerprint(args))


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
    if min_size is None:
        items = "".join(f"type(args[{i}]), " for i in range(arity))
    else:
        items = "".join(
            f"small if args[{i}].__class__ is ndarray and args[{i}].size < {min_size} "
            f"else args[{i}].__class__, "
            for i in range(arity)
        )
    namespace: dict = {"small": small_array_type(min_size or 0), "ndarray": np.ndarray}
    exec(f"def type_key(args):\n    return ({items})", namespace)
    return namespace["type_key"]


@functools.cache
def small_array_type(min_size: int) -> type:
    """The stand-in type of arrays under ``min_size`` elements, named for the report."""
    return type(f"ndarray[size<{min_size}]", (np.ndarray,), {})
