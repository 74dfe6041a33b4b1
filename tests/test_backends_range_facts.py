"""autoaccel.backends.range_facts: the inequalities the control flow and the accesses give."""

from __future__ import annotations

import numpy as np
from conftest import typed_ssa
from numba.core import ir

from autoaccel.backends.range_facts import Atom, Facts
from autoaccel.backends.range_terms import ZERO, negated

LOOPS = """
def f(a, n, step):
    s = 0.0
    for i in range(n):
        s += 1.0
    for j in range(2, n, 3):
        s += 1.0
    for k in range(n, -1, -1):
        s += 1.0
    for m in range(0, n, step):
        s += 1.0
    return s
"""


def facts_of(source: str, *args) -> Facts:
    return Facts(*typed_ssa(source, "f", args))


def bounds(facts: Facts) -> dict[str, tuple]:
    """Loop variable (source name) -> its range's ``(lo, hi)``."""
    return {loop.value: (loop.lo, loop.hi) for loop in facts.ranges.values()}


def test_a_range_loop_holds_its_value_between_the_ranges_bounds():
    facts = facts_of(LOOPS, np.ones(3), 5, 1)
    found = sorted(bounds(facts).values(), key=repr)
    n = ("v", "n")
    assert ((ZERO, 0), (n, -1)) in found, "range(n): 0 <= i <= n - 1"
    assert ((ZERO, 2), (n, -1)) in found, "range(2, n, 3): 2 <= j <= n - 1"
    assert ((ZERO, 0), (n, 0)) in found, "range(n, -1, -1): 0 <= k <= n"
    unknown = [b for b in found if b[0][0][0] == "lo"]
    assert len(unknown) == 1, "a step of unknown sign: bounds known only when running"


def test_the_body_of_a_range_loop_knows_its_bounds_and_its_mirror():
    facts = facts_of(LOOPS, np.ones(3), 5, 1)
    loop = next(r for r in facts.ranges.values() if r.lo == (ZERO, 0) and r.hi == (("v", "n"), -1))
    atoms = facts.at(loop.body)
    value = ("v", loop.value)
    assert Atom(value, ("v", "n"), -1) in atoms
    assert Atom(negated(("v", "n")), negated(value), -1) in atoms, "the mirror: -n <= -i - 1"
    assert Atom(ZERO, value, 0) in atoms
    assert Atom(value, ("v", "n"), -1) not in facts.at(min(facts.blocks)), "not before the loop"


BRANCHES = """
def f(a, i, n):
    s = 0.0
    if i < n:
        s += 1.0
    else:
        s += 2.0
    if not (i >= 3):
        s += 3.0
    x = a[i]
    return s + x
"""


def _blocks_with(facts: Facts, constant: float) -> list[int]:
    return [
        label
        for label, block in facts.blocks.items()
        if any(
            isinstance(s, ir.Assign)
            and isinstance(s.value, ir.Const)
            and isinstance(s.value.value, float)
            and s.value.value == constant
            for s in block.body
        )
    ]


def test_a_comparison_holds_on_the_edge_its_branch_takes():
    facts = facts_of(BRANCHES, np.ones(3), 1, 2)
    i, n = ("v", "i"), ("v", "n")
    (taken,) = _blocks_with(facts, 1.0)
    (other,) = _blocks_with(facts, 2.0)
    (negated_test,) = _blocks_with(facts, 3.0)
    assert Atom(i, n, -1) in facts.at(taken)
    assert Atom(n, i, 0) in facts.at(other)
    assert Atom(i, ZERO, 2) in facts.at(negated_test), "not (i >= 3): i <= 2"


def test_an_access_that_ran_leaves_its_index_in_bounds_for_what_follows():
    facts = facts_of(BRANCHES, np.ones(3), 1, 2)
    (label,) = [b for b, block in facts.blocks.items() if any(map(facts.indexing, block.body))]
    index = next(k for k, s in enumerate(facts.blocks[label].body) if facts.indexing(s))
    length, i = ("len", "a", 0), ("v", "i")
    after = facts.at(("stmt", label, index + 1))
    assert Atom(i, length, -1) in after and Atom(negated(length), i, 0) in after
    assert Atom(i, length, -1) not in facts.at(("stmt", label, index)), "not before it"
    unchecked = Facts(*typed_ssa(BRANCHES, "f", (np.ones(3), 1, 2)), checked=False)
    assert Atom(i, length, -1) not in unchecked.at(("stmt", label, index + 1))


def test_min_bounds_its_result_by_each_argument():
    source = "def f(a, n):\n    m = min(n, len(a))\n    return a[m - 1]\n"
    facts = facts_of(source, np.ones(3), 2)
    (m,) = [v for v in facts.definitions if v.split(".")[0] == "m"]
    everywhere = facts.at(min(facts.blocks))
    assert Atom(("v", m), ("v", "n"), 0) in everywhere
    assert Atom(("v", m), ("len", "a", 0), 0) in everywhere
