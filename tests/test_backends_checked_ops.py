"""autoaccel.backends.checked_ops: operations that deoptimize where Numba and CPython differ.

Each stand-in is called from a small ``numba.njit`` function, as a variant's rewritten
bytecode calls it (autoaccel.backends.variant_code); a :class:`Deoptimize` means the original
runs instead.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numba
import numpy as np
import pytest
from numba.core.errors import TypingError

from autoaccel.backends import checked_ops
from autoaccel.errors import Deoptimize

ADD, SUB, MUL = (checked_ops.BINARY[(op, False)] for op in ("add", "sub", "mul"))
POW, FLOORDIV, LSHIFT = (checked_ops.BINARY[(op, False)] for op in ("pow", "floordiv", "lshift"))
TRUEDIV = checked_ops.BINARY[("truediv", False)]
INT, SQRT = checked_ops.CALLS[id(int)], checked_ops.CALLS[id(math.sqrt)]
LT = checked_ops.COMPARE["lt"]


@functools.cache
def _calling(op: Any, arity: int) -> Any:
    """A jitted function calling ``op`` (a global of its code, as in a variant)."""
    names = ", ".join("ab"[:arity])
    namespace: dict = {"op": op}
    exec(f"def call({names}):\n    return op({names})", namespace)
    return numba.njit(namespace["call"])


def binary(op: Any, a: Any, b: Any) -> Any:
    return _calling(op, 2)(a, b)


def unary(op: Any, a: Any) -> Any:
    return _calling(op, 1)(a)


@pytest.mark.parametrize(
    ("op", "a", "b", "expected"),
    [
        (ADD, 2**62, 2**62 - 1, 2**63 - 1),
        (SUB, -(2**63) + 1, 1, -(2**63)),
        (MUL, 3_037_000_499, 3_037_000_499, 3_037_000_499**2),
        (POW, 3, 39, 3**39),
        (FLOORDIV, -7, 2, -4),
        (LSHIFT, 1, 62, 2**62),
        (TRUEDIV, 2**53, 3, 2**53 / 3),
    ],
)
def test_int64_operations_answer_as_cpython_while_they_can(op, a, b, expected):
    assert binary(op, a, b) == expected


@pytest.mark.parametrize(
    ("op", "a", "b"),
    [
        (ADD, 2**62, 2**62),
        (SUB, -(2**63), 1),  # unchecked: 9223372036854775807
        (SUB, 0, -(2**63)),
        (MUL, 2**32, 2**32),
        (POW, 2, -1),  # CPython: 0.5
        (POW, 3, 40),
        (FLOORDIV, -(2**63), -1),
        (LSHIFT, 1, 64),
        (TRUEDIV, 2**53 + 1, 3),  # not exact in float64
    ],
)
def test_int64_operations_deoptimize_where_cpython_answers_otherwise(op, a, b):
    with pytest.raises(Deoptimize):
        binary(op, a, b)


def test_float_operations_are_plain():
    assert binary(ADD, 0.1, 0.2) == 0.1 + 0.2
    assert binary(POW, 2.0, 0.5) == 2.0**0.5
    with pytest.raises(Deoptimize):
        binary(POW, -8.0, 1 / 3)  # CPython returns a complex
    with pytest.raises(Deoptimize):
        binary(POW, 0.0, -1.0)  # CPython raises ZeroDivisionError


def test_float_to_int_deoptimizes_outside_int64():
    assert unary(INT, -2.5) == -2
    for value in (math.nan, math.inf, 1e20):
        with pytest.raises(Deoptimize):
            unary(INT, value)


def test_math_deoptimizes_where_cpython_raises():
    assert unary(SQRT, 4.0) == 2.0
    assert math.isnan(unary(SQRT, math.nan))  # NaN in, NaN out: CPython agrees
    with pytest.raises(Deoptimize):
        unary(SQRT, -1.0)


def test_int_float_comparisons_are_exact():
    assert binary(LT, 2**53 - 1, float(2**53)) is True
    with pytest.raises(Deoptimize):
        binary(LT, 2**53 + 1, float(2**53))  # rounded to float, the answer would change


def test_unary_operations():
    assert unary(checked_ops.invert, True) == -2  # CPython: an int, not False
    assert unary(checked_ops.negative, -5) == 5
    with pytest.raises(Deoptimize):
        unary(checked_ops.negative, -(2**63))


def test_array_max_deoptimizes_nothing_and_agrees_with_numpy():
    a = np.array([1.0, -0.0, 0.0, 3.5])
    assert unary(checked_ops.array_max, a) == np.max(a)
    assert unary(checked_ops.array_min, np.arange(5)) == 0


def test_mixed_scalar_types_are_refused_at_compile_time_with_the_reason():
    checked_ops.refusals.clear()
    with pytest.raises(TypingError):
        binary(ADD, np.float32(1.5), 0.1)
    assert checked_ops.refusals[-1] == (
        "computes float32 + float64: NumPy 2 keeps the smaller type (NEP 50), Numba widens it [8]"
    )


def test_stand_ins_cannot_be_called_from_python():
    with pytest.raises(RuntimeError, match="callable from compiled code only"):
        ADD(1, 2)
