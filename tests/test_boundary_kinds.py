"""autoaccel.boundary.kinds: one class per kind of converted value, its Numba type on it."""

from __future__ import annotations

import numpy as np
import pytest

from autoaccel.boundary.convert import convert, kind
from autoaccel.boundary.kinds import (
    ArrayKind,
    Kind,
    Native,
    NativeTuple,
    Unconvertible,
    exact_classes,
    kind_of,
    native_class,
)


def test_each_kind_has_one_class_and_the_class_carries_the_kind():
    floats = native_class(Kind("list", "<f8"), typed=False)
    assert floats is native_class(Kind("list", "<f8"), typed=False)
    assert floats is not native_class(Kind("list", "<i8"), typed=False)
    assert issubclass(floats, Native) and floats.kind == Kind("list", "<f8")
    pair = native_class((float, Kind("list", "<f8")), typed=False)
    assert issubclass(pair, NativeTuple) and pair.kind == (float, Kind("list", "<f8"))


def test_a_typed_class_knows_its_numba_type():
    cls = native_class(Kind("list", "<f8"), typed=True)
    assert cls._numba_type_ is not None
    (value,) = convert(([1.0, 2.0],))
    assert type(value) is cls and value.source == [1.0, 2.0]  # filled when unboxed


def test_kinds_tell_lists_of_floats_ints_and_bools_apart():
    kinds = {kind([1.0]), kind([1]), kind([True])}
    assert len(kinds) == 3
    assert kind(np.float64(1.0)) == np.dtype(np.float64)


def test_classes_that_tell_numba_types_exactly():
    (converted,) = convert(([1.0, 2.0],))
    assert exact_classes((1.0, 2, converted, np.float32(1))) is not None
    assert exact_classes((np.ones(3),)) is None, "an array's class does not tell its dtype"
    assert exact_classes(((1.0, 2.0),)) is None, "a plain tuple's class does not tell its items"


def test_values_inside_a_tuple_have_kinds_down_to_array_layout():
    array = np.ones((2, 3))[:, ::2]
    assert kind_of(array) == ArrayKind("<f8", 2, "A", True)
    assert kind_of((1.0, (2, True))) == (float, (int, bool))
    with pytest.raises(Unconvertible, match="takes a object inside a tuple"):
        kind_of((object(),))
