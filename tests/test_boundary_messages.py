"""autoaccel.boundary.messages: one reason for an attribute a converted object cannot offer,
given alike before compiling and by Numba's typing."""

from __future__ import annotations

from autoaccel.boundary.messages import attribute_refusal


def test_an_attribute_holding_an_unconverted_value_names_its_class():
    assert attribute_refusal("Particle", "name", "str") == (
        "uses attribute name of a Particle object, which holds str (not converted)"
    )


def test_an_attribute_neither_the_object_nor_its_class_hold_says_so():
    assert attribute_refusal("Particle", "q", None).startswith(
        "uses Particle.q, which is not an attribute of the object or data of its class"
    )
