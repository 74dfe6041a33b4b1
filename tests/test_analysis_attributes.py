"""autoaccel.analysis.attributes: what a function does with its parameters' attributes."""

from __future__ import annotations

from autoaccel.analysis.attributes import AttributeUses, attribute_uses


class Body:
    def move(self, other, k):
        self.x = self.x + k
        self.v += k  # augmented: read and set
        seen = self.z
        self.bounce(seen)
        other.w = 3
        return other.y

    def bounce(self, z):
        return z


def rebinding(p):
    p = p.parent
    return p.x


def test_loads_stores_and_method_calls_per_parameter():
    uses = attribute_uses(Body.move.__code__)
    assert uses[0] == AttributeUses(("x", "v", "z"), ("x", "v"), ("bounce",))
    assert uses[1] == AttributeUses(("y",), ("w",), ())
    assert uses[2] == AttributeUses((), (), ())


def test_a_rebound_parameter_is_not_read():
    assert attribute_uses(rebinding.__code__) == (None,)


def test_a_code_object_holding_an_unhashable_constant_is_read_too():
    # Bound forms keep a **kwargs dict among their constants: such code cannot be hashed.
    code = Body.bounce.__code__
    odd = code.replace(co_consts=(*code.co_consts, {"scale": 1.0}))
    assert attribute_uses(odd) == attribute_uses(code)
