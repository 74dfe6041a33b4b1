"""autoaccel.backends.recursion: the depth form, its budget and the caller's frames."""

from __future__ import annotations

import dis
import sys
import types

import numba
import pytest
from conftest import units

from autoaccel.backends import cpu, recursion
from autoaccel.backends.snapshot import snapshot_changed
from autoaccel.config import JitOptions
from autoaccel.errors import RecursionBudget, Rejection

SOURCE = """
def depth(n):
    return 0 if n == 0 else 1 + depth(n - 1)

def fib(n):
    if n < 2:
        return n
    return fib(n - 1) + fib(n - 2)

def by_keyword(n):
    return 0 if n == 0 else by_keyword(n=n - 1)

def as_value(n):
    f = as_value
    return n

def calls_depth(n):
    return depth(n) + depth(n + 1)
"""


@pytest.fixture
def registered(monkeypatch):
    """``units(SOURCE)`` as a module of ``sys.modules``, as the hook's modules are."""
    found, lookup = units(SOURCE, module="aa_recursion_units")
    module = types.ModuleType("aa_recursion_units")
    module.__dict__.update(found["depth"].globals)
    monkeypatch.setitem(sys.modules, "aa_recursion_units", module)
    return found, lookup


def _depth_form(name: str):
    found, _ = units(SOURCE)
    return recursion.depth_form(found[name].code, frozenset({name}))


def test_the_depth_form_takes_the_budget_and_passes_it_on_less_one():
    code = _depth_form("fib")
    assert code.co_argcount == 2 and code.co_varnames[:2] == ("n", recursion.DEPTH)
    names = [ins.argval for ins in dis.get_instructions(code) if ins.opname == "LOAD_GLOBAL"]
    assert names.count(recursion.SELF) == 2 and names.count(recursion.STEP) == 2
    assert "fib" not in names
    calls = []

    def self_(n, budget):
        calls.append(budget)
        return n

    function = types.FunctionType(
        code, {recursion.SELF: self_, recursion.STEP: lambda d: d - 1}, "fib"
    )
    assert function(5, 10) == 4 + 3 and calls == [9, 9]


@pytest.mark.parametrize("name", ["by_keyword", "as_value"])
def test_a_function_using_itself_otherwise_than_in_a_positional_call_is_refused(name):
    with pytest.raises(Rejection, match=r"other than in a call with positional arguments.*\[30\]"):
        _depth_form(name)


def test_a_recursive_function_taking_star_args_is_refused():
    found, _ = units("def f(*a):\n    return f(*a)\n")
    with pytest.raises(Rejection, match=r"\*args"):
        recursion.depth_form(found["f"].code, frozenset({"f"}))


def test_the_budget_and_the_callers_room_follow_the_recursion_limit():
    assert recursion.budget(1000) == 250 and recursion.budget(100_000) == recursion.BUDGET
    assert recursion.budget(40) == 10
    # 1000 - 250 (budget) - 3 (helpers) - 50 (margin), halved
    assert recursion.max_frames(1000, 1, 3) == 348
    assert recursion.max_frames(1000, 2, 3) == 223  # two recursive functions on a chain
    with pytest.raises(Rejection, match=r"recursion limit 60 leaves no room"):
        recursion.max_frames(60, 1, 1)


def test_too_deep_counts_the_frames_below_the_caller():
    below = len(_frames())

    def nested(k):
        return recursion.too_deep(below + 20) if k == 0 else nested(k - 1)

    assert not nested(0)
    assert nested(30)


def _frames() -> list:
    frame, frames = sys._getframe(), []
    while frame is not None:
        frames.append(frame)
        frame = frame.f_back
    return frames


def test_the_recursion_limit_is_watched_as_the_value_the_budget_was_computed_for():
    limit = sys.getrecursionlimit()
    view = recursion.RecursionLimit(limit)
    assert view.limit is limit
    try:
        sys.setrecursionlimit(limit + 7)
        assert view.limit == limit + 7
    finally:
        sys.setrecursionlimit(limit)


def test_the_entry_function_starts_the_recursion_with_the_whole_budget():
    found, _ = units(SOURCE)
    seen = []
    inner = lambda n, d: seen.append(d) or n  # noqa: E731
    entry = recursion.entry_function(found["depth"].code, inner, 7, "pkg.mod")
    assert entry.__name__ == "depth" and entry.__code__.co_varnames == ("n",)
    # Numba's cache rebuilds the variant's environment from the module named here.
    assert entry.__module__ == "pkg.mod"
    assert entry(3) == 3 and seen == [7]


def test_step_gives_the_budget_less_one_then_deoptimizes():
    step = recursion.step_function()

    @numba.njit
    def use(d):
        return step(d)

    assert use(3) == 2
    with pytest.raises(RecursionBudget):
        use(0)


def test_build_compiles_a_recursive_function_with_its_budget_and_the_callers_room(registered):
    found, lookup = registered
    compiled = cpu.build(found["fib"], JitOptions(), lookup)
    assert compiled.entry(20) == 6765
    limit = sys.getrecursionlimit()
    assert compiled.reach == (1, 1)
    assert compiled.max_frames == recursion.max_frames(limit, 1, 1)
    assert ("limit", limit) in [(name, value) for _, name, value in compiled.snapshot]
    assert snapshot_changed(compiled.snapshot) is None
    depth = cpu.build(found["depth"], JitOptions(), lookup)
    with pytest.raises(RecursionBudget):
        depth.entry(recursion.budget(limit) + 1)
    assert depth.entry(recursion.budget(limit)) == recursion.budget(limit)


def test_a_caller_of_a_recursive_helper_counts_its_budget(registered):
    found, lookup = registered
    compiled = cpu.build(found["calls_depth"], JitOptions(), lookup)
    assert compiled.reach == (1, 2)
    assert compiled.max_frames == recursion.max_frames(sys.getrecursionlimit(), 1, 2)
    assert compiled.entry(10) == 21


def test_a_recursive_function_of_no_module_numba_can_find_is_refused():
    found, lookup = units(SOURCE, module="aa_not_in_sys_modules")
    with pytest.raises(Rejection, match=r"not in sys.modules.*\[30\]"):
        cpu.build(found["fib"], JitOptions(), lookup)
