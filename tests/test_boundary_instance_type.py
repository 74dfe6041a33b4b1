"""autoaccel.boundary.instance_type: the record type compiled code sees for a converted object.

Fields read and written in compiled code land in the record (scalars in its private buffer,
so the object changes only at write-back); what is no field is refused by typing with the
reason recorded for the report.
"""

from __future__ import annotations

import numba
import numpy as np
import pytest

from autoaccel.backends.checked_ops import refusals
from autoaccel.boundary.convert import convert, write_back


class Body:
    def __init__(self) -> None:
        self.x = 1.5
        self.n = 3
        self.alive = True
        self.mass = np.array([2.0, 4.0])
        self.label = "b"


def test_the_type_names_its_class_and_fields():
    (native,) = convert((Body(),))
    t = type(native)._numba_type_
    assert str(t) == "Body(x: float64, n: int64, alive: bool, mass: array(float64, 1d, C))"
    assert [name for name, _, _ in t.scalars] == ["x", "n", "alive"]
    assert [offset for _, _, offset in t.scalars] == [0, 8, 16]


def test_compiled_code_reads_and_writes_fields_and_the_object_changes_at_write_back():
    @numba.njit
    def update(b):
        b.x = b.x * b.n
        b.n = b.n + 1
        b.alive = not b.alive
        b.mass[0] = b.mass[1]
        return b.x

    body = Body()
    natives = convert((body,))
    assert update(*natives) == 4.5
    assert body.x == 1.5 and body.n == 3, "scalars change only at write-back"
    assert body.mass[0] == 4.0, "an array field is the object's array"
    write_back(natives, (0,))
    assert (body.x, body.n, body.alive) == (4.5, 4, False)
    assert (type(body.x), type(body.n), type(body.alive)) == (float, int, bool)


def test_an_attribute_that_is_no_field_is_refused_with_its_reason():
    @numba.njit
    def name_length(b):
        return len(b.label)

    refusals.clear()
    with pytest.raises(numba.core.errors.TypingError):
        name_length(*convert((Body(),)))
    assert "uses attribute label of a Body object, which holds str (not converted)" in refusals


def test_rebinding_an_array_field_fails_to_compile():
    @numba.njit
    def rebind(b):
        b.mass = np.zeros(2)
        return 0

    refusals.clear()
    with pytest.raises(numba.core.errors.NumbaNotImplementedError):
        rebind(*convert((Body(),)))
    assert any(r.startswith("rebinds Body.mass") for r in refusals)


class Walker:
    def __init__(self) -> None:
        self.x = 0.5

    def __step(self) -> float:
        return self.x

    def run(self) -> float:
        return self.__step()


def test_a_type_with_methods_pickles_them_by_class_and_name():
    # Numba's cache index pickles signatures: by value, a trampolined function cannot be
    # pickled, and a private method's qualified name is not its attribute's.
    import pickle

    from numba.core import serialize

    (native,) = convert((Walker(),), (frozenset({"x", "_Walker__step"}),))
    t = type(native)._numba_type_
    assert t.methods == (("_Walker__step", Walker._Walker__step),)
    assert pickle.loads(serialize.dumps(t)) is t
    local = type("Local", (), {"m": lambda self: 1.0, "__qualname__": "f.<locals>.Local"})
    local.m.__qualname__ = "f.<locals>.Local.m"
    obj = local()
    obj.x = 1.0
    (native,) = convert((obj,), (frozenset({"x", "m"}),))
    with pytest.raises(TypeError, match=r"cannot pickle a method of f\.<locals>\.Local"):
        serialize.dumps(type(native)._numba_type_)
