"""autoaccel.boundary.objects: objects of plain classes at the call boundary, as records.

A method (or function) taking an object reads its attributes as fields of a record; after a
call that answered, the attributes it changed are set on the same object with the classes
CPython would give them; a call handed back changes nothing, and the original runs. As in
the other ``test_boundary_*`` files, the dangerous case comes after promotion.
"""

from __future__ import annotations

import gc
import sys
import textwrap
import types

import numpy as np
import pytest
from boundary_helpers import describe, failures, promoted
from test_boundary_numba_types import SETTINGS, served

from autoaccel.analysis.attributes import AttributeUses
from autoaccel.boundary import objects
from autoaccel.boundary.convert import convert, refusal, write_back
from autoaccel.boundary.kinds import NativeObject

PARTICLE = """
class Particle:
    def __init__(self, x, v, n):
        self.x = x
        self.v = v
        self.n = n
        self.name = "p"

    def step(self, dt):
        for _ in range(self.n):
            self.x = self.x + self.v * dt
        self.n = self.n + 1
        return self.x

def run(p, dt):
    return p.step(dt)
"""


def both(accelerated, source, script, **settings):
    """Run ``script(module)`` on a plain and an accelerated copy of ``source``; assert that
    what it returns (results, exceptions, the objects afterwards) is the same; the
    accelerated module."""
    plain = types.ModuleType("plain")
    exec(compile(textwrap.dedent(source), "<plain>", "exec"), plain.__dict__)
    fast = accelerated(source, **{**SETTINGS, **settings})
    expected, got = describe(script(plain)), describe(script(fast))
    assert got == expected
    return fast


def attempt(function, *args):
    """``function(*args)``, or the exception it raised as ``(class name, message)``."""
    try:
        return function(*args)
    except Exception as exc:
        return (type(exc).__name__, str(exc))


class Particle:
    def __init__(self, x, v, n):
        self.x, self.v, self.n, self.name = x, v, n, "p"


def test_an_object_converts_to_a_record_of_its_fields():
    p = Particle(1.5, -2.0, 3)
    (native, dt) = convert((p, 0.5))
    assert isinstance(native, NativeObject) and native.source is p and dt == 0.5
    layout = native.kind.item
    assert layout.scalars == (("x", float), ("v", float), ("n", int))
    assert layout.others == (("name", "str"),)
    assert str(type(native)._numba_type_) == "Particle(x: float64, v: float64, n: int64)"


def test_write_back_sets_only_what_changed_with_the_fields_classes():
    p = Particle(1.5, -2.0, 3)
    (native,) = convert((p,))
    buffer = native.storage[0]
    buffer[:8] = np.frombuffer(np.float64(-0.0).tobytes(), np.uint8)
    before_v = p.v
    write_back((native,), (0,))
    assert type(p.x) is float and str(p.x) == "-0.0"
    assert p.v is before_v, "an unchanged field is not set again"
    assert type(p.n) is int and p.n == 3


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda: type("G", (), {"__getattr__": lambda s, n: 1})(), "defines __getattr__"),
        (lambda: type("S", (), {"__setattr__": object.__setattr__.__call__})(), "__setattr__"),
        (lambda: type("L", (list,), {})(), "derives from the builtin list"),
    ],
)
def test_classes_that_customize_attribute_access_are_refused(make, reason):
    assert reason in (refusal((make(),)) or "")


def test_an_attribute_shadowed_by_a_property_is_refused():
    p = Particle(1.0, 1.0, 1)
    assert refusal((p,)) is None
    Shadowed = type("Shadowed", (Particle,), {"x": property(lambda self: 2.0)})
    q = Shadowed.__new__(Shadowed)
    q.__dict__.update(vars(p))
    assert "attribute x is a property" in (refusal((q,)) or "")


def test_slots_are_fields():
    Slotted = type("Slotted", (), {"__slots__": ("a", "b")})
    s = Slotted()
    s.a = 1.0  # b unset: no field
    (native,) = convert((s,))
    assert native.kind.item.scalars == (("a", float),)
    assert objects.attributes(s) == (("a",), (1.0,))


def test_a_method_updating_its_object_is_promoted_and_answers_as_cpython(accelerated):
    def script(module):
        p = module.Particle(0.0, 1.0, 3)
        return [module.run(p, 0.5) for _ in range(5)], p

    fast = both(accelerated, PARTICLE, script)
    # run, calling p.step(dt), compiles with step: step runs inside it. Its calls from run's
    # trial calls (Python) start no trial of their own (runtime/promoter.py, _IN_TRIAL), and
    # it is never called otherwise, so it is never promoted alone.
    assert promoted(fast.run) == ["(Particle(n: int64, v: float64, x: float64, step()), float64)"]
    assert promoted(fast.Particle.step) == []
    assert served(fast.Particle.step) + served(fast.run) >= 1


COUNTER = """
class Counter:
    def __init__(self):
        self.n = 1
        self.x = 0.5

    def bump(self, k):
        self.n = self.n + k
        return self.n
"""


def test_an_int_field_never_receives_a_float(accelerated):
    def script(module):
        c = module.Counter()
        return [c.bump(1) for _ in range(4)], c.bump(0.5), c

    fast = both(accelerated, COUNTER, script)
    assert promoted(fast.Counter.bump) == ["(Counter(n: int64), int64)"], "only what bump uses"
    assert any(
        "stores float64 into Counter.n, which holds int64" in r for r in failures(fast.Counter.bump)
    )


def test_an_attribute_that_changes_class_after_promotion(accelerated):
    def script(module):
        c = module.Counter()
        results = [c.bump(1) for _ in range(4)]
        c.n = 2.5  # the record's kind changes: not the promoted variant's
        return results, c.bump(1), c.bump(1), c

    fast = both(accelerated, COUNTER, script)
    assert served(fast.Counter.bump) >= 1


def test_a_class_patched_with_a_property_after_promotion(accelerated):
    def script(module):
        c = module.Counter()
        results = [c.bump(1) for _ in range(4)]
        module.Counter.n = property(lambda self: 10)  # reads 10; assigning raises
        return results, attempt(c.bump, 1), c

    fast = both(accelerated, COUNTER, script)
    assert served(fast.Counter.bump) >= 1


ACCUMULATOR = """
class Accumulator:
    def __init__(self):
        self.total = 0.0
        self.xs = [1.0, 2.0, 3.0]

    def add(self, i):
        self.total = self.total + 1.0
        self.xs[0] = self.total
        return self.xs[i]
"""


def test_an_exception_midway_leaves_the_object_as_cpython_does(accelerated):
    # CPython raises IndexError after changing total and xs[0]; the variant's changes are
    # not written back, and the original makes (and raises after) its own.
    def script(module):
        a = module.Accumulator()
        results = [a.add(1) for _ in range(4)]
        return results, attempt(a.add, 5), a

    fast = both(accelerated, ACCUMULATOR, script)
    assert served(fast.Accumulator.add) >= 1


def test_one_object_passed_twice_is_one_record(accelerated):
    source = """
    class P:
        def __init__(self):
            self.x = 1.0

    def pair(a, b):
        a.x = a.x + 1.0
        return b.x
    """

    def script(module):
        p, q = module.P(), module.P()
        return [module.pair(p, p) for _ in range(3)], [module.pair(p, q) for _ in range(3)], p, q

    fast = both(accelerated, source, script)
    assert served(fast.pair) >= 1


GRID = """
import numpy as np

class Grid:
    def __init__(self):
        self.a = np.zeros(4)
        self.row = [0.0] * 4
        self.k = 2

    def fill(self):
        for i in range(4):
            self.a[i] = i * self.k
        return self.k

    def spread(self, step):
        for i in range(4):
            self.row[i] = i + step * self.k
        self.k = self.k + 1
        return self.k

    def total(self):
        for i in range(4):
            self.k = self.k + self.a[i]
        return self.k
"""


def test_array_and_list_fields_are_written_in_place(accelerated):
    def script(module):
        g = module.Grid()
        return [g.fill() for _ in range(4)], [g.spread(0.5) for _ in range(4)], g

    fast = both(accelerated, GRID, script)
    assert served(fast.Grid.fill) >= 1
    assert served(fast.Grid.spread) >= 1


def test_a_numpy_scalar_stored_into_an_attribute_is_refused(accelerated):
    def script(module):
        g = module.Grid()
        g.fill()
        g.k = 0.0
        return [g.total() for _ in range(3)], g

    fast = both(accelerated, GRID, script)
    assert not promoted(fast.Grid.total)
    assert any("attribute values that may be NumPy scalars" in r for r in failures(fast.Grid.total))


def test_an_object_with_slots(accelerated):
    source = """
    class Point:
        __slots__ = ("x", "y")

        def __init__(self, x, y):
            self.x = x
            self.y = y

        def scale(self, k):
            self.x = self.x * k
            self.y = self.y * k
            return self.x + self.y
    """

    def script(module):
        p = module.Point(1.0, 2.0)
        return [p.scale(1.5) for _ in range(4)], p

    fast = both(accelerated, source, script)
    assert promoted(fast.Point.scale) == ["(Point(x: float64, y: float64), float64)"]


def test_a_method_using_an_attribute_that_is_no_field_says_so(accelerated):
    def script(module):
        p = module.Particle(0.0, 1.0, 3)
        return [p.describe() for _ in range(3)]

    source = PARTICLE.replace(
        "    def step", "    def describe(self):\n        return len(self.name)\n\n    def step"
    )
    fast = both(accelerated, source, script)
    reason = "uses attribute name of a Particle object, which holds str (not converted)"
    assert any(reason in r for r in failures(fast.Particle.describe))


def test_uses_refusal_names_what_the_code_cannot_use():
    p = Particle(1.0, 2.0, 3)
    (native,) = convert((p,))
    uses = AttributeUses(("x", "name"), (), ())
    assert objects.uses_refusal(native, uses) == (
        "uses attribute name of a Particle object, which holds str (not converted)"
    )
    assert "is not an attribute" in objects.uses_refusal(native, AttributeUses(("q",), (), ()))
    assert objects.uses_refusal(native, AttributeUses(("x",), ("x", "n"), ())) is None


def test_a_list_field_whose_elements_changed_class_hands_back_as_a_deoptimization():
    # The unboxer raises Deoptimize for the mixed list; the fields after it are not touched,
    # so the pending error stays the Deoptimize (not a bogus AttributeError).
    import numba

    from autoaccel.errors import Deoptimize

    class Table:
        pass

    t = Table()
    t.costs = [[1, 2], [3, 4.5]]  # an int first, a float later
    t.flags = [True, False]
    t.rows = [[0, 0]]

    @numba.njit
    def first(table):
        return table.flags[0]

    with pytest.raises(Deoptimize):
        first(*convert((t,)))


def test_an_object_converts_with_only_the_fields_its_code_uses(accelerated):
    # The big list is never read by norm: not converted (nor unboxed, nor written back).
    source = """
    class Holder:
        def __init__(self):
            self.x = 3.0
            self.y = 4.0
            self.history = [0.5] * 100000

        def norm(self):
            return (self.x * self.x + self.y * self.y) ** 0.5
    """

    def script(module):
        h = module.Holder()
        return [h.norm() for _ in range(4)], h.x, h.history[:3]

    fast = both(accelerated, source, script)
    assert promoted(fast.Holder.norm) == ["(Holder(x: float64, y: float64))"]


SHARED = """
class Generator:
    m1 = 2147483647
    scale = 0.5
    table = [1.0, 2.0, 3.0]

    def __init__(self, seed):
        self.seed = seed

    def next(self, k):
        for _ in range(k):
            self.seed = (self.seed * 16807) % self.m1
        self.table[0] = self.table[0] + self.scale
        return self.seed * self.scale

    def next_number(self, k):
        for _ in range(k):
            self.seed = (self.seed * 16807) % self.m1
        return self.seed * self.scale

    def rescale(self, k):
        self.scale = self.scale * k  # sets the instance's own attribute, as CPython does
        return self.scale
"""


def test_class_data_read_through_the_object_converts_as_its_fields(accelerated):
    def script(module):
        g = module.Generator(7)
        first = [g.next(50) for _ in range(4)]
        module.Generator.m1 = 1000003  # a class attribute changed after promotion
        second = [g.next(50) for _ in range(3)] + [g.next_number(50) for _ in range(4)]
        scaled = [g.rescale(2) for _ in range(3)]
        return first, second, scaled, g.__dict__, module.Generator.scale, module.Generator.table

    fast = both(accelerated, SHARED, script)
    assert promoted(fast.Generator.rescale) == ["(Generator(scale: float64), int64)"]
    assert promoted(fast.Generator.next_number) == [
        "(Generator(m1: int64, scale: float64, seed: int64), int64)"
    ]
    # A list the class holds is shared by its instances: not converted (a trial's copy
    # of the object would write the class's own list).
    reason = "uses Generator.table, which is not an attribute of the object or data of its"
    assert any(reason in r for r in failures(fast.Generator.next))


def _inline(value) -> bool:
    """Whether the object's attributes are still held inline (no ``__dict__`` made)."""
    return not any(type(item) is dict for item in gc.get_referents(value))


INLINE = sys.version_info < (3, 11)  # before 3.11 every object holds a dict anyway
needs_inline = pytest.mark.skipif(INLINE, reason="attributes held inline from CPython 3.11")

SHORT_METHOD = """
class Point:
    def __init__(self, x, y):
        self.x = x
        self.y = y

    def norm2(self):
        return self.x * self.x + self.y * self.y
"""


@needs_inline
def test_converting_the_attributes_code_names_leaves_them_inline():
    # Reading __dict__ on 3.11-3.12 moves an object's attributes into a dict for good, and
    # every later attribute access in plain Python costs about twice as much.
    p = Particle(1.5, -2.0, 3)
    assert _inline(p)
    (native,) = convert((p,), (frozenset({"x", "n"}),))
    assert [name for name, _ in native.kind.item.scalars] == ["n", "x"]
    assert _inline(p)


@needs_inline
def test_an_object_screened_and_timed_for_a_method_too_short_to_compile_stays_inline(
    accelerated,
):
    fast = accelerated(SHORT_METHOD, min_calls=5, min_gain=1.2)
    p = fast.Point(3.0, 4.0)
    assert [p.norm2() for _ in range(200)] == [25.0] * 200
    assert any("too short" in reason for reason in failures(fast.Point.norm2))
    assert _inline(p)


@needs_inline
def test_an_object_a_promoted_method_and_loop_run_on_stays_inline(accelerated):
    # Screened, keyed, trialled on copies, compared and converted, all by name: the
    # object's own attributes stay inline, so plain Python code using it is not slowed.
    fast = accelerated(PARTICLE, min_calls=2, loop_min_seconds=0.0)
    p = fast.Particle(0.0, 1.0, 400)
    results = [fast.run(p, 0.5) for _ in range(8)]
    assert promoted(fast.Particle.step) or promoted(fast.run)
    plain = types.ModuleType("plain")
    exec(compile(textwrap.dedent(PARTICLE), "<plain>", "exec"), plain.__dict__)
    q = plain.Particle(0.0, 1.0, 400)
    assert results == [plain.run(q, 0.5) for _ in range(8)]
    assert _inline(p)
    assert [p.x, p.v, p.n, p.name] == [q.x, q.v, q.n, q.name]
