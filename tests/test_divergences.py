"""Every row of docs/divergences.md: autoaccel must answer exactly as CPython does.

Each case is a module source and a sequence of steps: calls (benign ones first, so that the
function is promoted or refused, then the dangerous input) and actions on the module (a
global rebound from outside, ``np.seterr``, a changed ``__defaults__``). The same steps run
on a plain copy of the module (``exec`` of the same source, no hook) and on the module
imported with the hook (promotion forced: ``min_calls=1``, ``min_gain=0``,
``validation_calls=2``). For every call the two must agree on the outcome: the result's
type and value (arrays: dtype, shape and bytes), the arguments after the call, and for an
exception its type and message; for some rows also the warnings. Each case also says how
its guard is reached: the function it watches (the first one called, unless named) is
promoted, so the dangerous input meets the promoted variant and its run-time guards, or it is
refused with the reason the case names (a static guard, a typed-IR check, validation); and a
refusal comes with a reason.

Cases that could crash the interpreter (the pyperformance n-body layout, writes past the end
of an array, ``boundscheck`` off) run in a subprocess: ``python tests/test_divergences.py
CASE-ID`` plays one case and prints both outcome lists as JSON.
"""

from __future__ import annotations

import copy
import dataclasses
import importlib
import json
import os
import random
import sys
import tempfile
import textwrap
import types
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import run_python

from autoaccel import Config, install
from autoaccel.analysis.bound import describe as describe_shape
from autoaccel.config import JitOptions
from autoaccel.runtime.registry import lookup

NAN = float("nan")
INF = float("inf")
VALIDATION_CALLS = 2
# Signed zeros, NaNs and ties: NumPy's and Numba's sorts order them differently.
MESSY = np.random.default_rng(3).choice(np.array([NAN, -0.0, 0.0, 1.0, -1.0, 2.5]), 200)
RANDOM_FLOATS = np.random.default_rng(20240611).random(100_000)
BIG_FLOAT32 = np.full(1_000_000, 0.1, dtype=np.float32)
# float32 * 0.1 rounds differently in float32 (NumPy 2) and in float64 then float32 (Numba).
F32_ODD = np.float32(9) / np.float32(7)


# --- cases -------------------------------------------------------------------------------


@dataclasses.dataclass
class Case:
    """One divergence: a module source and the steps played on both copies of it.

    Attributes:
        id: ``rowNN-what``, NN the catalogue row.
        source: the module's source.
        steps: ``("call", name, args, kwargs)`` or ``("do", label, action(module))``.
        refused: text of the refusal expected for the watched function (static, or at
            compile or validation time), found in its refusal or a failure's reason; empty:
            the function must be promoted.
        warnings: compare the warnings each call emitted as well.
        isolated: run in a subprocess (the case may crash the interpreter).
        settings: further ``Config`` fields.
        watch: the function whose promotion or refusal is asserted (``"f[*2]"``: its bound
            form for two ``*args`` values); empty: the first one the steps call.
    """

    id: str
    source: str
    steps: list
    refused: str = ""
    warnings: bool = False
    isolated: bool = False
    settings: dict = dataclasses.field(default_factory=dict)
    watch: str = ""

    @property
    def main(self) -> str:
        return self.watch or next(step[1] for step in self.steps if step[0] == "call")


def call(name: str, *args: Any, **kwargs: Any) -> tuple:
    return ("call", name, args, kwargs)


def warm(name: str, *args: Any, times: int = 4, **kwargs: Any) -> list:
    """``times`` benign calls, each with its own copy of the arguments."""
    return [call(name, *copy.deepcopy(args), **copy.deepcopy(kwargs)) for _ in range(times)]


def do(label: str, action: Any) -> tuple:
    return ("do", label, action)


def _seterr(**settings: str) -> tuple:
    return do(f"np.seterr({settings})", lambda module: np.seterr(**settings))


def _set(name: str, value: Any) -> tuple:
    return do(
        f"module.{name} = {value!r}",
        lambda module: setattr(module, name, copy.deepcopy(value)),
    )


def _set_to(name: str, other: str) -> tuple:
    return do(
        f"module.{name} = module.{other}",
        lambda module: setattr(module, name, getattr(module, other)),
    )


def _write_item(name: str, index: int, value: Any) -> tuple:
    def action(module: types.ModuleType) -> None:
        getattr(module, name)[index] = value

    return do(f"module.{name}[{index}] = {value!r}", action)


def _set_defaults(name: str, defaults: tuple) -> tuple:
    def action(module: types.ModuleType) -> None:
        getattr(module, name).__defaults__ = defaults

    return do(f"{name}.__defaults__ = {defaults!r}", action)


def _seed(which: str, value: int) -> tuple:
    seed = random.seed if which == "random" else np.random.seed
    return do(f"{which}.seed({value})", lambda module: seed(value))


CASES: list[Case] = [
    # 1: int64 arithmetic wraps around.
    Case(
        "row01-factorial",
        """
        def factorial(n):
            r = 1
            for i in range(2, n + 1):
                r *= i
            return r
        """,
        [
            *warm("factorial", 5),
            call("factorial", 25),
            call("factorial", 21),
            call("factorial", 20),
            call("factorial", 5),
        ],
    ),
    Case(
        "row01-shift",
        """
        def shl(x, n):
            return x << n
        """,
        [*warm("shl", 1, 3), call("shl", 1, 63), call("shl", 1, 64), call("shl", 3, 62)],
    ),
    Case(
        "row01-add",
        """
        def add(a, b):
            return a + b
        """,
        [*warm("add", 1, 2), call("add", 2**62, 2**62), call("add", -(2**63), -1)],
    ),
    Case(
        "row01-subtract",
        """
        def sub(a, b):
            return a - b
        """,
        [
            *warm("sub", 5, 3),
            call("sub", -(2**63), 1),
            call("sub", 0, -(2**63)),
            call("sub", 2**62, -(2**62)),
            call("sub", -(2**62), 2**62),
        ],
    ),
    Case(
        "row01-negate-int64-min",
        """
        def negate(x):
            return -x, abs(x)
        """,
        [*warm("negate", -5), call("negate", -(2**63))],
    ),
    Case(
        "row01-cube",
        """
        def cube(x):
            return x ** 3
        """,
        [*warm("cube", 10), call("cube", 3_000_000)],
    ),
    Case(
        "row01-sum-of-cubes",
        """
        def sum_of_cubes(n):
            s = 0
            for i in range(n):
                s += i * i * i
            return s
        """,
        [*warm("sum_of_cubes", 10), call("sum_of_cubes", 200_000)],
    ),
    Case(
        "row01-polynomial-hash",
        """
        def poly_hash(n):
            h = 7
            for i in range(n):
                h = h * 31 + i
            return h
        """,
        [*warm("poly_hash", 3), call("poly_hash", 20)],
    ),
    Case(
        "row01-floor-divide-int64-min",
        """
        def quotient(a, b):
            return a // b
        """,
        [*warm("quotient", 7, 2), call("quotient", -(2**63), -1)],
    ),
    # 2: a Python int argument outside int64.
    Case(
        "row02-int-argument-above-int64",
        """
        def inc(x):
            return x + 1
        """,
        [
            *warm("inc", 5),
            call("inc", 2**63),
            call("inc", 2**63 - 1),
            call("inc", -(2**63) - 1),
            call("inc", 2**64 + 5),
            call("inc", 10**30),
        ],
    ),
    Case(
        "row02-int-above-int64-in-tuple",
        """
        def combine(t):
            return t[0] * 2 + t[1]
        """,
        [*warm("combine", (1, 2)), call("combine", (2**63, 1)), call("combine", (2**70, 1))],
    ),
    Case(
        "row02-compare-huge-int",
        """
        def is_positive(x):
            return x > 0
        """,
        [*warm("is_positive", 3), call("is_positive", 2**64), call("is_positive", -(2**64))],
    ),
    # 3: int ** negative int.
    Case(
        "row03-two-to-the-x",
        """
        def power_of_two(x):
            return 2 ** x
        """,
        [
            *warm("power_of_two", 3),
            call("power_of_two", -1),
            call("power_of_two", -3),
            call("power_of_two", 0),
        ],
    ),
    Case(
        "row03-int-power",
        """
        def power(b, e):
            return b ** e
        """,
        [
            *warm("power", 2, 10),
            call("power", 2, -2),
            call("power", 0, -1),
            call("power", -8, -1),
            call("power", 1, -5),
        ],
    ),
    Case(
        # The trial sees non-negative exponents only. (Warmed up on empty loops, returning
        # the constant 0.0 each time, the trial learns nothing and never promotes.)
        "row03-negative-exponents-in-a-loop",
        """
        def geometric(m, n):
            s = 0.0
            for k in range(m, n):
                s += 2 ** k
            return s
        """,
        [*warm("geometric", 0, 3), call("geometric", -3, 3)],
    ),
    # 4: float to int is undefined for NaN, inf and out-of-range values.
    Case(
        "row04-int-of-nan",
        """
        def to_int(x):
            return int(x)
        """,
        [
            *warm("to_int", 1.5),
            call("to_int", NAN),
            call("to_int", INF),
            call("to_int", -INF),
            call("to_int", 1e20),
            call("to_int", -2.5),
        ],
    ),
    Case(
        "row04-floor-of-nan",
        """
        import math

        def floor(x):
            return math.floor(x)
        """,
        [*warm("floor", 1.5), call("floor", NAN), call("floor", 1e20), call("floor", INF)],
    ),
    Case(
        "row04-round-of-inf",
        """
        def rounded(x):
            return round(x)
        """,
        [*warm("rounded", 2.5), call("rounded", INF), call("rounded", NAN), call("rounded", 1e300)],
    ),
    Case(
        "row04-int-of-array-element",
        """
        def element_as_int(a, i):
            return int(a[i])
        """,
        [*warm("element_as_int", np.array([1.5, NAN, INF, 1e20]), 0)]
        + [call("element_as_int", np.array([1.5, NAN, INF, 1e20]), i) for i in (1, 2, 3)],
    ),
    Case(
        "row04-floor-into-int-array",
        """
        import math
        import numpy as np

        def floors(a):
            out = np.empty(a.shape[0], np.int64)
            for i in range(a.shape[0]):
                out[i] = math.floor(a[i])
            return out
        """,
        [
            *warm("floors", np.array([1.5, 2.5])),
            call("floors", np.array([1.5, NAN])),
            call("floors", np.array([1e20])),
        ],
    ),
    # 5: math domain and range errors.
    Case(
        "row05-sqrt-of-negative",
        """
        import math

        def root(x):
            return math.sqrt(x)
        """,
        [*warm("root", 4.0), call("root", -1.0), call("root", -0.0), call("root", NAN)],
    ),
    Case(
        "row05-exp-overflow",
        """
        import math

        def exponential(x):
            return math.exp(x)
        """,
        [*warm("exponential", 1.0), call("exponential", 1000.0), call("exponential", -1000.0)],
    ),
    Case(
        "row05-log-domain",
        """
        import math

        def logarithm(x):
            return math.log(x)
        """,
        [*warm("logarithm", 2.0), call("logarithm", 0.0), call("logarithm", -1.0)],
    ),
    Case(
        "row05-acos-domain",
        """
        import math

        def angle(x):
            return math.acos(x)
        """,
        [*warm("angle", 0.5), call("angle", 2.0)],
    ),
    Case(
        "row05-sqrt-over-array",
        """
        import math

        def sum_of_roots(a):
            s = 0.0
            for i in range(a.shape[0]):
                s += math.sqrt(a[i])
            return s
        """,
        [*warm("sum_of_roots", np.array([1.0, 4.0])), call("sum_of_roots", np.array([1.0, -4.0]))],
    ),
    Case(
        "row05-float-power",
        """
        def float_power(x, y):
            return x ** y
        """,
        [
            *warm("float_power", 2.0, 3.0),
            call("float_power", 10.0, 400.0),
            call("float_power", -8.0, 1 / 3),
            call("float_power", 0.0, -1.0),
        ],
    ),
    Case(
        "row05-math-pow",
        """
        import math

        def math_power(x, y):
            return math.pow(x, y)
        """,
        [
            *warm("math_power", 2.0, 3.0),
            call("math_power", -8.0, 1 / 3),
            call("math_power", 10.0, 400.0),
        ],
    ),
    # 6: ints above 2**53 in float arithmetic.
    Case(
        "row06-true-division-of-big-ints",
        """
        def ratio(a, b):
            return a / b
        """,
        [*warm("ratio", 7, 2), call("ratio", 1152921504607647852, 67), call("ratio", 2**60 + 1, 3)],
    ),
    Case(
        "row06-int-float-equality",
        """
        def equal(a, b):
            return a == b
        """,
        [*warm("equal", 3, 3.0), call("equal", 2**53 + 1, 9007199254740992.0)],
    ),
    Case(
        "row06-int-float-order",
        """
        def at_most(a, b):
            return a <= b
        """,
        [*warm("at_most", 3, 4.0), call("at_most", 2**53 + 1, 9007199254740992.0)],
    ),
    # 7: ~ on bool.
    Case(
        "row07-invert-bool",
        """
        def flip(flag):
            return ~flag
        """,
        [*warm("flip", True), call("flip", False)],
    ),
    Case(
        "row07-invert-comparison",
        """
        def not_less(a, b):
            return ~(a < b)
        """,
        [*warm("not_less", 1.0, 2.0), call("not_less", 3.0, 2.0)],
    ),
    Case(
        "row07-invert-on-a-late-branch",
        """
        def late(x):
            if x > 10:
                return ~(x > 20)
            return -x
        """,
        [*warm("late", 5), call("late", 15), call("late", 25)],
    ),
    # 8: NumPy 2 scalar promotion (NEP 50).
    Case(
        "row08-float32-element-times-float",
        """
        def scaled(a):
            return a[0] * 0.1
        """,
        [
            *warm("scaled", np.array([1.0], np.float32)),
            call("scaled", np.array([F32_ODD], np.float32)),
        ],
        refused="[8]",
    ),
    Case(
        "row08-float32-scalar-argument",
        """
        def scaled(x):
            return x * 0.1
        """,
        [*warm("scaled", np.float32(1.0)), call("scaled", F32_ODD)],
        refused="[8]",
    ),
    Case(
        "row08-int8-overflow",
        """
        def next_value(a):
            return a[0] + 1
        """,
        [*warm("next_value", np.array([1], np.int8)), call("next_value", np.array([127], np.int8))],
        refused="[8]",
    ),
    Case(
        "row08-int8-accumulate",
        """
        def total(a):
            s = a[0]
            for i in range(1, a.shape[0]):
                s += a[i]
            return s
        """,
        [
            *warm("total", np.array([1, 2, 3], np.int8)),
            call("total", np.array([100, 100], np.int8)),
        ],
        refused="[8]",
    ),
    Case(
        "row08-uint64-plus-int",
        """
        def plus(a, k):
            return a[0] + k
        """,
        [
            *warm("plus", np.array([5], np.uint64), 1),
            call("plus", np.array([2**60 + 1], np.uint64), 1),
            call("plus", np.array([2**64 - 1], np.uint64), 1),
        ],
        refused="[8]",
    ),
    Case(
        "row08-int32-times-int",
        """
        def product(a, b):
            return a[0] * b
        """,
        [
            *warm("product", np.array([3], np.int32), 5),
            call("product", np.array([2**30], np.int32), 4),
        ],
        refused="[8]",
    ),
    # 9: division by zero on NumPy scalars: inf or nan with a RuntimeWarning.
    Case(
        "row09-scalar-divide-by-zero",
        """
        def quotient(a):
            return a[0] / a[1]
        """,
        [
            *warm("quotient", np.array([1.0, 2.0])),
            call("quotient", np.array([1.0, 0.0])),
            call("quotient", np.array([0.0, 0.0])),
            call("quotient", np.array([-1.0, -0.0])),
        ],
        warnings=True,
    ),
    Case(
        "row09-scalar-divided-by-python-zero",
        """
        def quotient(a, d):
            return a[0] / d
        """,
        [*warm("quotient", np.array([3.0]), 2.0), call("quotient", np.array([3.0]), 0.0)],
        warnings=True,
    ),
    Case(
        "row09-int-scalar-floor-divide-by-zero",
        """
        def quotient(a):
            return a[0] // a[1]
        """,
        [*warm("quotient", np.array([7, 2])), call("quotient", np.array([7, 0]))],
        warnings=True,
    ),
    Case(
        "row09-scalar-modulo-zero",
        """
        def remainder(a):
            return a[0] % a[1]
        """,
        [*warm("remainder", np.array([7.0, 2.0])), call("remainder", np.array([7.0, 0.0]))],
        warnings=True,
    ),
    # 10: np.seterr.
    Case(
        "row10-seterr-divide-arrays",
        """
        def quotient(a, b):
            return a / b
        """,
        [
            *warm("quotient", np.array([1.0, 2.0]), np.array([2.0, 4.0])),
            _seterr(divide="raise"),
            call("quotient", np.array([1.0, 2.0]), np.array([0.0, 1.0])),
            _seterr(divide="ignore"),
            call("quotient", np.array([1.0]), np.array([0.0])),
        ],
        warnings=True,
    ),
    # Under NumPy's default "warn" mode the values agree, but a promoted variant does not
    # repeat NumPy's RuntimeWarning on stderr: a known limit (docs/correctness.md).
    Case(
        "row10-default-warn-mode-values",
        """
        def quotient(a, b):
            return a / b
        """,
        [
            *warm("quotient", np.array([1.0, 2.0]), np.array([2.0, 4.0])),
            call("quotient", np.array([1.0, 2.0]), np.array([0.0, 1.0])),
        ],
    ),
    Case(
        "row10-seterr-invalid-sqrt",
        """
        import numpy as np

        def roots(a):
            return np.sqrt(a)
        """,
        [
            *warm("roots", np.array([1.0, 4.0])),
            _seterr(invalid="raise"),
            call("roots", np.array([-1.0])),
        ],
        warnings=True,
    ),
    Case(
        "row10-seterr-overflow-exp",
        """
        import numpy as np

        def exponentials(a):
            return np.exp(a)
        """,
        [
            *warm("exponentials", np.array([1.0])),
            _seterr(over="raise"),
            call("exponentials", np.array([1000.0])),
        ],
        warnings=True,
    ),
    Case(
        "row10-seterr-underflow",
        """
        def shrink(a):
            return a * 1e-300
        """,
        [
            *warm("shrink", np.array([1.0])),
            _seterr(under="raise"),
            call("shrink", np.array([1e-300])),
        ],
        warnings=True,
    ),
    Case(
        "row10-seterr-scalar-divide",
        """
        def quotient(a):
            return a[0] / a[1]
        """,
        [
            *warm("quotient", np.array([1.0, 2.0])),
            _seterr(divide="raise"),
            call("quotient", np.array([1.0, 0.0])),
        ],
        warnings=True,
    ),
    # 11: NumPy scalars come back as Python scalars.
    Case(
        "row11-element-types",
        """
        def first(a):
            return a[0]
        """,
        [
            *warm("first", np.arange(3)),
            call("first", np.arange(3, dtype=np.float32)),
            call("first", np.array([True])),
            call("first", np.arange(3, dtype=np.uint8)),
            call("first", np.arange(3)),
            call("first", np.arange(3, dtype=np.float32)),
        ],
    ),
    Case(
        "row11-element-or-python-int",
        """
        def pick(a, k):
            if k > 0:
                return a[0]
            return 0
        """,
        [*warm("pick", np.array([5, 6]), 1), call("pick", np.array([5, 6]), 0)],
    ),
    Case(
        "row11-element-or-python-float",
        """
        def get(a, i):
            if i < a.shape[0]:
                return a[i]
            return -1.0
        """,
        [*warm("get", np.array([1.5, 2.5]), 1), call("get", np.array([1.5, 2.5]), 7)],
    ),
    Case(
        "row11-tuple-of-scalars",
        """
        def head(a):
            return a[0], a.shape[0], a[0] + a[-1]
        """,
        [*warm("head", np.array([1.5, 2.5])), call("head", np.array([3, 4]))],
    ),
    # 12: type unification.
    Case(
        "row12-int-or-float",
        """
        def choose(n):
            return 1 if n > 0 else 2.5
        """,
        [*warm("choose", -1), call("choose", 5)],
    ),
    Case(
        "row12-sum-of-empty-array",
        """
        def total(a):
            s = 0
            for x in a:
                s += x
            return s
        """,
        [*warm("total", np.array([1.0, 2.0])), call("total", np.zeros(0))],
    ),
    Case(
        "row12-empty-loop",
        """
        def repeat(n, x):
            s = 0
            for i in range(n):
                s += x
            return s
        """,
        [*warm("repeat", 3, 1.5), call("repeat", 0, 1.5)],
    ),
    Case(
        "row12-constant-inside-a-tuple",
        """
        def shortfall(a, stock):
            short = 0.0
            for x in a:
                if x > stock:
                    short += x - stock
            return a[0], short
        """,
        [*warm("shortfall", np.array([1.0, 5.0]), 2.0), call("shortfall", np.array([1.0]), 9.0)],
    ),
    Case(
        "row12-bool-or-int",
        """
        def flag(x):
            if x > 0:
                return True
            return 0
        """,
        [*warm("flag", -1), call("flag", 1)],
    ),
    Case(
        "row12-value-or-none",
        """
        def maybe(x):
            if x > 0:
                return x * 2.0
        """,
        [*warm("maybe", 1.0), call("maybe", -1.0)],
    ),
    # 13: str of a float.
    Case(
        "row13-f-string",
        """
        def label(x):
            return f"v={x}"
        """,
        [*warm("label", 1.5), call("label", 0.1 + 0.2), call("label", 1e22)],
        refused="[13]",
    ),
    Case(
        "row13-str",
        """
        def text(x):
            return str(x)
        """,
        [*warm("text", 1.5), call("text", 0.1 + 0.2), call("text", 7)],
        refused="[13]",
    ),
    Case(
        "row13-percent-format",
        """
        def text(x):
            return "v=%s" % x
        """,
        [*warm("text", 1.5), call("text", 0.1 + 0.2)],
        refused="Numba cannot compile it",
    ),
    # 14: str predicates.
    Case(
        "row14-isdigit",
        """
        def digit(k):
            return "1a²"[k].isdigit()
        """,
        [*warm("digit", 0), call("digit", 1), call("digit", 2)],
        refused="[14]",
    ),
    Case(
        "row14-isdecimal",
        """
        def decimal(k):
            return "1a²"[k].isdecimal()
        """,
        [*warm("decimal", 0), call("decimal", 2)],
        refused="[14]",
    ),
    # 15: round(x, n).
    Case(
        "row15-round-ndigits",
        """
        def cents(x):
            return round(x, 2)
        """,
        [*warm("cents", 1.234), call("cents", 2.675), call("cents", 0.125)],
        refused="[15]",
    ),
    Case(
        "row15-round-negative-ndigits",
        """
        def tens(n):
            return round(n, -1)
        """,
        [*warm("tens", 10), call("tens", 15), call("tens", 25)],
        refused="[15]",
    ),
    # 16: float reductions.
    Case(
        "row16-float32-sum",
        """
        def total(a):
            return a.sum()
        """,
        [*warm("total", np.array([0.5, 0.25, 1.0], np.float32)), call("total", BIG_FLOAT32)],
        refused="[16]",
    ),
    Case(
        "row16-float64-sum",
        """
        import numpy as np

        def total(a):
            return np.sum(a)
        """,
        [*warm("total", np.array([0.5, 0.25, 1.0])), call("total", RANDOM_FLOATS)],
        refused="[16]",
    ),
    Case(
        "row16-mean",
        """
        def average(a):
            return a.mean()
        """,
        [*warm("average", np.array([0.5, 0.25, 1.0, 0.25])), call("average", RANDOM_FLOATS)],
        refused="[16]",
    ),
    Case(
        "row16-sum-of-squares",
        """
        def total(a):
            return (a * a).sum()
        """,
        [*warm("total", np.array([0.5, 0.25])), call("total", RANDOM_FLOATS)],
        refused="[16]",
    ),
    Case(
        "row16-float32-loop",
        """
        def total(a):
            s = 0.0
            for i in range(a.shape[0]):
                s += a[i]
            return s
        """,
        [*warm("total", np.array([0.5, 0.25], np.float32)), call("total", BIG_FLOAT32[:100_000])],
        refused="[8]",
    ),
    # 17: overlapping in-place slices.
    Case(
        "row17-overlapping-add",
        """
        def running(a):
            a[1:] += a[:-1]
        """,
        [*warm("running", np.zeros(4)), call("running", np.array([1.0, 2.0, 3.0, 4.0]))],
        refused="[17]",
    ),
    Case(
        "row17-overlapping-shift",
        """
        def shift(a):
            a[1:] = a[:-1]
        """,
        [*warm("shift", np.zeros(4)), call("shift", np.array([1.0, 2.0, 3.0, 4.0]))],
    ),
    Case(
        "row17-overlapping-reverse",
        """
        def reverse(a):
            a[:] = a[::-1]
        """,
        [
            *warm("reverse", np.array([1.0, 2.0, 1.0])),
            call("reverse", np.array([1.0, 2.0, 3.0, 4.0])),
        ],
    ),
    # 18: bounds checking.
    Case(
        "row18-index-past-the-end",
        """
        def get(a, i):
            return a[i]
        """,
        [
            *[call("get", np.arange(3.0), i) for i in (0, 1, 2, 2)],
            call("get", np.arange(3.0), 5),
            call("get", np.arange(3.0), -4),
            call("get", np.arange(3.0), 3),
        ],
    ),
    Case(
        "row18-loop-past-the-end",
        """
        def total(a, n):
            s = 0.0
            for i in range(n):
                s += a[i]
            return s
        """,
        [*warm("total", np.arange(3.0), 3), call("total", np.arange(3.0), 5)],
    ),
    Case(
        "row18-2d-index-past-the-end",
        """
        def get(a, i, j):
            return a[i, j]
        """,
        [
            *warm("get", np.ones((2, 3)), 1, 2),
            call("get", np.ones((2, 3)), 0, 3),
            call("get", np.ones((2, 3)), 2, 0),
        ],
    ),
    Case(
        "row18-partial-writes-then-index-error",
        """
        def bump(a, n):
            for i in range(n):
                a[i] += 1.0
        """,
        [*warm("bump", np.zeros(3), 3), call("bump", np.zeros(3), 5)],
        isolated=True,
    ),
    Case(
        "row18-write-past-the-end",
        """
        def put(a, i, v):
            a[i] = v
        """,
        [
            *warm("put", np.zeros(3), 1, 2.0),
            call("put", np.zeros(3), 5, 2.0),
            call("put", np.zeros(3), -4, 2.0),
            call("put", np.zeros(3), 100000, 2.0),
        ],
        isolated=True,
    ),
    # With ``boundscheck = false`` the user gives up row 18 for promoted variants (documented
    # in docs/correctness.md); what still holds is that a crash in a new variant's first run
    # happens in an isolated child, so the variant is rejected and the program goes on.
    Case(
        "row18-boundscheck-off-crash-isolated",
        """
        def put(a, i, v):
            a[i] = v
        """,
        [
            call("put", np.zeros(3), 10**12, 2.0),
            *warm("put", np.zeros(3), 1, 2.0),
            call("put", np.zeros(3), 2, 5.0),
        ],
        isolated=True,
        settings={"jit": JitOptions(boundscheck=False)},
        refused="in its isolated first run",
    ),
    # 19: int array ** negative int.
    Case(
        "row19-int-array-negative-power",
        """
        def power(a, e):
            return a ** e
        """,
        [*warm("power", np.arange(1, 4), 2), call("power", np.arange(1, 4), -1)],
    ),
    Case(
        "row19-int-element-negative-power",
        """
        def power(a, e):
            return a[0] ** e
        """,
        [*warm("power", np.arange(2, 4), 2), call("power", np.arange(2, 4), -1)],
    ),
    # 20: sorting with NaN and signed zeros.
    Case(
        "row20-sort",
        """
        import numpy as np

        def ordered(a):
            return np.sort(a)
        """,
        [*warm("ordered", np.array([3.0, 1.0, 2.0])), call("ordered", MESSY)],
        refused="[20]",
    ),
    Case(
        "row20-sort-in-place",
        """
        def sort_in_place(a):
            a.sort()
        """,
        [*warm("sort_in_place", np.array([3.0, 1.0, 2.0])), call("sort_in_place", MESSY)],
        refused="[20]",
    ),
    Case(
        "row20-argsort",
        """
        import numpy as np

        def order(a):
            return np.argsort(a)
        """,
        [*warm("order", np.array([3.0, 1.0, 2.0])), call("order", MESSY)],
        refused="[20]",
    ),
    Case(
        "row20-median",
        """
        import numpy as np

        def middle(a):
            return np.median(a)
        """,
        [*warm("middle", np.array([3.0, 1.0, 2.0])), call("middle", MESSY[:9])],
        refused="[20]",
    ),
    Case(
        "row20-unique",
        """
        import numpy as np

        def distinct(a):
            return np.unique(a)
        """,
        [*warm("distinct", np.array([3.0, 1.0, 3.0])), call("distinct", MESSY)],
        refused="[20]",
    ),
    Case(
        "row20-max-of-signed-zeros",
        """
        def largest(a):
            return a.max()
        """,
        [*warm("largest", np.array([1.0, 2.0])), call("largest", np.array([0.0, -0.0]))],
    ),
    Case(
        "row20-builtin-max",
        """
        def larger(x, y):
            return max(x, y)
        """,
        [
            *warm("larger", 1.0, 2.0),
            call("larger", NAN, 1.0),
            call("larger", 1.0, NAN),
            call("larger", -0.0, 0.0),
            call("larger", 0.0, -0.0),
        ],
    ),
    Case(
        "row20-builtin-min",
        """
        def smaller(x, y):
            return min(x, y)
        """,
        [
            *warm("smaller", 1.0, 2.0),
            call("smaller", NAN, 1.0),
            call("smaller", 1.0, NAN),
            call("smaller", -0.0, 0.0),
            call("smaller", 0.0, -0.0),
        ],
    ),
    # 21: set order.
    Case(
        "row21-set-pop",
        """
        def pop(x):
            s = {5, 3, 100, 1, 64, 33, x}
            return s.pop()
        """,
        [*warm("pop", 5), call("pop", 7), call("pop", 1000)],
        refused="[21]",
    ),
    Case(
        "row21-set-iteration-order",
        """
        def fold(n):
            s = set()
            for i in range(n):
                s.add(i * 37 % 101)
            total = 0
            for v in s:
                total = total * 3 % 1000003 + v
            return total
        """,
        [*warm("fold", 3), call("fold", 50)],
        refused="[21]",
    ),
    # 22: hash(nan).
    Case(
        "row22-hash",
        """
        def digest(x):
            return hash(x)
        """,
        [*warm("digest", 1.5), call("digest", NAN), call("digest", INF), call("digest", -0.0)],
        refused="[22]",
    ),
    # 23: list arguments converted. The boundary converts lists itself (docs/boundary.md):
    # compiled code sees a fixed-length sequence without methods, and a list whose elements
    # are not all of one class is not converted (its call runs the original).
    Case(
        "row23-list-append",
        """
        def extend(values):
            values.append(3)
            return values
        """,
        [*warm("extend", [1.0, 2.0]), call("extend", [4.0])],
        refused="append",
    ),
    Case(
        "row23-list-of-ints",
        """
        def half(values):
            return values[0] / 2, values[-1]
        """,
        [*warm("half", [4, 5]), call("half", [2**62, True])],
    ),
    # 24: mutation lost.
    Case(
        "row24-list-in-a-tuple",
        """
        def push(t):
            t[0].append(t[1])
            return len(t[0])
        """,
        [*warm("push", ([0.0], 2.0)), call("push", ([], 1.0))],
        # The list in the tuple is unboxed at the boundary (docs/boundary.md); Numba cannot
        # compile append on the converted list, so the function stays plain.
        refused="append",
        isolated=True,
    ),
    Case(
        "row24-star-args",
        """
        def push(*args):
            args[0].append(1)
            return len(args)
        """,
        # each *args element is an argument of its own: a converted list has no append
        [*warm("push", [1]), call("push", [], 2.0)],
        refused="append",
        watch="push[*1]",
    ),
    Case(
        "row24-list-in-a-tuple-in-star-args",
        """
        def push(*args):
            args[0][0].append(args[1])
            return len(args[0][0])
        """,
        [*warm("push", ([0.0],), 2.0), call("push", ([],), 1.0)],
        refused="append",
        watch="push[*2]",
    ),
    Case(
        "row24-array-in-star-args-written-then-raise",
        """
        def fill(*args):
            out, n, k = args[0], args[1], args[2]
            for i in range(n):
                out[i] = 1.0 / (k - i)
            return out
        """,
        # the call that raises is handed back with out restored: CPython's partial writes
        [*warm("fill", np.zeros(5), 3, 10), call("fill", np.zeros(5), 5, 2)],
        watch="fill[*3]",
    ),
    Case(
        "row24-keywords-bound-per-shape",
        """
        def scaled(a, *weights, **options):
            total = 0.0
            for w in weights:
                total += w * a
            if "offset" in options:
                total += options["offset"]
            return total * options.get("scale", 1.0) + len(options)
        """,
        [
            *warm("scaled", 2.0, 1.0, 2.0, scale=3.0),
            call("scaled", 2.0, 1.0, 2.0, scale=3),
            call("scaled", 2.0, 1.0, 2.0, offset=1),
            call("scaled", 2.0, 1.0, 2.0, offset=1),
            call("scaled", 2.0, 1.0, 2.0, offset=1),
            call("scaled", 2.0, 1.0, 2.0, scale=3.0, offset=2**63),
        ],
        watch="scaled[*2, **{scale}]",
    ),
    Case(
        "row24-global-list",
        """
        SEEN = []

        def remember(x):
            SEEN.append(x)
            return len(SEEN)

        def seen():
            return SEEN
        """,
        [*warm("remember", 1.0), call("seen")],
        refused="reads global SEEN of type list",
    ),
    Case(
        "row24-list-in-a-global-tuple",
        """
        STATE = ([0.0], 1.0)

        def advance(x):
            STATE[0][0] += x * STATE[1]
            return STATE[0][0]
        """,
        [*warm("advance", 1.5), call("advance", 2.0)],
        refused="reads global STATE of type list",
        isolated=True,
    ),
    # 25: dicts.
    Case(
        "row25-dict-literal",
        """
        def record(x):
            return {"a": x, "b": 2 * x}
        """,
        [*warm("record", 1.5), call("record", 2)],
        refused="[25]",
    ),
    Case(
        "row25-dict-call",
        """
        def record(x):
            return dict(a=x, b=2 * x)
        """,
        [*warm("record", 1.5), call("record", 2)],
        refused="Numba cannot compile it",
    ),
    Case(
        "row25-dict-built-in-a-loop",
        """
        def table(n):
            d = {}
            for i in range(n):
                d[i] = i * 0.5
            return d
        """,
        [*warm("table", 3), call("table", 5)],
        refused="[25]",
    ),
    # 26: unbound locals.
    Case(
        "row26-loop-variable-after-empty-loop",
        """
        def last(n):
            for i in range(n):
                pass
            return i
        """,
        [*warm("last", 3), call("last", 0)],
        refused="[26]",
    ),
    Case(
        "row26-conditionally-assigned",
        """
        def double_positive(x):
            if x > 0:
                y = 2.0 * x
            return y
        """,
        [*warm("double_positive", 1.0), call("double_positive", -1.0)],
        refused="[26]",
    ),
    # 27: globals, helpers and closures frozen at compile time.
    Case(
        "row27-global-set-from-outside",
        """
        G = 1

        def scale(x):
            return x * G
        """,
        [*warm("scale", 3), _set("G", 100), call("scale", 3), _set("G", 2.5), call("scale", 3)],
    ),
    Case(
        "row27-global-statement",
        """
        G = 1.0

        def set_g(v):
            global G
            G = v

        def shifted(x):
            return x + G
        """,
        [*warm("shifted", 1.0), call("set_g", 100.0), call("shifted", 1.0)],
        refused="[27]",
    ),
    Case(
        "row27-global-bound-twice-while-importing",
        """
        try:
            import numpy as np
        except ImportError:
            np = None
        G = 1.0
        if np is not None:
            G = 2.0

        def scale(x):
            return x * G
        """,
        [*warm("scale", 3.0), _set("G", 100.0), call("scale", 3.0), _set("np", None)],
    ),
    Case(
        "row27-global-rebound-after-calls-at-import",
        """
        G = 1.0

        def scale(x):
            return x * G

        FIRST = [scale(1.5), scale(2.5), scale(3.5), scale(4.5)]
        G = 3.0
        """,
        # invalidated at the first call, compiled again and trialled on the next two
        [call("scale", 3.0), call("scale", 4.0), call("scale", 5.0)],
    ),
    Case(
        "row27-global-bound-in-a-module-level-loop",
        """
        def scaled(x):
            return x * K

        total = 0.0
        for K in range(3):
            total += scaled(1.5)
        """,
        [*warm("scaled", 2.0), call("scaled", 2.5)],
        refused="reads global K, which the module reassigns [27]",
    ),
    Case(
        "row27-global-written-through-globals",
        """
        G = 1.0

        def set_g(v):
            globals()["G"] = v

        def shifted(x):
            return x + G
        """,
        [*warm("shifted", 1.0), call("set_g", 100.0), call("shifted", 1.0)],
    ),
    Case(
        "row27-global-int-becomes-equal-float",
        """
        G = 1

        def scale(x):
            return x * G
        """,
        [*warm("scale", 3), _set("G", 1.0), call("scale", 3), _set("G", True), call("scale", 3)],
    ),
    Case(
        "row27-global-zero-becomes-negative-zero",
        """
        G = 0.0

        def offset(x):
            return x * G
        """,
        [*warm("offset", 3.0), _set("G", -0.0), call("offset", 3.0)],
    ),
    Case(
        "row27-global-deleted",
        """
        G = 2.0

        def scale(x):
            return x * G
        """,
        [*warm("scale", 3.0), do("del module.G", lambda m: delattr(m, "G")), call("scale", 3.0)],
    ),
    Case(
        "row27-helper-rebound",
        """
        def helper(x):
            return x + 1.0

        def other(x):
            return x - 1.0

        def twice(x):
            return helper(x) * 2.0
        """,
        [*warm("twice", 1.0), _set_to("helper", "other"), call("twice", 1.0)],
    ),
    Case(
        "row27-helper-behind-a-decorator-rebound",
        """
        import functools

        def jit(f):
            @functools.wraps(f)
            def wrapper(*args, **kwargs):
                return f(*args, **kwargs)
            return wrapper

        @jit
        def helper(x):
            return x + 1.0

        @jit
        def other(x):
            return x - 1.0

        def twice(x):
            return helper(x) * 2.0
        """,
        [*warm("twice", 1.0), _set_to("helper", "other"), call("twice", 1.0)],
    ),
    Case(
        "row27-decorator-wrapper-cell-changed",
        """
        def jit(f):
            def wrapper(*args):
                return f(*args)
            return wrapper

        def one(x):
            return x + 1.0

        def minus(x):
            return x - 1.0

        helper = jit(one)

        def twice(x):
            return helper(x) * 2.0
        """,
        [
            *warm("twice", 1.0),
            do(
                "helper.__closure__[0].cell_contents = minus",
                lambda m: setattr(m.helper.__closure__[0], "cell_contents", m.minus),
            ),
            call("twice", 1.0),
        ],
    ),
    Case(
        "row27-helper-code-replaced",
        """
        def helper(x):
            return x + 1.0

        def other(x):
            return x - 1.0

        def twice(x):
            return helper(x) * 2.0
        """,
        [
            *warm("twice", 1.0),
            do(
                "helper.__code__ = other.__code__",
                lambda m: setattr(m.helper, "__code__", m.other.__code__),
            ),
            call("twice", 1.0),
        ],
    ),
    Case(
        "row27-helper-reads-changed-global",
        """
        G = 2.0

        def helper(x):
            return x * G

        def plus_one(x):
            return helper(x) + 1.0
        """,
        [*warm("plus_one", 1.0), _set("G", 3.0), call("plus_one", 1.0)],
    ),
    Case(
        "row27-builtin-shadowed",
        """
        def fake_abs(x):
            return 42.0

        def magnitude(x):
            return abs(x) + 1.0
        """,
        [*warm("magnitude", -1.0), _set_to("abs", "fake_abs"), call("magnitude", -1.0)],
    ),
    Case(
        "row27-module-global-replaced",
        """
        import math

        class FakeMath:
            @staticmethod
            def sqrt(x):
                return -1.0

        def root(x):
            return math.sqrt(x)
        """,
        [
            *warm("root", 4.0),
            do("module.math = FakeMath()", lambda m: setattr(m, "math", m.FakeMath())),
            call("root", 4.0),
        ],
    ),
    Case(
        "row27-global-array-mutated",
        """
        import numpy as np

        W = np.array([1.0, 2.0, 3.0])

        def weight(i):
            return W[i] * 2.0
        """,
        [*warm("weight", 0), _write_item("W", 0, 100.0), call("weight", 0)],
        refused="[27]",
    ),
    Case(
        "row27-global-array-rebound",
        """
        import numpy as np

        W = np.array([1.0, 2.0, 3.0])

        def weight(i):
            return W[i] * 2.0
        """,
        [*warm("weight", 0), _set("W", np.array([5.0, 6.0])), call("weight", 0)],
        refused="[27]",
    ),
    Case(
        "row27-read-only-global-array-made-writable",
        """
        import numpy as np

        W = np.array([1.0, 2.0, 3.0])
        W.flags.writeable = False

        def weight(i):
            return W[i] * 2.0
        """,
        [
            *warm("weight", 0),
            do("module.W.flags.writeable = True", lambda m: setattr(m.W.flags, "writeable", True)),
            _write_item("W", 0, 100.0),
            call("weight", 0),
        ],
    ),
    Case(
        "row27-global-tuple-rebound",
        """
        T = (1.0, 2.0)

        def affine(x):
            return x * T[0] + T[1]
        """,
        [*warm("affine", 1.0), _set("T", (3.0, 4.0)), call("affine", 1.0)],
    ),
    Case(
        "row27-closure-cell-changed",
        """
        def make(k):
            def scaled(x):
                return x * k

            def set_k(v):
                nonlocal k
                k = v

            return scaled, set_k

        scaled, set_k = make(2.0)
        """,
        [*warm("scaled", 1.5), call("set_k", 5.0), call("scaled", 1.5)],
        refused="[27]",
    ),
    # 28: __defaults__.
    Case(
        "row28-defaults-changed",
        """
        def scale(x, factor=2.0):
            return x * factor
        """,
        [
            *warm("scale", 1.5),
            _set_defaults("scale", (10.0,)),
            call("scale", 1.5),
            _set_defaults("scale", (3,)),
            call("scale", 2),
        ],
    ),
    Case(
        "row28-helper-defaults-changed",
        """
        def helper(x, factor=2.0):
            return x * factor

        def plus_one(x):
            return helper(x) + 1.0
        """,
        [*warm("plus_one", 1.5), _set_defaults("helper", (10.0,)), call("plus_one", 1.5)],
        refused="Cannot bind",
    ),
    Case(
        "row28-mutable-default-array",
        """
        import numpy as np

        def accumulate(x, acc=np.zeros(1)):
            acc[0] += x
            return acc[0]
        """,
        [*warm("accumulate", 1.5), call("accumulate", 2.0), call("accumulate", 0.25)],
    ),
    # 29: keyword-only arguments and keyword calls.
    Case(
        "row29-keyword-only",
        """
        def total(a, b=1, *, c=2):
            return a + b + c
        """,
        # compiled in its bound form, where c is positional; CPython binds the defaults
        [*warm("total", 1, c=5), call("total", 1, 2, c=10), call("total", 1)],
    ),
    Case(
        "row29-keywords-passed-on",
        """
        def helper(x, scale=1.0):
            return x * scale

        def total(a, **kw):
            return helper(a, **kw)
        """,
        [*warm("total", 1.0, scale=2.0), call("total", 2.0)],
        refused="uses **kw otherwise than",
    ),
    Case(
        "row29-keyword-call",
        """
        def product(a, b=1.0):
            return a * b
        """,
        [*warm("product", a=2.0, b=3.0), call("product", 2.0), call("product", b=1.5, a=2.0)],
    ),
    # 30: recursion depth.
    Case(
        "row30-recursion-depth",
        """
        def depth(n):
            return 0 if n == 0 else 1 + depth(n - 1)
        """,
        # promoted with a depth budget; 990 levels run as Python and succeed, as in CPython
        [*warm("depth", 10), call("depth", 200), call("depth", 990), call("depth", 5000)],
        watch="depth",
    ),
    Case(
        "row30-recursion-past-the-limit-first",
        """
        def depth(n):
            return 0 if n == 0 else 1 + depth(n - 1)
        """,
        [*warm("depth", 10), call("depth", 5000), call("depth", 20), call("depth", 990)],
        refused="recursed past the depth compiled code may reach",
    ),
    Case(
        "row30-recursion-called-from-deep-in-the-stack",
        """
        def depth(n):
            return 0 if n == 0 else 1 + depth(n - 1)

        def descend(k, n):
            return depth(n) if k == 0 else descend(k - 1, n)
        """,
        [*warm("depth", 10), call("descend", 500, 300), call("descend", 500, 480)],
        refused="recursed past the depth compiled code may reach",
        watch="depth",
    ),
    Case(
        "row30-recursion-returns-a-constant-of-another-type",
        """
        def half(n):
            return 0 if n <= 0 else half(n - 1) + 0.5
        """,
        [*warm("half", 3), call("half", 0), call("half", 5)],
    ),
    Case(
        "row30-tree-recursion",
        """
        def fib(n):
            if n < 2:
                return n
            return fib(n - 1) + fib(n - 2)
        """,
        [*warm("fib", 10), call("fib", 20), call("fib", 24), call("fib", -1)],
    ),
    Case(
        "row30-mutual-recursion",
        """
        def even(n):
            return True if n == 0 else odd(n - 1)

        def odd(n):
            return False if n == 0 else even(n - 1)
        """,
        [*warm("even", 10), call("even", 5000), call("even", 7)],
        refused="is recursive through its helpers [30]",
    ),
    # 31: generators.
    Case(
        "row31-generator",
        """
        def halves(n):
            for i in range(n):
                yield i * 0.5
        """,
        [*warm("halves", 3), call("halves", 5)],
        refused="[31]",
    ),
    Case(
        "row31-generator-helper",
        """
        def powers(n):
            p = 1
            for i in range(n):
                yield p
                p *= 10

        def last_power(n):
            r = 0
            for v in powers(n):
                r = v
            return r
        """,
        [*warm("last_power", 3), call("last_power", 25)],
        refused="[31]",
    ),
    # 32: exception messages.
    Case(
        "row32-float-division-by-zero",
        """
        def divide(a, b):
            return a / b
        """,
        [*warm("divide", 1.0, 2.0), call("divide", 1.0, 0.0), call("divide", 0.0, 0.0)],
    ),
    Case(
        "row32-int-division-by-zero",
        """
        def quotient(a, b):
            return a // b, a % b
        """,
        [*warm("quotient", 7, 2), call("quotient", 7, 0)],
    ),
    Case(
        "row32-int-modulo-by-zero",
        """
        def remainder(a, b):
            return a % b
        """,
        [*warm("remainder", 7, 2), call("remainder", 7, 0)],
    ),
    Case(
        "row32-float-modulo-by-zero",
        """
        def remainder(a, b):
            return a % b
        """,
        [*warm("remainder", 7.0, 2.0), call("remainder", 7.0, 0.0)],
    ),
    Case(
        "row32-tuple-index",
        """
        def item(t, i):
            return t[i]
        """,
        [*warm("item", (1.0, 2.0), 0), call("item", (1.0, 2.0), 5)],
    ),
    Case(
        "row32-raise-with-message",
        """
        def checked(x):
            if x < 0:
                raise ValueError("x must be >= 0")
            return x * 2.0
        """,
        [*warm("checked", 1.0), call("checked", -1.0)],
    ),
    Case(
        "row32-raise-module-exception-class",
        """
        class FitError(ValueError):
            pass

        def checked(x):
            if x < 0:
                raise FitError("x must be >= 0", x)
            return x * 2.0
        """,
        [*warm("checked", 1.0), call("checked", -1.5), call("checked", 2.0)],
    ),
    Case(
        "row32-raise-exception-class-with-python-init",
        """
        RAISED = []

        class LoudError(ValueError):
            def __init__(self, message):
                RAISED.append(message)
                super().__init__(message)

        def checked(x):
            if x < 0:
                raise LoudError("negative")
            return x * 2.0

        def raised():
            return len(RAISED)
        """,
        [*warm("checked", 1.0), call("checked", -1.0), call("raised")],
        refused="defines __init__ or __new__ in Python",
    ),
    Case(
        "row32-assert",
        """
        def checked(x):
            assert x >= 0, "negative input"
            return x * 2.0
        """,
        [*warm("checked", 1.0), call("checked", -1.0)],
    ),
    Case(
        "row32-partial-writes-then-raise",
        """
        def bump_then_divide(a, d):
            for i in range(a.shape[0]):
                a[i] += 1.0
            return 1.0 / d
        """,
        [*warm("bump_then_divide", np.zeros(3), 2.0), call("bump_then_divide", np.zeros(3), 0.0)],
    ),
    # 33: try/except.
    Case(
        "row33-try-except",
        """
        import math

        def safe_root(x):
            try:
                return math.sqrt(x)
            except ValueError:
                return -1.0
        """,
        [*warm("safe_root", 4.0), call("safe_root", -1.0)],
        refused="[33]",
    ),
    Case(
        "row33-try-except-division",
        """
        def safe_divide(a, b):
            try:
                return a / b
            except ZeroDivisionError:
                return 0.0
        """,
        [*warm("safe_divide", 1.0, 2.0), call("safe_divide", 1.0, 0.0)],
        refused="[33]",
    ),
    # 34: random state.
    Case(
        "row34-random-module",
        """
        import random

        def draw(n):
            s = 0.0
            for i in range(n):
                s += random.random()
            return s
        """,
        [item for _ in range(4) for item in (_seed("random", 42), call("draw", 3))]
        + [call("draw", 2), call("draw", 2)],
        refused="[34]",
    ),
    Case(
        "row34-numpy-random",
        """
        import numpy as np

        def draw(n):
            s = 0.0
            for i in range(n):
                s += np.random.random()
            return s
        """,
        [item for _ in range(4) for item in (_seed("numpy", 42), call("draw", 3))]
        + [call("draw", 2), call("draw", 2)],
        refused="answered differently from the original",
    ),
    Case(
        "row34-random-function-imported",
        """
        from random import random

        def draw(n):
            s = 0.0
            for i in range(n):
                s += random()
            return s
        """,
        [item for _ in range(4) for item in (_seed("random", 42), call("draw", 3))]
        + [call("draw", 2), call("draw", 2)],
        refused="answered differently from the original",
    ),
    Case(
        "row34-numpy-random-function-imported",
        """
        from numpy.random import rand

        def draw(n):
            s = 0.0
            for i in range(n):
                s += rand()
            return s
        """,
        [item for _ in range(4) for item in (_seed("numpy", 42), call("draw", 3))]
        + [call("draw", 2), call("draw", 2)],
        refused="answered differently from the original",
    ),
    Case(
        "row34-seed-inside",
        """
        import random

        def seeded(n):
            random.seed(n)
            return random.random()
        """,
        [*warm("seeded", 1), call("seeded", 2)],
        refused="[34]",
    ),
    # 35: fastmath must stay off.
    Case(
        "row35-isnan",
        """
        import math

        def missing(x):
            return math.isnan(x)
        """,
        [*warm("missing", 1.0), call("missing", NAN), call("missing", INF)],
    ),
    Case(
        "row35-self-comparison",
        """
        def missing(x):
            return x != x
        """,
        [*warm("missing", 1.0), call("missing", NAN)],
    ),
    Case(
        "row35-nan-scan",
        """
        import math

        def any_missing(a):
            for i in range(a.shape[0]):
                if math.isnan(a[i]):
                    return True
            return False
        """,
        [*warm("any_missing", np.array([1.0, 2.0])), call("any_missing", np.array([1.0, NAN]))],
    ),
    # 36: parallel must stay off: the reduction order is the loop's.
    Case(
        "row36-loop-reduction",
        """
        def total(a):
            s = 0.0
            for i in range(a.shape[0]):
                s += a[i] * a[i]
            return s
        """,
        [*warm("total", np.array([0.5, 0.25])), call("total", RANDOM_FLOATS)],
    ),
    Case(
        "row36-2d-loop-reduction",
        """
        import numpy as np

        def row_sums(a):
            out = np.zeros(a.shape[0])
            for i in range(a.shape[0]):
                for j in range(a.shape[1]):
                    out[i] += a[i, j]
            return out
        """,
        [*warm("row_sums", np.ones((2, 3))), call("row_sums", RANDOM_FLOATS.reshape(100, 1000))],
    ),
    # 37: float ** int by repeated multiplication (perlin-noise's fade curve).
    Case(
        "row37-float-to-an-int-power",
        """
        import numpy as np

        def fade(a):
            out = np.empty_like(a)
            for i in range(a.shape[0]):
                t = a[i]
                out[i] = 6 * t**5 - 15 * t**4 + 10 * t**3
            return out
        """,
        [*warm("fade", np.array([0.5, 0.25])), call("fade", RANDOM_FLOATS)],
    ),
    Case(
        "row37-math-pow-with-an-int-exponent",
        """
        import math

        import numpy as np

        def fade(a, n):
            out = np.empty_like(a)
            for i in range(a.shape[0]):
                out[i] = math.pow(a[i], 5) + math.pow(a[i], n)
            return out
        """,
        [*warm("fade", np.array([0.5, 0.25]), 3), call("fade", RANDOM_FLOATS, 7)],
    ),
]


# The pyperformance bm_nbody layout: lists inside tuples, mutated through unpacking.
NBODY = """
PI = 3.14159265358979323
SOLAR_MASS = 4 * PI * PI
DAYS_PER_YEAR = 365.24

BODIES = {
    "sun": ([0.0, 0.0, 0.0], [0.0, 0.0, 0.0], SOLAR_MASS),
    "jupiter": (
        [4.84143144246472090e00, -1.16032004402742839e00, -1.03622044471123109e-01],
        [
            1.66007664274403694e-03 * DAYS_PER_YEAR,
            7.69901118419740425e-03 * DAYS_PER_YEAR,
            -6.90460016972063023e-05 * DAYS_PER_YEAR,
        ],
        9.54791938424326609e-04 * SOLAR_MASS,
    ),
    "saturn": (
        [8.34336671824457987e00, 4.12479856412430479e00, -4.03523417114321381e-01],
        [
            -2.76742510726862411e-03 * DAYS_PER_YEAR,
            4.99852801234917238e-03 * DAYS_PER_YEAR,
            2.30417297573763929e-05 * DAYS_PER_YEAR,
        ],
        2.85885980666130812e-04 * SOLAR_MASS,
    ),
    "uranus": (
        [1.28943695621391310e01, -1.51111514016986312e01, -2.23307578892655734e-01],
        [
            2.96460137564761618e-03 * DAYS_PER_YEAR,
            2.37847173959480950e-03 * DAYS_PER_YEAR,
            -2.96589568540237556e-05 * DAYS_PER_YEAR,
        ],
        4.36624404335156298e-05 * SOLAR_MASS,
    ),
    "neptune": (
        [1.53796971148509165e01, -2.59193146099879641e01, 1.79258772950371181e-01],
        [
            2.68067772490389322e-03 * DAYS_PER_YEAR,
            1.62824170038242295e-03 * DAYS_PER_YEAR,
            -9.51592254519715870e-05 * DAYS_PER_YEAR,
        ],
        5.15138902046611451e-05 * SOLAR_MASS,
    ),
}


def combinations(l):
    result = []
    for x in range(len(l) - 1):
        ls = l[x + 1 :]
        for y in ls:
            result.append((l[x], y))
    return result


SYSTEM = list(BODIES.values())
PAIRS = combinations(SYSTEM)
SYSTEM_TUPLE = tuple(SYSTEM)
PAIRS_TUPLE = tuple(PAIRS)


def advance(dt, n, bodies=SYSTEM, pairs=PAIRS):
    for i in range(n):
        for ([x1, y1, z1], v1, m1), ([x2, y2, z2], v2, m2) in pairs:
            dx = x1 - x2
            dy = y1 - y2
            dz = z1 - z2
            mag = dt * ((dx * dx + dy * dy + dz * dz) ** (-1.5))
            b1m = m1 * mag
            b2m = m2 * mag
            v1[0] -= dx * b2m
            v1[1] -= dy * b2m
            v1[2] -= dz * b2m
            v2[0] += dx * b1m
            v2[1] += dy * b1m
            v2[2] += dz * b1m
        for r, [vx, vy, vz], m in bodies:
            r[0] += dt * vx
            r[1] += dt * vy
            r[2] += dt * vz


def advance_globals(dt, n):
    for i in range(n):
        for ([x1, y1, z1], v1, m1), ([x2, y2, z2], v2, m2) in PAIRS_TUPLE:
            dx = x1 - x2
            dy = y1 - y2
            dz = z1 - z2
            mag = dt * ((dx * dx + dy * dy + dz * dz) ** (-1.5))
            b1m = m1 * mag
            b2m = m2 * mag
            v1[0] -= dx * b2m
            v1[1] -= dy * b2m
            v1[2] -= dz * b2m
            v2[0] += dx * b1m
            v2[1] += dy * b1m
            v2[2] += dz * b1m
        for r, [vx, vy, vz], m in SYSTEM_TUPLE:
            r[0] += dt * vx
            r[1] += dt * vy
            r[2] += dt * vz


def report_energy(bodies=SYSTEM, pairs=PAIRS, e=0.0):
    for ((x1, y1, z1), v1, m1), ((x2, y2, z2), v2, m2) in pairs:
        dx = x1 - x2
        dy = y1 - y2
        dz = z1 - z2
        e -= (m1 * m2) / ((dx * dx + dy * dy + dz * dz) ** 0.5)
    for r, [vx, vy, vz], m in bodies:
        e += m * (vx * vx + vy * vy + vz * vz) / 2.0
    return e


def offset_momentum(ref, bodies=SYSTEM, px=0.0, py=0.0, pz=0.0):
    for r, [vx, vy, vz], m in bodies:
        px -= vx * m
        py -= vy * m
        pz -= vz * m
    (r, v, m) = ref
    v[0] = px / m
    v[1] = py / m
    v[2] = pz / m


def system():
    return SYSTEM
"""


def _nbody_reference(module: types.ModuleType) -> tuple:
    return module.BODIES["sun"]


def _nbody_tuples(module: types.ModuleType) -> tuple:
    return (module.SYSTEM_TUPLE, module.PAIRS_TUPLE)


def _nbody_steps(advance: list) -> list:
    """offset_momentum, then energy and ``advance`` in turns, then the final state."""
    steps = [
        do(
            "offset_momentum(BODIES['sun'])",
            lambda m: m.offset_momentum(_nbody_reference(m)),
        )
    ]
    for _ in range(5):
        steps += [call("report_energy"), *advance, call("report_energy")]
    return [*steps, call("system")]


def _advance_explicit(module: types.ModuleType) -> None:
    module.advance(0.01, 20, *_nbody_tuples(module))


CASES += [
    Case(
        "row24-nbody-pyperformance",
        NBODY,
        _nbody_steps([call("advance", 0.01, 20)]),
        # Promoted: the lists in tuples are unboxed and written back (docs/boundary.md).
        isolated=True,
        watch="advance",
    ),
    Case(
        "row24-nbody-tuples-as-arguments",
        NBODY,
        _nbody_steps(
            [
                do("advance(0.01, 20, SYSTEM_TUPLE, PAIRS_TUPLE)", _advance_explicit),
                call("advance", 0.01, 3, (([1.0, 2.0, 3.0], [0.5, 0.5, 0.5], 1.0),), ()),
            ]
        ),
        # Promoted for the tuples of lists; the empty tuple of pairs fails to compile alone.
        isolated=True,
        watch="advance",
    ),
    Case(
        "row24-nbody-tuples-as-globals",
        NBODY,
        _nbody_steps([call("advance_globals", 0.01, 20)]),
        refused="reads global PAIRS_TUPLE of type list",
        isolated=True,
        watch="advance_globals",
    ),
]


# --- playing a case ----------------------------------------------------------------------


def describe(value: Any) -> Any:
    """A comparable, exact description: type and ``repr``, arrays by dtype, shape and bytes."""
    if isinstance(value, np.ndarray):
        return ("ndarray", value.dtype.str, value.shape, value.tobytes())
    if isinstance(value, (tuple, list)):
        return (type(value), [describe(item) for item in value])
    if isinstance(value, dict):
        return (type(value), [(describe(k), describe(v)) for k, v in value.items()])
    if isinstance(value, types.GeneratorType):
        return (type(value), [describe(item) for item in value])
    return (type(value), repr(value))


def outcome(function: Any, *args: Any, **kwargs: Any) -> tuple:
    """``("ok", result, args after, kwargs after, warnings)`` or ``("raised", type, message, ...)``.

    Warnings from Numba itself (compilation) are not part of the program's behaviour.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result: tuple = ("ok", describe(function(*args, **kwargs)))
        except Exception as exc:
            kind = type(exc)  # a class of the case's module: each copy defines its own
            named = kind if kind.__module__ == "builtins" else f"{kind.__qualname__} (module)"
            result = ("raised", named, str(exc))
    seen = tuple(
        (w.category.__name__, str(w.message))
        for w in caught
        if not w.category.__module__.startswith("numba")
    )
    return (*result, describe(args), describe(kwargs), seen)


def play(module: types.ModuleType, case: Case, after_step: Any = None) -> list:
    """Run the case's steps on ``module``, each play on its own deep copy of the arguments.

    ``after_step()``, if given, is called after each step (to watch autoaccel's decisions).
    """
    results = []
    with np.errstate(divide="warn", over="warn", under="ignore", invalid="warn"):
        for step in copy.deepcopy(case.steps):
            if step[0] == "do":
                step[2](module)
                results.append(("did", step[1]))
            else:
                _, name, args, kwargs = step
                found = outcome(getattr(module, name), *args, **kwargs)
                results.append(found if case.warnings else found[:-1])
            if after_step is not None:
                after_step()
    return results


class PromotionWatch:
    """Whether a module's watched function was promoted after any step of a case."""

    def __init__(self, module: types.ModuleType, case: Case) -> None:
        self.module = module
        self.case = case
        self.promoted = False

    def __call__(self) -> None:
        trampoline = watched(self.module, self.case.main)
        self.promoted |= trampoline is not None and bool(trampoline.promotions)


def watched(module: types.ModuleType, name: str) -> Any:
    """The trampoline of function ``name``, or of one of its bound forms (``"f[*2]"``)."""
    base, bracket, shape = name.partition("[")
    trampoline = lookup(getattr(module, base))
    if not bracket or trampoline is None:
        return trampoline
    forms = trampoline.bound_forms.forms
    return next((t for s, t in forms.items() if describe_shape(s) == f"[{shape}"), None)


def guard_problems(module: types.ModuleType, case: Case, promoted: bool) -> list[str]:
    """Whether the case reached its guard: promoted, or refused for the reason it names."""
    trampoline = watched(module, case.main)
    if not case.refused:
        return [] if promoted else [f"{case.main} was never promoted; name the refusal expected"]
    reasons = [] if trampoline is None else [trampoline.refusal or ""]
    reasons += [] if trampoline is None else [f.reason for f in trampoline.failures.values()]
    if any(case.refused in reason for reason in reasons):
        return []
    return [f"{case.main}: no reason contains {case.refused!r}: {reasons}"]


def plain_module(case: Case) -> types.ModuleType:
    """The case's source executed as plain Python, without the hook."""
    module = types.ModuleType(f"plain_{case.id.replace('-', '_')}")
    code = compile(textwrap.dedent(case.source), f"<plain {case.id}>", "exec")
    exec(code, module.__dict__)
    return module


def _functions(module: types.ModuleType) -> dict[str, types.FunctionType]:
    return {
        name: value
        for name, value in vars(module).items()
        if isinstance(value, types.FunctionType) and value.__module__ == module.__name__
    }


def trampoline_states(module: types.ModuleType) -> dict:
    """What autoaccel decided for each function (for failure messages)."""
    states = {}
    for name, function in _functions(module).items():
        trampoline = lookup(function)
        states[name] = trampoline and {
            "refusal": trampoline.refusal,
            "promoted": [p.signature for p in trampoline.promotions],
            "failures": sorted(map(repr, trampoline.failures.values())),
        }
    return states


def reason_problems(module: types.ModuleType, case: Case) -> list[str]:
    """Every recorded refusal or failure must give a reason; an expected refusal must too."""
    problems = []
    for name, function in _functions(module).items():
        trampoline = lookup(function)
        if trampoline is None:
            continue
        if trampoline.refusal is not None and not (
            isinstance(trampoline.refusal, str) and trampoline.refusal.strip()
        ):
            problems.append(f"{name}: empty refusal {trampoline.refusal!r}")
        for signature, reason in trampoline.failures.values():
            if not (isinstance(reason, str) and reason.strip()):
                problems.append(f"{name}{signature}: empty failure reason {reason!r}")
    trampoline = watched(module, case.main)
    if (
        case.refused
        and trampoline is not None
        and not (trampoline.promotions or trampoline.refusal or trampoline.failures)
    ):
        problems.append(f"{case.main}: neither promoted nor refused with a reason")
    return problems


def _readable(description: Any) -> str:
    """A short text for a :func:`describe` result (arrays shown as arrays)."""
    if isinstance(description, type):
        return description.__name__
    if not isinstance(description, tuple) or not description:
        return repr(description)
    if description[0] == "ndarray":
        _, dtype, shape, data = description
        array = np.frombuffer(data, dtype=dtype).reshape(shape)
        return f"{np.array2string(array, threshold=8, edgeitems=3)} dtype={array.dtype}"
    if len(description) == 2:
        kind, inner = description
        if isinstance(kind, tuple):  # a dict item
            return f"{_readable(kind)}: {_readable(inner)}"
        if isinstance(inner, list):
            return f"{_readable(kind)}[{', '.join(map(_readable, inner))}]"
        if isinstance(inner, str):
            return f"{_readable(kind)} {inner}"
    return f"({', '.join(map(_readable, description))})"


def _parts(found: tuple) -> dict:
    """The parts of an outcome: ``{what: (exact value, short text)}``."""
    if found[0] == "did":
        return {"action": (found[1], found[1])}
    if found[0] == "ok":
        answer = (found[:2], f"returned {_readable(found[1])}")
        rest = found[2:]
    else:
        answer = (found[:3], f"raised {found[1].__name__}: {found[2]}")
        rest = found[3:]
    labels = ("args after the call", "kwargs after the call", "warnings")
    return {"answer": answer, **{k: (v, _readable(v)) for k, v in zip(labels, rest, strict=False)}}


def _first_array_difference(want: Any, got: Any) -> str | None:
    """Where two array descriptions (possibly nested in tuples) first differ, as text."""
    if isinstance(want, tuple) and want and want[0] == "ndarray":
        if not (isinstance(got, tuple) and got and got[0] == "ndarray" and got[1:3] == want[1:3]):
            return None
        a = np.frombuffer(want[3], dtype=want[1]).reshape(want[2])
        b = np.frombuffer(got[3], dtype=got[1]).reshape(got[2])
        bad = np.argwhere(
            a.view(np.uint8).reshape(*a.shape, -1) != b.view(np.uint8).reshape(*b.shape, -1)
        )
        index = tuple(int(i) for i in bad[0][:-1])
        return f"at index {index}: CPython {a[index]!r}, autoaccel {b[index]!r}"
    if isinstance(want, tuple) and isinstance(got, tuple) and len(want) == len(got):
        for x, y in zip(want, got, strict=True):
            if isinstance(x, (tuple, list)) and x != y:
                return _first_array_difference(tuple(x), tuple(y))
    return None


def differences(case: Case, plain: list, accelerated: list) -> str:
    """The steps where autoaccel's outcome differs, the differing parts side by side."""
    lines = []
    for index, (step, want, got) in enumerate(zip(case.steps, plain, accelerated, strict=True)):
        if want == got:
            continue
        if step[0] == "do":
            lines.append(f"step {index}: {step[1]}")
        else:
            shown = [_readable(describe(a)) for a in step[2]]
            shown += [f"{k}={_readable(describe(v))}" for k, v in step[3].items()]
            lines.append(f"step {index}: {step[1]}({', '.join(shown)})")
        want_parts, got_parts = _parts(want), _parts(got)
        for key in dict.fromkeys([*want_parts, *got_parts]):
            exact_want, text_want = want_parts.get(key, (None, "-"))
            exact_got, text_got = got_parts.get(key, (None, "-"))
            if exact_want == exact_got:
                continue
            note = ""
            if text_want == text_got:
                where = _first_array_difference(exact_want, exact_got)
                note = f" (first difference {where})" if where else " (beyond the digits shown)"
            lines.append(f"  {key}{note}:")
            lines.append(f"    CPython:   {text_want[:600]}")
            lines.append(f"    autoaccel: {text_got[:600]}")
    return "\n".join(lines)


def _by_id(wanted: str) -> Case:
    return next(case for case in CASES if case.id == wanted)


def _params(isolated: bool) -> list:
    return [pytest.param(case, id=case.id) for case in CASES if case.isolated is isolated]


# --- tests -------------------------------------------------------------------------------


@pytest.mark.parametrize("case", _params(isolated=False))
def test_same_answers_as_cpython(case, accelerated):
    plain = play(plain_module(case), case)
    module = accelerated(case.source, validation_calls=VALIDATION_CALLS, **case.settings)
    watch = PromotionWatch(module, case)
    result = play(module, case, watch)
    states = trampoline_states(module)
    if result != plain:
        pytest.fail(
            f"{case.id}: autoaccel answered differently from CPython\n"
            f"{differences(case, plain, result)}\nautoaccel decided: {states}",
            pytrace=False,
        )
    assert reason_problems(module, case) == [], states
    assert guard_problems(module, case, watch.promoted) == [], states


@pytest.mark.slow
@pytest.mark.parametrize("case", _params(isolated=True))
def test_same_answers_as_cpython_in_a_subprocess(case):
    process = run_python(str(Path(__file__).resolve()), case.id, timeout=300)
    assert process.returncode == 0, (
        f"{case.id}: the process died with status {process.returncode}\n"
        f"stdout: {process.stdout[-2000:]}\nstderr: {process.stderr[-4000:]}"
    )
    report = json.loads(process.stdout.strip().splitlines()[-1])
    if report["accelerated"] != report["plain"]:
        pytest.fail(
            f"{case.id}: autoaccel answered differently from CPython\n"
            f"{report['differences']}\n"
            f"autoaccel decided: {report['states']}",
            pytrace=False,
        )
    assert report["problems"] == [], report["states"]
    assert report["guard"] == [], report["states"]


def test_plain_python_answers_are_reproducible():
    """The expectations are themselves deterministic: two plain runs of each case agree.

    A self-test of the cases, not of autoaccel, so one test for all of them.
    """
    unstable = [
        case.id
        for case in CASES
        if play(plain_module(case), case) != play(plain_module(case), case)
    ]
    assert unstable == []


def test_every_catalogue_row_has_a_case():
    rows = {int(case.id[3:5]) for case in CASES}
    assert rows == set(range(1, 38))
    assert len({case.id for case in CASES}) == len(CASES)


# --- subprocess entry point --------------------------------------------------------------


def _play_isolated(case_id: str) -> dict:
    """Play one case plainly and accelerated in this process; the report as a dict."""
    case = _by_id(case_id)
    plain = play(plain_module(case), case)
    with tempfile.TemporaryDirectory() as directory:
        name = f"aa_divergence_{case.id.replace('-', '_')}_{os.getpid()}"
        (Path(directory) / f"{name}.py").write_text(textwrap.dedent(case.source))
        sys.path.insert(0, directory)
        # No compile budget: it is CPU time, which coverage's tracing of Numba inflates.
        settings = {
            "min_calls": 1,
            "min_gain": 0.0,
            "validation_calls": VALIDATION_CALLS,
            "compile_budget": 0.0,
        }
        with install(Config(modules=(name,), **{**settings, **case.settings})):
            module = importlib.import_module(name)
        watch = PromotionWatch(module, case)
        accelerated = play(module, case, watch)
    return {
        "plain": [repr(item) for item in plain],
        "accelerated": [repr(item) for item in accelerated],
        "differences": differences(case, plain, accelerated),
        "states": repr(trampoline_states(module)),
        "problems": reason_problems(module, case),
        "guard": guard_problems(module, case, watch.promoted),
    }


if __name__ == "__main__":
    print(json.dumps(_play_isolated(sys.argv[1])))
