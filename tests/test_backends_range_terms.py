"""autoaccel.backends.range_terms: values of the typed IR as a term plus a constant."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import typed_ssa
from numba.core import ir

from autoaccel.backends.range_terms import ZERO, Terms, negated, negated_canon

SOURCE = """
import numpy as np

def f(x, n, u):
    rows, cols = x.shape
    last = len(x) - 1
    width = x.shape[1] + 2
    out = np.empty((rows, n))
    like = np.zeros_like(x)
    row = x[0]
    row2 = x[n]
    k = 3
    m = min(n, rows)
    w = u[0]
    return (out[0, 0] + like[0, 0] + row[0] + row2[0] + last + width + k + m, w)
"""
X = np.ones((3, 4))


@pytest.fixture(scope="module")
def terms():
    return Terms(*typed_ssa(SOURCE, "f", (X, 2, np.ones(2, dtype=np.uint64))))


def named(terms: Terms, name: str) -> str:
    """The SSA variable that the source's ``name`` became (its only definition)."""
    (found,) = [v for v in terms.definitions if v.split(".")[0] == name]
    return found


def test_lengths_read_any_way_are_one_term(terms):
    rows = terms.canon(named(terms, "rows"))
    assert rows == (("len", "x", 0), 0)
    assert terms.canon(named(terms, "cols")) == (("len", "x", 1), 0)
    assert terms.canon(named(terms, "last")) == (("len", "x", 0), -1)
    assert terms.canon(named(terms, "width")) == (("len", "x", 1), 2)
    assert terms.canon(named(terms, "k")) == (ZERO, 3)


def test_an_allocated_arrays_lengths_are_its_shape(terms):
    assert terms.canon_len(named(terms, "out"), 0) == (("len", "x", 0), 0)
    assert terms.canon_len(named(terms, "out"), 1) == (("v", "n"), 0)
    assert terms.canon_len(named(terms, "like"), 1) == (("len", "x", 1), 0)


def test_a_row_of_a_2d_array_has_the_next_axis_length(terms):
    assert terms.canon_len(named(terms, "row"), 0) == (("len", "x", 1), 0)
    assert terms.canon_len(named(terms, "row2"), 0) == (("len", "x", 1), 0)


def test_only_signed_integers_are_described(terms):
    assert terms.is_int("n") and not terms.is_int(named(terms, "w")) and not terms.is_int("x")
    assert terms.type_bounds(("v", "n")) == (-(2**63), 2**63 - 1)
    assert terms.type_bounds(("len", "x", 0)) == (0, 2**63 - 1)
    assert terms.type_bounds(negated(("len", "x", 0))) == (-(2**63 - 1), 0)


def test_negation_mirrors_terms_and_constants():
    t = ("v", "i")
    assert negated(negated(t)) == t and negated(ZERO) == ZERO
    assert negated_canon((t, 3)) == (("-", t), -3)


def test_array_accesses_are_read_per_axis(terms):
    accesses = [
        terms.indexing(stmt)
        for block in terms.blocks.values()
        for stmt in block.body
        if isinstance(stmt, ir.Assign)
    ]
    found = [a for a in accesses if a is not None]
    assert ("x", [(("v", "n"), 0)]) in found, "x[n], a row: its axis 0 is checked"
    assert any(items == [(ZERO, 0), (ZERO, 0)] for _, items in found), "out[0, 0]"
