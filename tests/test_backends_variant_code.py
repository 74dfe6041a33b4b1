"""autoaccel.backends.variant_code: the variant's bytecode with checked operations swapped in."""

from __future__ import annotations

import dis
import math
import types

import numba
import numpy as np
import pytest
from conftest import units

from autoaccel.backends import checked_ops
from autoaccel.backends.variant_code import checked_code
from autoaccel.errors import Deoptimize

SOURCE = """
import math
from math import floor

def mixed(a, b):
    s = a + b
    s -= a * b
    return -s < math.sqrt(float(b)) + int(2.5) + floor(1.5)

def peak(x):
    return x.max() + abs(x[0])

def plain(a, b):
    return a & b
"""


def _variant(name: str) -> tuple[types.FunctionType, dict, types.CodeType]:
    found, _ = units(SOURCE)
    unit = found[name]
    code, needed = checked_code(unit.code, unit.globals)
    return types.FunctionType(code, {**unit.globals, **needed}, name), needed, unit.code


def test_operators_calls_and_methods_become_checked_stand_ins():
    _, needed, _ = _variant("mixed")
    assert needed == {
        "__aa_add__": checked_ops.BINARY[("add", False)],
        "__aa_mul__": checked_ops.BINARY[("mul", False)],
        "__aa_isub__": checked_ops.BINARY[("sub", True)],
        "__aa_negative__": checked_ops.negative,
        "__aa_math_sqrt__": checked_ops.CALLS[id(math.sqrt)],  # math.sqrt(...)
        "__aa_int__": checked_ops.CALLS[id(int)],
        "__aa_math_floor__": checked_ops.CALLS[id(math.floor)],  # from math import floor
        "__aa_lt__": checked_ops.COMPARE["lt"],
    }  # float() and abs() cannot differ from CPython: left as they are


def test_the_original_code_is_left_alone():
    variant, _, original = _variant("mixed")
    assert "__aa_add__" in variant.__code__.co_names
    assert not any(name.startswith("__aa_") for name in original.co_names)
    # BINARY_OP on 3.11+, BINARY_ADD and its kind on 3.10: the operators are still there.
    assert any(i.opname.startswith("BINARY_") for i in dis.get_instructions(original))


def test_the_variant_answers_as_the_original_and_deoptimizes_on_overflow():
    variant, _, original = _variant("mixed")
    compiled = numba.njit(variant)
    plain = types.FunctionType(original, variant.__globals__)
    assert compiled(3, 4) == plain(3, 4)
    assert compiled(-3, 7) == plain(-3, 7)
    with pytest.raises(Deoptimize):
        compiled(2**62, 2**62)


def test_array_max_method_and_untouched_operators():
    variant, needed, _ = _variant("peak")
    assert "__aa_array_max__" in needed
    a = np.array([-0.0, 0.0, 2.0])
    assert numba.njit(variant)(a) == 2.0
    _, needed, _ = _variant("plain")
    assert needed == {}  # & has no checked form: it cannot overflow
