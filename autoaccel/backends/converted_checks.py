"""Checks on the typed IR for values converted at the call boundary: lists and objects.

Why a module of its own: what compiled code may store into a converted list or object
field decides whether the write-back gives CPython's values (docs/divergences.md, rows 11
and 23), and these checks read the boundary's Numba types by their attributes (the boundary
layer, :mod:`autoaccel.boundary`, is above this one). The typed IR walk that calls them is
:mod:`autoaccel.backends.typed_checks`'s; ``function`` there is its per-overload index
(``typemap``, ``write``, ``list_stores``, ``numpy``).
"""

from __future__ import annotations

from typing import Any

from numba import types
from numba.core import ir

from autoaccel.errors import with_article


def is_converted(t: Any) -> bool:
    """A list or buffer converted at the boundary: an
    ``autoaccel.boundary.numba_types.PySequence``, told by its attributes (the boundary layer
    is above this one)."""
    return all(hasattr(t, name) for name in ("source", "store", "storage", "item"))


def is_converted_list(t: Any) -> bool:
    """A list of numbers converted at the boundary (its elements are Python objects)."""
    return is_converted(t) and t.source == "list" and t.store == "exact"


def list_store_refusal(function: Any) -> str | None:
    """A converted list stores Python objects: where NumPy is involved, CPython could store
    a NumPy scalar (``lst[i] = a[j]`` stores an ``np.float64``) where the variant's
    write-back gives a Python float (docs/divergences.md, row 11)."""
    if function.list_stores and function.numpy:
        return "stores into a list or attribute values that may be NumPy scalars in CPython [11]"
    return None


def attribute_store(function: Any, stmt: ir.SetAttr) -> str | None:
    """A store into a converted object's field (``autoaccel.boundary.instance_type``, told
    by its ``store_refusal``): it writes the argument, holds a Python object afterwards
    (so NumPy values are refused as for lists), and must be of exactly the field's type."""
    target = function.type_of(stmt.target)
    store_refusal = getattr(target, "store_refusal", None)
    if store_refusal is None:
        return None
    function.write(stmt.target.name)
    function.list_stores = True
    return store_refusal(stmt.attr, function.type_of(stmt.value))


def list_conversion(function: Any, target: ir.Var, items: list[ir.Var]) -> str | None:
    """Why building the list ``target`` from ``items`` differs from CPython: Numba converts
    each item to the list's element type, where CPython's list holds the item as it is."""
    dtype = getattr(function.type_of(target), "dtype", None)
    for item in items:
        if types.unliteral(function.type_of(item)) != dtype:
            return f"builds a list of {dtype} from {with_article(str(function.type_of(item)))} (Numba converts it) [23]"
    return None
