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
    assert uses[0] == AttributeUses(("x", "v", "z"), ("x", "v"), ("bounce",), complete=True)
    assert uses[1] == AttributeUses(("y",), ("w",), (), complete=True)
    assert uses[2] == AttributeUses((), (), (), complete=False), "k is used as a value"


def test_only_a_parameter_used_through_attributes_alone_narrows_its_fields():
    def passes_itself_on(p, f):
        f(p)
        return p.x

    (uses, _) = attribute_uses(passes_itself_on.__code__)
    assert uses.loads == ("x",) and not uses.complete and uses.fields() is None
    # The methods called too: the conversion looks them up on the object's class.
    assert attribute_uses(Body.move.__code__)[0].fields() == frozenset({"x", "v", "z", "bounce"})


def test_a_rebound_parameter_is_not_read():
    assert attribute_uses(rebinding.__code__) == (None,)


def test_a_code_object_holding_an_unhashable_constant_is_read_too():
    # Bound forms keep a **kwargs dict among their constants: such code cannot be hashed.
    code = Body.bounce.__code__
    odd = code.replace(co_consts=(*code.co_consts, {"scale": 1.0}))
    assert attribute_uses(odd) == attribute_uses(code)


def test_a_loops_source_uses_are_complete_where_the_name_appears_before_attributes_only():
    from autoaccel.analysis.attributes import source_attribute_uses

    uses = source_attribute_uses("for i in r:\n    p.x += q.y\n    f(q)\n    p.m()\n")
    assert uses["p"] == AttributeUses(("x",), ("x",), ("m",), complete=True)
    assert uses["q"].loads == ("y",) and not uses["q"].complete


class Math:
    pi = 3.0

    @staticmethod
    def sq(x):
        return x * x


def namespaced(x):
    return Math.sq(x) + Math.pi


def constructs(x):
    return Math.sq(x) + len([Math()])


def test_a_global_read_only_through_its_attributes_is_used_as_a_namespace():
    from autoaccel.analysis.attributes import global_attribute_uses

    uses = global_attribute_uses(namespaced.__code__)["Math"]
    assert set(uses.loads + uses.methods) == {"sq", "pi"} and uses.complete
    assert not global_attribute_uses(constructs.__code__)["Math"].complete, "Math() is a call"
