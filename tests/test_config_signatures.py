"""autoaccel.config.signatures: declared signatures read with Numba's parser, and their types."""

from __future__ import annotations

import numpy as np
import pytest
from numba.core import types as nbtypes

from autoaccel.config.signatures import parse_signature, python_types


def test_a_signature_gives_its_argument_types_and_drops_the_return_type():
    assert parse_signature("float64[:](float64[:], int64)") == (
        nbtypes.float64[:],
        nbtypes.int64,
    )
    assert parse_signature("(int64[:, ::1], float32)") == (nbtypes.int64[:, ::1], nbtypes.float32)


@pytest.mark.parametrize(
    ("text", "shown"),
    [("flaot64(float64)", "flaot64"), ("float64", "not a Numba signature"), ("(", "'('")],
)
def test_what_is_not_a_signature_says_why(text, shown):
    with pytest.raises(ValueError, match="is not a Numba signature") as info:
        parse_signature(text)
    assert shown in str(info.value)


def test_each_numba_type_maps_to_the_python_type_a_call_passes():
    signature = parse_signature(
        "(float64, int64, boolean, complex128, float32, int8, float64[:], UniTuple(int64, 2))"
    )
    assert python_types(signature) == (
        float,
        int,
        bool,
        complex,
        np.float32,
        np.int8,
        np.ndarray,
        tuple,
    )


def test_types_no_call_passes_to_numba_are_refused():
    with pytest.raises(ValueError, match="unicode_type is not a type autoaccel passes"):
        python_types(parse_signature("(unicode_type,)"))
