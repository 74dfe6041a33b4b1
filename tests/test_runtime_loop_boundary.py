"""autoaccel.runtime.loop_boundary: a loop's state at an iteration boundary, and its exit."""

from __future__ import annotations

import ast
import math
import types

import numba
import numpy as np
import pytest

from autoaccel.analysis.loops import spec_for
from autoaccel.backends.loop_code import UNBOUND, loop_code
from autoaccel.errors import Rejection
from autoaccel.policy.site_types import SiteTypes
from autoaccel.runtime.loop_boundary import (
    NEVER,
    LoopVariant,
    boundary,
    is_data,
    readable,
    reader,
)

SOURCE = "for i in range(n):\n    x = a[i]\n    s += x\n    if x > t:\n        found = i\n"


def spec_of(source: str = SOURCE, live: set[str] | None = None):
    loop = next(n for n in ast.walk(ast.parse(source)) if isinstance(n, (ast.For, ast.While)))
    return spec_for(
        loop, 0, "f", source.splitlines(keepends=True), live or {"s", "found"}, False, None
    )


def test_the_arguments_are_the_loops_inputs_not_its_temporaries():
    spec = spec_of()
    a = np.arange(5.0)
    state = boundary(spec, {}, range(5), 2, {"a": a, "s": 1.0, "t": 3.0, "x": 9.0, "i": 2})
    assert state.plan.params == ("a", "s", "t")
    assert state.plan.maybe == ("found",), "bound after the loop if at all: never an input"
    assert state.arguments == (2, 5, 1, NEVER, a, 1.0, 3.0)
    again = boundary(spec, {}, range(5), 3, {"a": a, "s": 2.0, "t": 3.0})
    assert again.key == state.key, "one variant whether or not the temporaries are bound"


def test_code_is_frozen_as_a_global_and_data_is_passed_in():
    assert is_data(np.zeros(2)) and is_data(1.5) and is_data((1, 2))
    assert not is_data(math) and not is_data(math.sqrt) and not is_data(np.sqrt)
    assert not is_data(int) and not is_data(lambda: 0)


def test_an_input_without_a_value_waits_and_one_numba_cannot_take_is_refused():
    spec = spec_of()
    assert boundary(spec, {}, range(5), 0, {"a": np.zeros(5), "t": 1.0}) == "s has no value yet"
    with pytest.raises(Rejection, match="a variable takes a dict"):
        boundary(spec, {}, range(5), 0, {"a": {1: 1.0}, "s": 0.0, "t": 1.0})
    with pytest.raises(Rejection, match="a variable takes a list of lists of str"):
        boundary(spec, {}, range(5), 0, {"a": [["x"], ["y"]], "s": 0.0, "t": 1.0})


def test_a_promoted_run_hands_back_cpythons_types_and_leaves_unbound_what_it_did_not_bind():
    spec = spec_of()
    state = boundary(spec, {}, range(5), 0, {"a": np.arange(5.0), "s": 0.0, "t": 10.0})
    function = types.FunctionType(loop_code(spec, state.plan, "f.py"), {})
    entry = numba.njit(function)
    result = entry(*state.arguments)
    _, sites, _ = reader(state.plan)(result, state.arguments, {})
    site_types = SiteTypes({("s", sites[0]): np.float64})
    variant = LoopVariant(entry, (), site_types)
    done = variant.run(spec, state.plan, state.arguments, state.natives)
    assert done is not None and done.values[0] is UNBOUND  # found: never above 10
    assert done.values[1] == 10.0 and type(done.values[1]) is np.float64
    assert readable(state.plan, numba.typeof(state.arguments).types).startswith("(a: array")


def test_a_run_whose_types_are_not_certain_is_handed_back_with_the_arrays_restored():
    spec = spec_of("for i in range(n):\n    a[i] = 0.0\n    s += 1.0\n", {"s"})
    a = np.arange(5.0)
    state = boundary(spec, {}, range(5), 0, {"a": a, "s": 0.0})
    entry = numba.njit(types.FunctionType(loop_code(spec, state.plan, "f.py"), {}))
    variant = LoopVariant(entry, (4,), SiteTypes())  # no site learned: not certain
    assert variant.run(spec, state.plan, state.arguments, state.natives) is None
    np.testing.assert_array_equal(a, np.arange(5.0))
    assert variant.handbacks == 1
