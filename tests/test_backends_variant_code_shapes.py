"""The variant's bytecode: every checked operation is found in each version's bytecode shape.

Each source below compiles to a different instruction pattern on 3.10 (one opcode per
operator, ``CALL_FUNCTION``, ``LOAD_METHOD``/``CALL_METHOD``), 3.11 (``BINARY_OP``,
``PRECALL``, a NULL bit on ``LOAD_GLOBAL``), 3.12 (a method bit on ``LOAD_ATTR``) and 3.13
(``PUSH_NULL`` after the callee, ``*_CAST`` comparisons), and the suite runs on each: the
stand-ins expected are the same everywhere. A missed shape would let Numba's unchecked
operation through; a wrong rewrite would fail to compile or answer differently, so each
rewritten function is also compiled and run.
"""

from __future__ import annotations

import textwrap
import types

import numba
import numpy as np
import pytest

from autoaccel.backends.variant_code import checked_code

_HEADER = """
import math
import numpy as np
from math import sqrt
M = math  # a global module this module did not bind by import
"""

# (body of f(a, b, n, c, x, y), stand-ins that must be used, stand-ins that must not)
CASES = [
    (
        "return x + y - x * y / 2.0 // 1.0 + x ** 2 + (n << 1)",
        {"add", "sub", "mul", "truediv", "floordiv", "pow", "lshift"},
        set(),
    ),
    (
        "s = x\n    s += y\n    s -= 1.0\n    s *= 2.0\n    s /= 3.0\n    s //= 1.0\n    return s",
        {"iadd", "isub", "imul", "itruediv", "ifloordiv"},
        set(),
    ),
    ("return -x + ~n", {"negative", "invert"}, set()),
    ("if x < y:\n        return 1.0\n    return 2.0", {"lt"}, set()),
    ("return x <= y and x != y or x == y", {"le", "ne", "eq"}, set()),
    ("return int(x) + round(y)", {"int", "round"}, set()),
    ("return int(x if c else y)", {"int"}, set()),
    ("return round(x or y)", {"round"}, set()),
    ("g = int\n    return x", set(), {"int"}),
    ("return math.sqrt(x) + math.floor(y)", {"math_sqrt", "math_floor"}, set()),
    ("return M.sqrt(x)", {"math_sqrt"}, set()),
    ("return sqrt(x)", {"math_sqrt"}, set()),
    ("return math.hypot(*(x, y))", {"math_hypot"}, set()),
    ("return math.atan2(x, y)", {"math_atan2"}, set()),
    ("return a.max() + np.min(a)", {"array_max", "array_min"}, set()),
    ("return math.sqrt(math.floor(x) + sqrt(y))", {"math_sqrt", "math_floor"}, set()),
    ("f = math.sqrt\n    return x", set(), {"math_sqrt"}),
]


def _function(body: str) -> types.FunctionType:
    source = _HEADER + f"def f(a, b, n, c, x, y):\n    {body}\n"
    namespace: dict = {}
    exec(compile(textwrap.dedent(source), "<variant-code-test>", "exec"), namespace)
    return namespace["f"]


ARGS = (np.arange(1.0, 5.0), np.arange(4.0), 6, True, 2.25, 1.5)


@pytest.mark.parametrize(("body", "used", "unused"), CASES, ids=[c[0] for c in CASES])
def test_checked_operations_are_found_in_this_versions_bytecode(body, used, unused):
    original = _function(body)
    code, needed = checked_code(original.__code__, original.__globals__)
    names = {name.removeprefix("__aa_").removesuffix("__") for name in needed}
    assert used <= names, f"missed {used - names} in {body!r}"
    assert not (unused & names), f"rewrote {unused & names}, which {body!r} does not call"
    variant = types.FunctionType(code, {**original.__globals__, **needed}, "f")
    result = numba.njit(variant)(*ARGS)
    expected = original(*ARGS)
    np.testing.assert_array_equal(result, expected)
