"""The reasons given when code uses an attribute a converted object cannot offer.

Why a module of its own: the same reason is given before compiling, from bytecode
(:func:`autoaccel.boundary.objects.uses_refusal`, Numba-free), and by Numba's typing of
the record (:mod:`autoaccel.boundary.instance_type`), and neither may import the other.
"""

from __future__ import annotations


def attribute_refusal(short: str, attr: str, held: str | None) -> str:
    """Why code using ``attr`` of a ``short`` object (its class's name) cannot compile:
    the object holds ``held`` there (a class name) that is no field, or, with ``held``
    ``None``, neither the object nor its class hold data of that name."""
    if held is not None:
        return f"uses attribute {attr} of a {short} object, which holds {held} (not converted)"
    return (
        f"uses {short}.{attr}, which is not an attribute of the object or data of its class "
        "(a property or other descriptor is not compiled)"
    )
