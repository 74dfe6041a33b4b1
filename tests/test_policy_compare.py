"""Exact comparison and result adapters used by validation."""

from __future__ import annotations

import numpy as np
import pytest

from autoaccel.policy.compare import close, copy_value, learn_adapter, same


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        (1.0, 1.0, True),
        (float("nan"), float("nan"), True),
        (0.0, -0.0, False),
        (1, 1.0, False),
        (np.float64(1.0), 1.0, False),
        (True, 1, False),
        (complex(1, float("nan")), complex(1, float("nan")), True),
        ((1, 2.0), (1, 2.0), True),
        ((1, 2.0), (1, 2), False),
        ([1.0, 2.0], [1.0, 2], False),
        (np.array([1.0, np.nan]), np.array([1.0, np.nan]), True),
        (np.array([0.0]), np.array([-0.0]), False),
        (np.array([1, 2]), np.array([1.0, 2.0]), False),
        (np.zeros((2, 3)), np.zeros((3, 2)), False),
        (np.array([1 + 1j, np.nan]), np.array([1 + 1j, np.nan]), True),
        ("a", "a", True),
        (None, None, True),
    ],
)
def test_same(a, b, expected):
    assert same(a, b) is expected


def test_copy_keeps_layout_and_is_independent():
    base = np.arange(12.0).reshape(3, 4)
    for array in (base, np.asfortranarray(base), base[:, ::2]):
        copy = copy_value(array)
        assert copy.flags.c_contiguous == array.flags.c_contiguous
        assert copy.flags.f_contiguous == array.flags.f_contiguous
        copy[...] = -1
        assert not np.shares_memory(copy, array)
    nested = copy_value((base, 2))
    assert nested[0] is not base and nested[1] == 2


def test_adapter_restores_numpy_scalar_types():
    assert learn_adapter(1.0, 2.0) is None
    adapter = learn_adapter(np.float64(1.0), 1.0)
    assert type(adapter(3.0)) is np.float64
    tuple_adapter = learn_adapter((np.int64(1), 2.0), (1, 2.0))
    result = tuple_adapter((4, 5.0))
    assert type(result[0]) is np.int64 and type(result[1]) is float


def test_adapter_refuses_unrelated_types():
    with pytest.raises(ValueError, match="returns float where the original returns int"):
        learn_adapter(1, 1.0)
    # Never a narrowing adapter: a float made np.int64 would lose its fraction (and the
    # ambiguous-result check relies on adapters keeping a value's kind or widening it).
    with pytest.raises(ValueError, match="returns float where the original returns int64"):
        learn_adapter(np.int64(1), 1.0)
    with pytest.raises(ValueError, match="returns int where the original returns bool"):
        learn_adapter(np.bool_(True), 1)
    assert learn_adapter(np.float64(1.0), 1) is np.float64


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (np.array([1 + 1j, complex(2, 0.0)]), np.array([1 + 1j, complex(2, -0.0)])),  # signed zero
        (np.array([1 + 1j, 2 + 3j]), np.array([1 + 1j, 2 + 4j])),
        (np.array([1 + 1j], np.complex64), np.array([1 + 2j], np.complex64)),
        (np.array([complex(1, np.nan)]), np.array([1 + 0j])),
        (complex(1, 2), complex(1, 3)),
        (np.complex128(1 + 2j), np.complex128(1 - 2j)),
    ],
)
def test_complex_values_that_differ_only_in_their_imaginary_part_differ(a, b):
    assert same(a, b) is False
    assert same(b, a) is False


def test_close_tolerates_imaginary_parts_within_the_tolerance_only():
    a = np.array([1 + 1j, 2 + 3j])
    assert close(a, a + 1e-12j, 1e-9, 0.0) is True
    assert close(a, a + 1e-3j, 1e-9, 0.0) is False
    assert close(a, a + 1j, 0.0, 0.0) is False


def test_close_allows_float_differences_within_the_tolerance_only():
    a = np.array([1.0, np.nan, np.inf, -0.0])
    assert close(a, a * (1 + 1e-13), 1e-12, 0.0)
    assert not close(a, a * (1 + 1e-11), 1e-12, 0.0)
    assert not close(a, np.array([1.0, 0.0, np.inf, 0.0]), 1e-12, 0.0), "NaN only against NaN"
    assert not close(a, np.array([1.0, np.nan, -np.inf, 0.0]), 1e-12, 1.0), "same infinity"
    assert close(np.float64(1.0), np.float64(1.0 + 1e-15), 1e-12, 0.0)
    assert not close(1.0, np.float64(1.0), 1.0, 1.0), "types must still agree"
    assert not close(a, a.astype(np.float32), 1.0, 1.0), "dtypes must still agree"
    assert not close(np.arange(3), np.arange(3) + 1, 1.0, 1.0), "integers are exact"
    assert close((1.0, np.arange(2)), (1.0 + 1e-15, np.arange(2)), 1e-12, 0.0)
