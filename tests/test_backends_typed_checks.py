"""autoaccel.backends.typed_checks: what a compiled variant does, read from Numba's typed IR."""

from __future__ import annotations

import types

import numba
import numpy as np
import pytest
from conftest import units

from autoaccel.backends.typed_checks import Inspection, inspect_variant

SOURCE = """
import numpy as np

def total(a):
    return a.sum()

def np_total(a):
    return np.sum(a)

def int_total(a):
    return a.sum()

def ordered(a):
    return np.sort(a)

def running(a):
    a[1:] += a[:-1]

def loop_variable(n):
    for i in range(n):
        pass
    return i

def through_a_view(a, b):
    tail = a[1:]
    tail[0] = b[0]
    return b[0]

def first_or_zero(a, k):
    if k > 0:
        return a[0]
    return 0

def same_or_half(x, k):
    if k > 0:
        return x
    return x / 2

def paired(a, x):
    short = 0.0
    if a[0] > 1.0:
        short += a[0]
    return (a[1], (short, x))

def helper_sums(a):
    return total(a) + 1.0

def forwards(a, k):
    return first_or_zero(a, k)

def forwards_swapped(x, k):
    return same_or_half(k, x)
"""

FLOATS = numba.typeof(np.zeros(3))
INTS = numba.typeof(np.zeros(3, np.int64))


def _function(found: dict, name: str) -> types.FunctionType:
    return types.FunctionType(found[name].code, found[name].globals)


def _inspect(name: str, *signature: object) -> Inspection:
    """What the typed IR of ``name`` compiled for ``signature`` shows."""
    found, _ = units(SOURCE)
    dispatcher = numba.njit(_function(found, name))
    dispatcher.compile(signature)
    return inspect_variant(dispatcher, signature)


@pytest.mark.parametrize(
    ("name", "signature", "row"),
    [
        ("total", (FLOATS,), "[16]"),
        ("np_total", (FLOATS,), "[16]"),
        ("ordered", (FLOATS,), "[20]"),
        ("running", (FLOATS,), "[17]"),
        ("loop_variable", (numba.int64,), "[26]"),
    ],
)
def test_operations_whose_results_differ_are_refused_with_their_row(name, signature, row):
    refusal = _inspect(name, *signature).refusal
    assert refusal is not None and refusal.endswith(row), refusal


def test_the_same_operation_on_ints_is_exact_and_passes():
    assert _inspect("int_total", INTS).refusal is None


def test_arguments_written_through_views_are_found():
    inspection = _inspect("through_a_view", FLOATS, FLOATS)
    assert inspection.refusal is None
    assert inspection.written == {0}  # b is only read


def test_what_can_be_returned_as_it_is_is_listed():
    constant = _inspect("first_or_zero", FLOATS, numba.int64)
    assert constant.ambiguous_constants == [0] and constant.ambiguous_arguments == set()
    argument = _inspect("same_or_half", numba.int64, numba.int64)
    assert argument.ambiguous_arguments == {0}
    # the items of a returned tuple, nested ones too
    items = _inspect("paired", FLOATS, numba.int64)
    assert items.ambiguous_constants == [0.0] and items.ambiguous_arguments == {1}


def test_helpers_are_inspected_too():
    found, _ = units(SOURCE)
    namespace = found["helper_sums"].globals
    namespace["total"] = numba.njit(_function(found, "total"))
    dispatcher = numba.njit(_function(found, "helper_sums"))
    dispatcher.compile((FLOATS,))
    refusal = inspect_variant(dispatcher, (FLOATS,)).refusal
    assert refusal is not None and refusal.endswith("[16]")


def test_what_a_returned_helper_returns_as_it_is_counts_too():
    """A recursive function's variant entry returns its depth form's result: the constants
    and the entry's own arguments that the helper returns as they are stay ambiguous."""
    found, _ = units(SOURCE)
    namespace = found["forwards"].globals
    for helper in ("first_or_zero", "same_or_half"):
        namespace[helper] = numba.njit(_function(found, helper))
    dispatcher = numba.njit(_function(found, "forwards"))
    dispatcher.compile((FLOATS, numba.int64))
    inspection = inspect_variant(dispatcher, (FLOATS, numba.int64))
    assert inspection.ambiguous_constants == [0] and inspection.ambiguous_arguments == set()
    swapped = numba.njit(_function(found, "forwards_swapped"))
    swapped.compile((numba.int64, numba.int64))
    # same_or_half returns its first argument, which is forwards_swapped's second
    assert inspect_variant(swapped, (numba.int64, numba.int64)).ambiguous_arguments == {1}
