"""autoaccel.runtime.methods: methods called on a converted object, compiled with the caller.

``self.kick(dt)`` in a hot ``advance`` compiles with ``advance``: the object converts with
the fields both use, the method's stores land in the record written back, and a method
replaced, shadowed or whose frozen global is rebound after promotion is the one that runs.
"""

from __future__ import annotations

import pytest
from boundary_helpers import failures, promoted
from test_boundary_numba_types import served
from test_boundary_objects import attempt, both

from autoaccel.analysis.attributes import AttributeUses
from autoaccel.runtime import methods
from autoaccel.runtime.registry import lookup


def test_resolve_folds_the_uses_of_the_methods_called_into_the_callers(accelerated):
    fast = accelerated(BODY)
    body = fast.Body(1.0, 0.0, 2.0)
    resolved = methods.resolve(lookup(fast.Body.advance).code, (body, 5, 0.01))
    assert resolved.reason is None
    assert resolved.uses[0] == AttributeUses(
        ("x", "v", "steps", "m"), ("x", "steps", "v"), ("kick", "accel"), True
    )
    assert [(m.name, m.function) for m in resolved.methods] == [
        ("kick", fast.Body.kick),
        ("accel", fast.Body.accel),
    ]
    assert resolved.uses[1] is not None and not resolved.uses[1].methods


def test_resolve_leaves_values_that_are_not_objects_alone(accelerated):
    fast = accelerated(BODY)
    resolved = methods.resolve(lookup(fast.Body.advance).code, ({"x": 1.0}, 5, 0.01))
    assert resolved.reason is None and resolved.methods == ()


BODY = """
import math

SCALE = 1.0

class Body:
    def __init__(self, x, v, m):
        self.x = x
        self.v = v
        self.m = m
        self.steps = 0
        self.label = "b"

    def accel(self):
        return -SCALE * self.m * self.x / (abs(self.x) ** 3 + 1.0)

    def kick(self, dt):
        self.v += self.accel() * dt

    def advance(self, n, dt):
        for _ in range(n):
            self.kick(dt)
            self.x += self.v * dt
            self.steps += 1
        return self.x
"""


def advance_body(module, between=None):
    """Advance a Body 6 times (``between(module, body)`` after the third); what is seen."""
    b = module.Body(1.0, 0.0, 2.0)
    results = []
    for i in range(6):
        results.append(attempt(b.advance, 5, 0.01))
        if i == 2 and between is not None:
            between(module, b)
    return results, b


def test_methods_called_on_the_object_compile_with_it_and_their_stores_are_written_back(
    accelerated,
):
    fast = both(accelerated, BODY, advance_body)
    assert promoted(fast.Body.advance) == [
        "(Body(m: float64, steps: int64, v: float64, x: float64, accel(), kick()), int64, float64)"
    ], "the fields accel and kick use are converted, and label is not"
    assert served(fast.Body.advance) >= 1


def served_so_far(module, seen: list) -> None:
    """Note how many calls the accelerated module's promoted advance answered so far."""
    if module.__name__ != "plain":
        seen.append(served(module.Body.advance))


def test_a_method_replaced_on_the_class_after_promotion_is_the_one_called(accelerated):
    seen: list = []

    def replace(module, body):
        served_so_far(module, seen)
        module.Body.accel = lambda self: 1.0  # a function outside the accelerated modules

    fast = both(accelerated, BODY, lambda module: advance_body(module, replace))
    assert seen[0] >= 1
    assert any(
        "accel(), a method outside the accelerated modules" in r
        for r in failures(fast.Body.advance)
    ), failures(fast.Body.advance)


def test_a_global_a_called_method_froze_rebound_after_promotion_is_seen(accelerated):
    seen: list = []

    def rebind(module, body):
        served_so_far(module, seen)
        module.SCALE = 3.0

    both(accelerated, BODY, lambda module: advance_body(module, rebind))
    assert seen[0] >= 1


def test_an_instance_attribute_shadowing_a_method_after_promotion_is_called(accelerated):
    def shadow(module, body):
        body.accel = lambda: 0.5

    fast = both(accelerated, BODY, lambda module: advance_body(module, shadow))
    assert served(fast.Body.advance) >= 1


def test_a_called_method_storing_another_class_into_a_field_refuses_the_caller(accelerated):
    source = BODY.replace("self.steps += 1", "self.bump()").replace(
        "    def advance",
        "    def bump(self):\n        self.steps = self.steps + 0.5\n\n    def advance",
    )
    fast = both(accelerated, source, advance_body)
    assert not promoted(fast.Body.advance)
    assert any(
        "calls Body.bump, which stores float64 into Body.steps, which holds int64" in r
        for r in failures(fast.Body.advance)
    ), failures(fast.Body.advance)


@pytest.mark.parametrize(
    ("method", "reason"),
    [
        (
            "    @staticmethod\n    def area():\n        return 4.0",
            "is not a function of its class",
        ),
        (
            "    def area(self):\n        return helper(self)",
            "which passes its self on, aliases or rebinds it",
        ),
        (
            "    def area(self):\n        return self.double_area() / 2",
            "which calls itself through its methods [30]",
        ),
    ],
    ids=["staticmethod", "self-passed-on", "cycle"],
)
def test_methods_that_cannot_compile_with_their_caller_are_refused_before_compiling(
    accelerated, method, reason
):
    source = "\n".join(
        [
            "def helper(shape):",
            "    return shape.w * shape.w",
            "",
            "class Shape:",
            "    def __init__(self):",
            "        self.w = 2.0",
            "",
            method,
            "",
            "    def double_area(self):",
            "        if self.w > 100.0:",
            "            return 0.0",
            "        return 2.0 * self.area()",
        ]
    )

    def script(module):
        s = module.Shape()
        return [attempt(s.double_area) for _ in range(3)]

    fast = both(accelerated, source, script)
    assert any(reason in r for r in failures(fast.Shape.double_area)), failures(
        fast.Shape.double_area
    )
    assert lookup(fast.Shape.double_area).compiled is None, "refused before anything was compiled"


def test_a_loop_calling_methods_of_its_object_compiles_with_them(accelerated):
    # A function called once whose loop calls the object's methods: the loop is the unit.
    from autoaccel.runtime.registry import loop_registry

    def script(module):
        b = module.Body(1.0, 0.0, 2.0)
        return b.advance(3000, 0.001), b

    loops = {"min_calls": 10**9, "min_gain": 0.0, "loop_min_seconds": 0.0}
    fast = both(accelerated, BODY, script, **loops)
    (loop,) = [t for t in loop_registry() if t.module == fast.__name__]
    assert [p.signature for p in loop.promotions] == [
        "(dt: float64, self: Body(m: float64, steps: int64, v: float64, x: float64, accel(), "
        "kick()))"
    ]
