"""autoaccel.backends.converted_checks: what compiled code may store into converted values.

Checked through compiled variants (the typed IR is Numba's): a store that would give the
write-back another class than CPython's is refused with its reason.
"""

from __future__ import annotations

import numba

from autoaccel.backends import converted_checks, typed_checks
from autoaccel.boundary.convert import convert


class Point:
    def __init__(self) -> None:
        self.x = 1.0
        self.n = 2


def _inspect(function, *args):
    natives = convert(args)
    dispatcher = numba.njit(function)
    signature = tuple(numba.typeof(value) for value in natives)
    dispatcher.compile(signature)
    return typed_checks.inspect_variant(dispatcher, signature)


def test_a_field_store_of_its_own_type_writes_the_argument():
    def move(p, d):
        p.x = p.x + d
        return p.n

    inspection = _inspect(move, Point(), 0.5)
    assert inspection.refusal is None and inspection.written == {0}


def test_an_int_stored_into_a_float_field_is_refused():
    def reset(p):
        p.x = 0
        return p.n

    inspection = _inspect(reset, Point())
    assert inspection.refusal == (
        "stores int64 into Point.x, which holds float64: CPython would then hold another class [23]"
    )


def test_reading_fields_writes_nothing():
    def read(p):
        return p.x * p.n

    assert _inspect(read, Point()).written == set()


def test_a_list_store_is_told_apart_from_other_sequences():
    (floats,) = convert(([1.0],))
    (data,) = convert((bytearray(b"a"),))
    assert converted_checks.is_converted_list(type(floats)._numba_type_)
    assert not converted_checks.is_converted_list(type(data)._numba_type_)


def test_returning_the_object_is_refused():
    def chained(p, d):
        p.x = p.x + d
        return p

    inspection = _inspect(chained, Point(), 0.5)
    assert inspection.refusal is not None and inspection.refusal.startswith("returns a Point(")
