"""autoaccel.backends.returned: the constants and arguments a function can return as is."""

from __future__ import annotations

import types

import numba
import numpy as np
from conftest import SHORTFALL, units

from autoaccel.backends.typed_checks import inspect_variant

SOURCE = (
    SHORTFALL
    + """
def either(k):
    x = 0
    if k > 0:
        x = 0.0
    return x, True

def passed_through(a, x):
    return a[0], x

def two_tuples(k):
    if k > 0:
        return 0, k
    return 0.0, 1

def constant_or_argument(k):
    if k > 0:
        return k
    return 1
"""
)

FLOATS = numba.typeof(np.zeros(3))


def _returned(name: str, *signature: object) -> tuple[list, set[int], list, set[int]]:
    """The ambiguous constants and argument positions of ``name`` compiled for
    ``signature``, and those of them shared with other values."""
    found, _ = units(SOURCE)
    unit = found[name]
    dispatcher = numba.njit(types.FunctionType(unit.code, unit.globals))
    dispatcher.compile(signature)
    inspection = inspect_variant(dispatcher, signature)
    return (
        inspection.ambiguous_constants,
        inspection.ambiguous_arguments,
        inspection.shared_constants,
        inspection.shared_arguments,
    )


def test_a_value_that_only_ever_is_one_constant_is_not_ambiguous():
    # The count is always the int 0: CPython's type for it never depends on the path (it
    # was listed, and a count of 0 beside the float 0.0 made calls go to the original).
    # total and short start as 0.0 and are added to: which path ran decides their type.
    constants, arguments, shared, _ = _returned("shortfall", FLOATS, numba.float64)
    assert constants == [0.0, 0.0] and arguments == set()
    assert shared == [0.0, 0.0]  # returned where computed values are too


def test_constants_of_two_types_or_beside_an_argument_stay_ambiguous():
    # x is the int 0 or the float 0.0, Numba's float64 either way; True is always True.
    constants, arguments, shared, _ = _returned("either", numba.int64)
    assert sorted(map(repr, constants)) == ["0", "0.0"] and arguments == set()
    assert shared == []  # only ever constants there: each call shows its own type
    returned = _returned("constant_or_argument", numba.int64)
    assert returned == ([1], {0}, [1], {0})
    # An argument that only ever is itself there shows its own type: not shared.
    assert _returned("passed_through", FLOATS, numba.float64) == ([], {1}, [], set())
    # Each return gives the one result: item 0 of either tuple is one value (float64).
    constants, arguments, _, _ = _returned("two_tuples", numba.int64)
    assert sorted(map(repr, constants)) == ["0", "0.0", "1"] and arguments == {0}
