"""autoaccel.boundary.numba_types (and the conversion around it): lists at the call boundary,
converted for compiled code, what compiled code may do with them, written back exactly.

Every test plays the same calls on a plain and an accelerated copy of a module
(``boundary_helpers.same_play``): benign calls first, which promote a variant (promotion is
forced, ``min_gain = 0``), then the case that must be handed back or written back exactly.
Results, exceptions and the arguments afterwards must be identical: values, element classes,
lengths and which objects are the same.
"""

from __future__ import annotations

from boundary_helpers import failures, promoted, same_play

from autoaccel.runtime.registry import lookup

SETTINGS = {"min_calls": 1, "min_gain": 0.0, "validation_calls": 2}


def served(function) -> int:
    """Calls the promoted variants of ``function`` answered."""
    return sum(variant.uses for variant in lookup(function)._exact.values())


def warm(name: str, *args, times: int = 3) -> list:
    return [(name, args)] * times


SCALE = """
def scale(xs, k):
    for i in range(len(xs)):
        xs[i] *= k
    return len(xs)
"""


def test_float_list_written_in_place(accelerated):
    steps = [*warm("scale", [1.0, 2.5, -0.0], 2.0), ("scale", ([float("nan"), 1e308], 10.0))]
    fast = same_play(accelerated, SCALE, steps, **SETTINGS)
    assert promoted(fast.scale) == ["(list(float64), float64)"]
    assert served(fast.scale) >= 1


def test_an_int_list_is_never_sent_to_the_float_lists_variant(accelerated):
    # The float-list variant is promoted first; an int list multiplied by a float holds
    # floats afterwards in CPython, which its own signature cannot store: handed back.
    steps = [*warm("scale", [1.0, 2.0], 3.0), ("scale", ([1, 2, 3], 0.5)), ("scale", ([1, 2], 3))]
    fast = same_play(accelerated, SCALE, steps, **SETTINGS)
    assert "(list(float64), float64)" in promoted(fast.scale)
    assert any("stores float64 into list(int64)" in reason for reason in failures(fast.scale))


BUMP = """
def bump(xs):
    for i in range(len(xs)):
        xs[i] += 1
    return xs[0]
"""


def test_an_int_list_gets_ints_back_and_overflow_is_handed_back(accelerated):
    big = 2**63 - 2
    steps = [*warm("bump", [1, 2, 3]), ("bump", ([5, big],)), ("bump", ([big + 1, 0],))]
    fast = same_play(accelerated, BUMP, steps, **SETTINGS)
    assert promoted(fast.bump) == ["(list(int64))"]
    assert served(fast.bump) >= 1


def test_a_list_beyond_int64_arriving_after_promotion_runs_the_original(accelerated):
    steps = [*warm("bump", [1, 2]), ("bump", ([2**70, 1],)), ("bump", ([1, -(2**64)],))]
    same_play(accelerated, BUMP, steps, **SETTINGS)


def test_bools_stay_bools(accelerated):
    source = """
    def flip(flags):
        for i in range(len(flags)):
            flags[i] = not flags[i]
        return flags[0]
    """
    steps = [*warm("flip", [True, False]), ("flip", ([False, False, True],))]
    fast = same_play(accelerated, source, steps, **SETTINGS)
    assert promoted(fast.flip) == ["(list(bool))"]


def test_a_list_of_mixed_classes_after_promotion_runs_the_original(accelerated):
    source = """
    def total(xs):
        s = 0.0
        for x in xs:
            s += x
        return s
    """
    steps = [
        *warm("total", [1.0, 2.0]),
        ("total", ([1.0, 2, 3.0],)),  # first element a float: the float variant's kind
        ("total", ([1.0, True],)),
        ("total", ([1.0, 2.0**60],)),
    ]
    fast = same_play(accelerated, source, steps, **SETTINGS)
    assert served(fast.total) >= 2


def test_an_int_stored_into_a_float_list_is_refused(accelerated):
    source = """
    def reset(xs):
        xs[0] = 0
        return xs
    """
    steps = [*warm("reset", [1.5, 2.5]), ("reset", ([3.5],))]
    fast = same_play(accelerated, source, steps, **SETTINGS)
    assert not promoted(fast.reset)


def test_one_list_passed_twice_is_one_object_before_and_after(accelerated):
    source = """
    def alias(a, b):
        a[0] = 5.0
        b[1] = a[0] + 1.0
        return b[0]
    """
    shared = [0.0, 0.0]
    steps = [*warm("alias", [1.0, 2.0], [3.0, 4.0]), ("alias", (shared, shared))]
    fast = same_play(accelerated, source, steps, **SETTINGS)
    assert served(fast.alias) >= 1


def test_a_list_reached_from_two_tuples_is_one_object(accelerated):
    source = """
    def move(pair_a, pair_b):
        pair_a[0][0] += pair_a[1]
        return pair_b[0][0]
    """
    position = [0.0, 1.0]
    steps = [
        *warm("move", ([1.0], 2.0), ([3.0], 4.0)),
        ("move", ((position, 0.5), (position, 9.0))),
    ]
    fast = same_play(accelerated, source, steps, **SETTINGS)
    assert served(fast.move) >= 1


LISTS_OF_LISTS = """
def diagonal(m):
    s = 0.0
    for i in range(len(m)):
        s += m[i][i]
        m[i][i] = 0.0
    return s


def rows(m):
    n = 0
    for row in m:
        for x in row:
            n += x
    return n
"""


PICK = """
import math

def pick(xs, i):
    return xs[i]

def sign(xs, i):
    return math.copysign(1.0, xs[i]) * (abs(xs[i]) + 1.0)
"""


def test_every_number_a_list_holds_is_read_exactly(accelerated):
    # Ints up to 2**30 in magnitude are read in place (one digit), larger ones through
    # PyLong_AsLongLong; floats in place: around each boundary, in lists and in rows.
    ints = [0, 1, -1, 2**30 - 1, 2**30, -(2**30) + 1, -(2**30), 2**31, 2**62, -(2**63), 2**63 - 1]
    floats = [0.0, -0.0, 1e-310, -1.5, float("inf"), float("-inf"), 1e308]
    steps = [*warm("pick", ints, 0), *[("pick", (ints, i)) for i in range(len(ints))]]
    steps += [("pick", ([row, row[::-1]], 1)) for row in (ints, [5, 6])]
    steps += [*warm("sign", floats, 0), *[("sign", (floats, i)) for i in range(len(floats))]]
    steps += [("pick", ([2**63, 1], 0)), ("pick", ([1, -(2**63) - 1], 1))]  # beyond int64
    fast = same_play(accelerated, PICK, steps, **SETTINGS)
    assert "(list(int64), int64)" in promoted(fast.pick)
    assert promoted(fast.sign) == ["(list(float64), int64)"]
    assert served(fast.pick) >= len(ints) and served(fast.sign) >= len(floats)


def test_a_list_of_lists_is_written_back_row_by_row(accelerated):
    steps = [
        *warm("diagonal", [[1.0, 2.0], [3.0, 4.0]]),
        ("diagonal", ([[5.0, 6.0, 7.0], [8.0, 9.0, 1.0], [2.0, 3.0, 4.0]],)),
        *warm("rows", [[1, 2], [3, 4]]),
        ("rows", ([[1, 2, 3]],)),
    ]
    fast = same_play(accelerated, LISTS_OF_LISTS, steps, **SETTINGS)
    assert promoted(fast.diagonal) == ["(list(list(float64)))"]
    assert promoted(fast.rows) == ["(list(list(int64)))"]
    assert served(fast.diagonal) >= 1 and served(fast.rows) >= 1


def test_ragged_or_aliased_rows_after_promotion_run_the_original(accelerated):
    row = [1.0, 1.0, 1.0]
    steps = [
        *warm("diagonal", [[1.0, 2.0], [3.0, 4.0]]),
        ("diagonal", ([[1.0, 2.0], [3.0]],)),  # ragged: IndexError in CPython too
        ("diagonal", ([row, row, row],)),  # one row three times: every write seen thrice
        ("diagonal", ([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]],)),
    ]
    same_play(accelerated, LISTS_OF_LISTS, steps, **SETTINGS)


def test_a_row_also_passed_on_its_own_is_one_object(accelerated):
    source = """
    def touch(m, row):
        row[0] = -1.0
        return m[0][0]
    """
    row = [1.0, 2.0]
    steps = [*warm("touch", [[1.0, 2.0]], [3.0, 4.0]), ("touch", ([row, [5.0, 6.0]], row))]
    fast = same_play(accelerated, source, steps, **SETTINGS)
    assert served(fast.touch) >= 1


NBODY = """
def advance(dt, n, bodies, pairs):
    for i in range(n):
        for (([x1, y1, z1], v1, m1), ([x2, y2, z2], v2, m2)) in pairs:
            dx = x1 - x2
            dy = y1 - y2
            dz = z1 - z2
            mag = dt * ((dx * dx + dy * dy + dz * dz) ** (-1.5))
            v1[0] -= dx * m2 * mag
            v1[1] -= dy * m2 * mag
            v1[2] -= dz * m2 * mag
            v2[0] += dx * m1 * mag
            v2[1] += dy * m1 * mag
            v2[2] += dz * m1 * mag
        for (r, [vx, vy, vz], m) in bodies:
            r[0] += dt * vx
            r[1] += dt * vy
            r[2] += dt * vz


def system():
    bodies = [([0.0, 0.0, 0.0], [0.0, 0.0, 0.0], 39.47), ([4.8, -1.1, -0.1], [0.6, 2.8, -0.02], 0.037),
              ([8.3, 4.1, -0.4], [-1.0, 1.8, 0.008], 0.011)]
    pairs = [(bodies[a], bodies[b]) for a in range(3) for b in range(a + 1, 3)]
    return bodies, pairs
"""


def test_nbody_lists_inside_tuples_inside_lists(accelerated):
    # The pyperformance n-body layout: each body's lists are reached from `bodies` and from
    # two pairs; the writes through the pairs must be seen through the bodies.
    namespace: dict = {}
    exec(NBODY, namespace)
    bodies, pairs = namespace["system"]()
    collision = [([0.0, 0.0, 0.0], [0.0, 0.0, 0.0], 1.0), ([0.0, 0.0, 0.0], [1.0, 0.0, 0.0], 1.0)]
    steps = [
        *warm("advance", 0.01, 5, bodies, pairs),
        ("advance", (0.01, 50, bodies, pairs)),
        # Two bodies at one place: 0.0 ** -1.5 raises in CPython: handed back, lists untouched.
        ("advance", (0.01, 3, collision, [(collision[0], collision[1])])),
    ]
    fast = same_play(accelerated, NBODY, steps, **SETTINGS)
    assert served(fast.advance) >= 1


def test_an_exception_midway_leaves_the_list_as_before_the_call(accelerated):
    source = """
    def fill(xs, k):
        for i in range(len(xs)):
            xs[i] = 1.0 / k
            k -= 1.0
        return xs[0]
    """
    # k reaches 0.0 midway: CPython raises ZeroDivisionError after writing two elements;
    # the variant's call is handed back and the original writes those two itself.
    steps = [*warm("fill", [0.0, 0.0], 4.0), ("fill", ([9.0, 9.0, 9.0, 9.0], 2.0))]
    fast = same_play(accelerated, source, steps, **SETTINGS)
    assert promoted(fast.fill)


def test_list_operations_whose_answers_differ_for_arrays_are_refused(accelerated):
    source = """
    def concat(a, b):
        return len(a + b)

    def tail(a):
        t = a[1:]
        t[0] = 0.0
        return a[1]

    def same_object(a, b):
        return a is b
    """
    x = [1.0, 2.0]
    steps = [
        *warm("concat", [1.0], [2.0, 3.0]),
        *warm("tail", [1.0, 2.0]),
        *warm("same_object", [1.0], [1.0]),
        ("same_object", (x, x)),
    ]
    fast = same_play(accelerated, source, steps, **SETTINGS)
    for function in (fast.concat, fast.tail, fast.same_object):
        assert not promoted(function) and failures(function)
    assert "indexes a list with slice" in failures(fast.tail)[0]


def test_returning_a_list_it_was_given_is_refused(accelerated):
    source = """
    def same(xs):
        xs[0] = 1.0
        return xs
    """
    fast = same_play(accelerated, source, warm("same", [0.0, 2.0]), **SETTINGS)
    assert not promoted(fast.same)


def test_an_empty_list(accelerated):
    source = """
    def total(xs):
        s = 0
        for x in xs:
            s += x
        return s
    """
    steps = [*warm("total", [1.5, 2.5]), ("total", ([],)), *warm("total", [])]
    same_play(accelerated, source, steps, **SETTINGS)


def test_numpy_values_stored_into_a_list_are_refused(accelerated):
    source = """
    import numpy as np

    def copy_in(xs, a):
        for i in range(len(xs)):
            xs[i] = a[i]
        return len(xs)
    """
    import numpy as np

    steps = warm("copy_in", [0.0, 0.0], np.array([1.5, 2.5]))
    fast = same_play(accelerated, source, steps, **SETTINGS)
    assert not promoted(fast.copy_in)
    assert any("NumPy scalars" in reason for reason in failures(fast.copy_in))


def test_a_huge_list_for_a_few_multiplications_is_not_promoted(accelerated):
    source = """
    def head(xs):
        x = xs[0]
        return x * 1.5 * 1.5 * 1.5 * 1.5 * 1.5 * 1.5 * 1.5 * 1.5 * 1.5 * 1.5
    """
    values = [float(i) for i in range(1, 10**6 + 1)]
    fast = accelerated(source, min_calls=1, min_gain=1.2, validation_calls=3, min_seconds=0.0)
    for _ in range(10):  # 3 timed calls (admission), the compile, 3 validation calls
        assert fast.head(values) == 1.5 * 1.5 * 1.5 * 1.5 * 1.5 * 1.5 * 1.5 * 1.5 * 1.5 * 1.5
    assert not promoted(fast.head)
    # Rejected by its trial (the conversion of a million elements a call), or before any
    # compile when its calls are measured too short to pay the dispatch (about 0.5 us each,
    # close to the floor: which one depends on the machine).
    reasons = failures(fast.head)
    assert any("below min_gain" in r or "too short for any compiled" in r for r in reasons), reasons


def test_a_tuple_of_other_contents_never_reaches_the_promoted_tuples_variant(accelerated):
    # A pattern of tuples carrying a list is dispatched by the variant itself: (int, list)
    # promoted, then (float, list) and (int, int) tuples must get answers of their own.
    source = """
    def weighted(pair):
        i, u = pair
        s = 0
        for j in range(len(u)):
            s += (i + j) // 2 * u[j] if j % 2 else i / 3 * u[j]
        return s
    """
    steps = [
        *warm("weighted", (3, [1.0, 2.0, 3.0])),
        ("weighted", (3.5, [1.0, 2.0, 3.0])),
        ("weighted", (7, [4, 5, 6])),
        *warm("weighted", (3.5, [1.0])),
        ("weighted", (4, [2.0, 1.0])),
    ]
    fast = same_play(accelerated, source, steps, **SETTINGS)
    assert {"(Tuple(int64, list(float64)))", "(Tuple(float64, list(float64)))"} <= set(
        promoted(fast.weighted)
    )
    assert served(fast.weighted) >= 3


def test_plain_tuples_and_tuples_carrying_lists_get_variants_of_their_own(accelerated):
    source = """
    def head(pair):
        return pair[0] * 2.0 + pair[1][0]
    """
    steps = [*warm("head", (1.5, [2.0])), *warm("head", (1.5, (2.0, 3.0))), ("head", (2.5, [1.0]))]
    fast = same_play(accelerated, source, steps, **SETTINGS)
    assert set(promoted(fast.head)) == {
        "(Tuple(float64, list(float64)))",
        "(Tuple(float64, UniTuple(float64 x 2)))",
    }
    assert served(fast.head) >= 2
