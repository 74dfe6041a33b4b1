"""autoaccel.rewrite.jitted: functions a module compiles with Numba's own decorators."""

from __future__ import annotations

import ast
import textwrap

import numpy as np

from autoaccel.rewrite.jitted import jitted_positions

SOURCE = """
import numba
import numba as nb
from numba import njit as fast, vectorize
from numba.experimental import jitclass

@numba.njit
def a(x):
    def inner(y):
        return y
    return inner(x)

@nb.jit(nopython=True, cache=True)
def b(x):
    return x

@fast
def c(x):
    return x

@vectorize(["float64(float64)"])
def d(x):
    return x

@jitclass([("v", numba.float64)])
class Box:
    def __init__(self, v):
        self.v = v

def plain(x):
    return x

@staticmethod
def other_decorator(x):
    return x
"""


def test_numbas_decorators_under_any_alias_are_found_with_what_they_contain():
    found = jitted_positions(ast.parse(textwrap.dedent(SOURCE)))
    assert {name for name, _ in found} == {"a", "inner", "b", "c", "d", "__init__"}
    assert ("a", 7) in found  # the first decorator's line, as co_firstlineno has it


def test_a_module_without_numba_has_none():
    source = "def njit(f):\n    return f\n\n@njit\ndef g(x):\n    return x\n"
    assert jitted_positions(ast.parse(source)) == frozenset()


APP = """
import numba
import numpy as np

@numba.njit
def fast_sum(a):
    s = 0.0
    for x in a:
        s += x
    return s

def total(a):
    return fast_sum(a) + 1.0
"""


def test_a_selected_module_using_numba_itself_runs_as_written(accelerated):
    mod = accelerated(APP, min_calls=1)
    a = np.arange(10.0)
    for _ in range(5):
        assert mod.total(a) == 46.0
    assert mod.fast_sum(a) == 45.0 and mod.fast_sum.py_func.__code__.co_name == "fast_sum"
