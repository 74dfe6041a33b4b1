"""autoaccel.runtime.keys: the keys of the runtime's tables."""

from __future__ import annotations

import numpy as np

from autoaccel.runtime.keys import (
    ExactKey,
    Failure,
    describe_types,
    small_array_type,
    type_key_function,
)


def test_the_type_key_is_the_argument_types_in_order():
    key = type_key_function(3)
    assert key((1, 2.0, np.zeros(2))) == (int, float, np.ndarray)
    assert key((True, "s", None)) == (bool, str, type(None))
    assert type_key_function(3) is key  # one function per arity
    assert type_key_function(0)(()) == ()


def test_small_arrays_form_a_signature_of_their_own():
    key = type_key_function(2, min_size=100)
    small = small_array_type(100)
    assert key((np.zeros(99), np.zeros(100))) == (small, np.ndarray)
    assert key((np.zeros((5, 5)), 3)) == (small, int)  # by size, not length
    assert issubclass(small, np.ndarray) and small.__name__ == "ndarray[size<100]"
    assert small_array_type(100) is small and small_array_type(10) is not small


def test_types_are_described_as_the_report_writes_them():
    assert describe_types((np.ndarray, float)) == "(ndarray, float)"
    assert describe_types(()) == "()"
    assert describe_types((small_array_type(8),)) == "(ndarray[size<8])"


def test_keys_are_named_tuples():
    key = ExactKey((float,), ("fp",))
    assert key.types == (float,) and key.fingerprints == ("fp",) and key == ((float,), ("fp",))
    failure = Failure("(float64)", "measured speed-up 0.50x is below min_gain 1.2")
    signature, reason = failure
    assert (signature, reason) == (failure.signature, failure.reason)
