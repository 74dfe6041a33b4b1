"""autoaccel.backends.loop_code: the function a loop becomes, entered at a boundary."""

from __future__ import annotations

import ast
import types

import numba
import numpy as np
import pytest

from autoaccel.analysis.loops import spec_for
from autoaccel.backends.loop_code import (
    BROKE,
    ENDED,
    RETURNED,
    SUSPENDED,
    decode,
    leading_arguments,
    loop_code,
    plan_for,
)

NEVER = 1 << 62


def compiled(source: str, params: tuple[str, ...], maybe: tuple[str, ...] = ()):
    lines = source.splitlines(keepends=True)
    loop = next(n for n in ast.walk(ast.parse(source)) if isinstance(n, (ast.For, ast.While)))
    spec = spec_for(loop, 0, "f", lines, set(), False, None)
    plan = plan_for(spec, params, maybe)
    function = types.FunctionType(loop_code(spec, plan, "loops.py"), {})
    return spec, plan, numba.njit(function)


RANGE = "for i in range(n):\n    s += a[i]\n    if s > limit:\n        break\n"


def test_a_range_loop_continues_from_the_position_and_hands_back_its_state():
    spec, plan, loop = compiled(RANGE, ("a", "limit", "s"))
    assert leading_arguments(spec.kind) == ("pos", "stop", "step", "budget")
    a = np.arange(10.0)
    result = loop(3, 10, 1, NEVER, a, 100.0, 0.0)  # from i = 3: 3 + 4 + ... + 9
    values, sites = decode(plan, result)
    assert result[0] == ENDED and values == (42.0,) and sites[0] > 0


def test_a_budget_suspends_at_the_top_of_an_iteration():
    _, plan, loop = compiled(RANGE, ("a", "limit", "s"))
    result = loop(0, 10, 1, 4, np.arange(10.0), 100.0, 0.0)
    assert result[0] == SUSPENDED and result[2] == 4  # iterations 0..3 ran; 4 is next
    assert decode(plan, result)[0] == (6.0,)


def test_break_and_return_end_the_run_with_their_kind():
    _, _, loop = compiled(RANGE, ("a", "limit", "s"))
    assert loop(0, 10, 1, NEVER, np.arange(10.0), 5.0, 0.0)[:3] == (BROKE, -1, 3)
    source = "while k < n:\n    if a[k] == t:\n        return k\n    k += 1\n"
    _, _, search = compiled(source, ("a", "k", "n", "t"))
    result = search(NEVER, np.arange(8), 0, 8, 5)
    assert result[0] == RETURNED and result[1] == 0, "return number 0: Python evaluates it"


def test_a_maybe_variable_is_handed_back_only_when_the_run_bound_it():
    source = "for i in range(n):\n    if a[i] == t:\n        found = i\n        break\n"
    _, plan, loop = compiled(source, ("a", "t"), maybe=("found",))
    values, sites = decode(plan, loop(0, 5, 1, NEVER, np.arange(5), 3))
    assert values[-1] == 3 and sites[-1] > 0
    values, sites = decode(plan, loop(0, 5, 1, NEVER, np.arange(5), 99))
    assert sites[-1] == 0


@pytest.mark.parametrize("name", ["_aa_n", "_aa_site_s"])
def test_generated_names_never_collide_with_the_loops(name):
    source = f"for i in range(n):\n    {name} = 1\n    s += {name}\n"
    _, plan, _ = compiled(source, ("s",))
    assert not name.startswith(plan.prefix)


def test_a_plan_converts_an_object_with_the_attributes_its_loop_reaches_only():
    source = "for i in range(n):\n    body.x = body.x + body.v\n    log(other)\n    other.y = 1\n"
    loop = next(n for n in ast.walk(ast.parse(source)) if isinstance(n, ast.For))
    spec = spec_for(loop, 0, "f", source.splitlines(keepends=True), set(), False, None)
    plan = plan_for(spec, ("n", "body", "other"))
    leading = (None,) * len(leading_arguments("range"))
    # other is passed on (log(other)): all its attributes; n is no object.
    assert plan.fields == (*leading, None, frozenset({"x", "v"}), None)
