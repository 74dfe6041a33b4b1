"""autoaccel.backends.ranges: which accesses are proven in bounds, guarded before their loop,
or left checked, and which int operations cannot overflow; and that a proof never lets an
out-of-range access through (a differential run against CPython on random shapes)."""

from __future__ import annotations

import random

import numpy as np
import pytest
from conftest import compiled_variant

from autoaccel.backends.range_compiler import SUMMARY
from autoaccel.errors import Deoptimize
from autoaccel.runtime.registry import registry

A = np.arange(8.0)
IDX = np.arange(5)


def statuses(source: str, name: str, *args) -> dict[str, list[str]]:
    """Source line (stripped) -> the status of each access on it, in order."""
    lines = source.splitlines()
    summary = compiled_variant(source, name, args).metadata[SUMMARY]
    found: dict[str, list[str]] = {}
    for line, _, status in summary.accesses:
        found.setdefault(lines[line - 1].strip(), []).append(status)
    return found


def exact_lines(source: str, name: str, *args) -> set[str]:
    """Source lines with a checked int operation made plain (proven unable to overflow)."""
    lines = source.splitlines()
    summary = compiled_variant(source, name, args).metadata[SUMMARY]
    return {lines[line - 1].strip() for line, _ in summary.exact}


PROVEN = """
import numpy as np

def stencil(a):
    s = 0.0
    for i in range(1, len(a) - 1):
        s += a[i - 1] - 2.0 * a[i] + a[i + 1]
    return s

def wraps(a):
    s = 0.0
    for i in range(a.shape[0]):
        s += a[i - 1] * i
    return s

def backwards(a):
    s = 0.0
    for i in range(len(a) - 1, -1, -1):
        s = 0.5 * s + a[i]
    return s

def clipped(a, n):
    n = min(n, a.shape[0])
    s = 0.0
    for i in range(n):
        s += a[i]
    return s

def checked_first(a, n):
    if n > a.shape[0]:
        raise ValueError("n too large")
    s = 0.0
    for i in range(n):
        s += a[i]
    return s

def counting(a):
    s = 0.0
    k = 0
    while k < len(a):
        s += a[k]
        k += 1
    return s

def relu(x):
    out = np.empty_like(x)
    rows, cols = x.shape
    for i in range(rows):
        for j in range(cols):
            out[i, j] = x[i, j] if x[i, j] > 0.0 else 0.0
    return out
"""


@pytest.mark.parametrize(
    "name, args",
    [
        ("stencil", (A,)),
        ("wraps", (A,)),
        ("backwards", (A,)),
        ("clipped", (A, 5)),
        ("checked_first", (A, 5)),
        ("counting", (A,)),
        ("relu", (np.ones((3, 4)),)),
    ],
)
def test_indices_bounded_by_the_code_are_proven(name, args):
    found = statuses(PROVEN, name, *args)
    assert found and all(s == "proven" for line in found.values() for s in line), found


def test_i_minus_1_at_i_0_reads_the_last_element_as_python_does():
    overload = compiled_variant(PROVEN, "wraps", (A,))
    assert overload.entry_point(A) == sum(A[i - 1] * i for i in range(8))


NOT_PROVEN = """
def from_data(a, idx):
    s = 0.0
    for i in range(len(idx)):
        s += a[idx[i]]
    return s

def rebound(a, b):
    s = 0.0
    for i in range(len(a)):
        s += a[i]
        a = b
    return s

def one_past(a):
    s = 0.0
    for i in range(len(a)):
        s += a[i + 1]
    return s

def early_exit(a, n):
    s = 0.0
    for i in range(n):
        s += a[i]
        if s > 10.0:
            break
    return s

def conditional(a, flags, n):
    s = 0.0
    for i in range(n):
        if flags[i]:
            s += a[i]
    return s
"""


def test_an_index_from_the_data_keeps_its_check():
    assert statuses(NOT_PROVEN, "from_data", A, IDX)["s += a[idx[i]]"] == ["proven", "checked"]


def test_an_array_rebound_inside_the_loop_keeps_its_check():
    assert statuses(NOT_PROVEN, "rebound", A, A)["s += a[i]"] == ["checked"]


def test_an_index_one_past_the_range_keeps_its_check():
    assert statuses(NOT_PROVEN, "one_past", A)["s += a[i + 1]"] == ["checked"]


def test_a_loop_that_can_break_early_gets_no_guard():
    assert statuses(NOT_PROVEN, "early_exit", A, 5)["s += a[i]"] == ["checked"]


def test_an_access_not_made_on_every_iteration_gets_no_guard():
    found = statuses(NOT_PROVEN, "conditional", A, np.ones(8, dtype=np.bool_), 5)
    assert found["s += a[i]"] == ["checked"]


GUARDED = """
def bounded_by_argument(a, n):
    s = 0.0
    for i in range(n):
        s += a[i]
    return s

def two_arrays(a, b):
    s = 0.0
    for i in range(a.shape[0]):
        s += a[i] * b[i]
    return s

def square(spins):
    L = spins.shape[0]
    energy = 0
    for i in range(L):
        for j in range(L):
            s = spins[i, j]
            right = spins[i, j + 1 if j < L - 1 else 0]
            energy += s * right
    return energy

def invariant_row(x, i):
    s = 0.0
    for k in range(x.shape[1]):
        s += x[i, k]
    return s
"""


@pytest.mark.parametrize(
    "name, args, line",
    [
        ("bounded_by_argument", (A, 5), "s += a[i]"),
        ("two_arrays", (A, A), "s += a[i] * b[i]"),
        ("square", (np.ones((4, 4), dtype=np.int64),), "s = spins[i, j]"),
        ("invariant_row", (np.ones((3, 4)), 1), "s += x[i, k]"),
    ],
)
def test_an_index_bounded_by_a_value_known_before_the_loop_is_guarded(name, args, line):
    found = statuses(GUARDED, name, *args)
    assert "guarded" in found[line] and "checked" not in found[line], found
    assert compiled_variant(GUARDED, name, args).metadata[SUMMARY].guards == 1


def test_a_failing_guard_deoptimizes_before_the_loop_runs():
    overload = compiled_variant(GUARDED, "bounded_by_argument", (A, 5))
    assert overload.entry_point(A, 8) == A.sum()
    assert overload.entry_point(A, 0) == 0.0 and overload.entry_point(A, -3) == 0.0
    with pytest.raises(Deoptimize):
        overload.entry_point(A, 9)


def test_a_guard_tests_the_weakest_condition_it_found():
    # montecarlo's ising_observables: ``j + 1 if j < L - 1 else 0`` is in bounds if rows <=
    # columns (the branch says j + 1 <= L - 1); the loop's range alone would ask rows <=
    # columns - 1, which no square array meets: every call deoptimized.
    overload = compiled_variant(GUARDED, "square", (np.ones((4, 4), dtype=np.int64),))
    plain: dict = {}
    exec(GUARDED, plain)
    for shape in ((4, 4), (3, 5), (1, 1)):
        spins = np.arange(np.prod(shape), dtype=np.int64).reshape(shape) % 3 - 1
        assert overload.entry_point(spins) == plain["square"](spins)
    with pytest.raises(Deoptimize):  # more rows than columns: CPython raises IndexError
        overload.entry_point(np.ones((4, 3), dtype=np.int64))


NEIGHBOURS = """
def sweep(spins, rows, cols):
    total = 0
    for t in range(rows.shape[0]):
        i = rows[t]
        j = cols[t]
        s = spins[i, j]
        L = spins.shape[0]
        up = i - 1 if i > 0 else L - 1
        down = i + 1 if i < L - 1 else 0
        total += s * (spins[up, j] + spins[down, j])
    return total
"""


def test_after_a_checked_access_its_index_is_known_in_bounds():
    spins = np.ones((4, 4), dtype=np.int64)
    found = statuses(NEIGHBOURS, "sweep", spins, IDX % 4, IDX % 4)
    assert found["s = spins[i, j]"] == ["checked"]  # i and j come from the data
    assert found["total += s * (spins[up, j] + spins[down, j])"] == ["proven", "proven"]


OVERFLOW = """
def ops(a, x, n):
    total = after = triple = 0
    for i in range(len(a)):
        before = i - 1
        after = i + 1
        total += before
    y = x + 1
    m = n * n
    k = 0
    while k < len(a):
        k += 1
    for j in range(10):
        triple = j * 3
    return total + y + m + k + after + triple
"""


def test_int_operations_bounded_by_lengths_and_loops_drop_their_overflow_check():
    exact = exact_lines(OVERFLOW, "ops", A, 1, 2)
    assert {"before = i - 1", "after = i + 1", "k += 1", "triple = j * 3"} <= exact
    # from arguments, or accumulated without bound: keep their check
    assert not {"y = x + 1", "m = n * n", "total += before"} & exact


def test_an_overflow_the_analysis_cannot_exclude_still_deoptimizes():
    overload = compiled_variant(OVERFLOW, "ops", (A, 1, 2))
    with pytest.raises(Deoptimize):
        overload.entry_point(A, 2**63 - 1, 2)


# A differential run: random shapes, ranges and offsets; whatever CPython does (a value or
# IndexError), the compiled kernel matches it or deoptimizes, and never reads out of bounds.
KERNELS = """
def shifted(a, start, stop, step, k):
    s = 0.0
    for i in range(start, stop, step):
        s += a[i + k]
    return s

def shifted_2d(x, n, m, k):
    s = 0.0
    for i in range(n):
        for j in range(m):
            s += x[i, j - k] * (i + 1)
    return s

def gathered(a, idx, k):
    s = 0.0
    for t in range(idx.shape[0]):
        i = idx[t]
        s += a[i]
        up = i - k if i > 0 else len(a) - 1
        s += a[up]
    return s

def sliding(a, n, k):
    s = 0.0
    j = 0
    while j < n:
        s += a[j + k]
        j += 1
    return s

def unpacked(pair, k):
    a, b = pair  # items of a tuple, not rows of one array: lengths of their own
    s = 0.0
    for i in range(len(a)):
        s += b[i] * k
    return s
"""

# Kernels that attack the proofs: arrays rebound or shortened mid-loop, loop bounds and counters
# changed in the body, tuple items, views indexed by their parent's length, rows of a transpose,
# mixed-sign min/max, an indexing else branch, helpers inlined twice, counters next to 2**63.
ATTACKS = """
import numpy as np

def rebound(a, b, k):
    s = 0.0
    for i in range(len(a)):
        s += a[i + k]
        if i == 1:
            a = b
    for i in range(len(b)):
        s += b[i]
        b = b[1:]
    return s

def counters(a, flags, n, k):
    s = 0.0
    for i in range(n):
        s += a[i]
        n = n + 5
    i = steps = 0
    while i < len(a) and steps < 20:
        steps += 1
        s += a[i]
        if flags[i % len(flags)]:
            i += k
        else:
            i -= 1
        if i < 0:
            i = -i
    return s

def items(t, k):
    a, b, c = t
    s = 0.0
    for i in range(len(b)):
        s += c[i] + a[i - k]
    x = t[0]
    for i in range(len(t[1])):
        s += x[i]
    return s

def views(x, n):
    s = 0.0
    t = x.T
    for i in range(x.shape[0]):
        row = t[i]
        for j in range(x.shape[1]):
            s += row[j]
    v = x[1:]
    for i in range(min(n, len(x))):
        s += v[i, 0] + x[::2][i, 1]
    return s

def signs(a, p, q, n, big):
    s = 0.0
    for i in range(max(p, -len(a)), min(q, len(a) - 1) + 1):
        s += a[i]
    for i in range(n):
        if i < len(a):
            s += 1.0
        else:
            s += a[i]
    for i in range(n):
        s += a[2 * i]
    for i in range(big, big + 3):
        s += a[i - big] + a[i + 1 - big]
    return s

def shapes(x, y, n, m):
    out = np.zeros(n)
    n = m
    for i in range(n):
        out[i] = i
    rows, cols = x.shape
    s = out[n - 1] if n > 0 else 0.0
    for i in range(cols):
        for j in range(rows):
            s += y[i, j]
    return s

def near_max(a, start, k):
    s = 0
    for i in range(start, 9223372036854775807):
        s += i + k - start
        s += a[(i - start) % 3]
    return s

def helper(a, i):
    return a[i + 1]

def inlined(a, b, n):
    s = 0.0
    for i in range(n):
        s += helper(a, i) + helper(b, i - 1)
        b[i - 1] = a[i]
    return s
"""


def _attacks(rng: random.Random):
    for _ in range(30):
        a = np.arange(float(rng.randrange(0, 7))) + 1.0
        b = np.arange(float(rng.randrange(0, 7))) + 10.0
        yield "rebound", (a, b, rng.randrange(-2, 2))
        flags = np.array([rng.random() < 0.5 for _ in range(3)])
        yield "counters", (a, flags, rng.randrange(-1, 9), rng.randrange(1, 4))
        yield "items", ((a, b, np.arange(float(rng.randrange(0, 7)))), rng.randrange(-2, 2))
        x = np.arange(float(a.size * 3)).reshape(a.size, 3)
        yield "views", (x, rng.randrange(-1, 8))
        p, q, n = rng.randrange(-9, 9), rng.randrange(-9, 9), rng.randrange(-1, 9)
        yield "signs", (a, p, q, n, 2**63 - rng.randrange(1, 6))
        yield "inlined", (a, b.copy(), rng.randrange(-1, 8))
        y, n, m = np.ones((rng.randrange(0, 5), a.size)), rng.randrange(0, 5), rng.randrange(0, 7)
        yield "shapes", (x, y, n, m)
        yield "near_max", (np.arange(3), 2**63 - rng.randrange(1, 4), rng.randrange(-1, 3))


def _cases(rng: random.Random):
    for _ in range(40):
        size = rng.randrange(0, 7)
        a = np.arange(float(size)) + 1.0
        yield (
            "shifted",
            (
                a,
                rng.randrange(-8, 8),
                rng.randrange(-8, 9),
                rng.choice([-2, -1, 1, 2]),
                rng.randrange(-3, 3),
            ),
        )
        x = np.arange(float(size * 3)).reshape(size, 3)
        yield "shifted_2d", (x, rng.randrange(-1, 8), rng.randrange(-1, 5), rng.randrange(-4, 3))
        idx = np.array([rng.randrange(-9, 9) for _ in range(rng.randrange(0, 5))], dtype=np.int64)
        yield "gathered", (a, idx, rng.randrange(-2, 3))
        yield "sliding", (a, rng.randrange(-1, 9), rng.randrange(-9, 3))
        other = np.arange(float(rng.randrange(0, 7)))
        yield "unpacked", ((a, other), rng.randrange(-2, 2))


@pytest.mark.parametrize("source, cases, least", [(KERNELS, _cases, 60), (ATTACKS, _attacks, 40)])
def test_the_compiled_kernels_fail_exactly_where_cpython_fails(source, cases, least):
    namespace: dict = {}
    exec(source, namespace)
    compiled: dict = {}
    answered = 0
    for name, args in cases(random.Random(1234)):
        expected = _outcome(namespace[name], args)
        key = (name, tuple(type(a) for a in args))
        if key not in compiled:
            compiled[key] = compiled_variant(source, name, args).entry_point
        try:
            got = _outcome(compiled[key], args)
        except Deoptimize:  # a guard failed: the original answers, as CPython
            continue
        assert got == expected, (name, args)
        answered += expected is not IndexError
    assert answered > least, "most calls that CPython answers run compiled"


def test_the_hooked_attack_kernels_answer_as_cpython(accelerated):
    namespace: dict = {}
    exec(ATTACKS, namespace)
    module = accelerated(ATTACKS)
    for name, args in list(_attacks(random.Random(99)))[:64]:
        assert _outcome(getattr(module, name), args) == _outcome(namespace[name], args), name
    promoted = {t.qualname for t in registry() if t.module == module.__name__ and t.compiled}
    assert promoted >= set(namespace) - {"np", "__builtins__", "helper"}, promoted


def _outcome(function, args: tuple):
    """What ``function`` returns (and leaves in its array arguments), or ``IndexError``."""
    copies = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
    try:
        return function(*copies), [a.tolist() for a in copies if isinstance(a, np.ndarray)]
    except IndexError:
        return IndexError
