"""autoaccel.backends.range_compiler: proven accesses compiled unchecked, guards before loops,
plain int operations; and after promotion, CPython's IndexError and big ints, exactly."""

from __future__ import annotations

import json
import traceback

import numba
import numpy as np
import pytest
from conftest import compiled_variant

from autoaccel.backends.range_compiler import SUMMARY, range_guard
from autoaccel.errors import Deoptimize
from autoaccel.runtime.registry import registry

KERNELS = """
import numpy as np

def relu(x):
    out = np.empty_like(x)
    for i in range(x.shape[0]):
        for j in range(x.shape[1]):
            out[i, j] = x[i, j] if x[i, j] > 0.0 else 0.0
    return out

def scatter(out, where):
    for i in range(where.shape[0]):
        out[where[i]] = i * 0.5
    return out

def fill(out, n):
    for i in range(n):
        out[i] = i * 0.5
    return out

def _row_sum(x, i):
    s = 0.0
    for k in range(x.shape[1]):
        s += x[i, k]
    return s

def row_sums(x):
    out = np.empty(x.shape[0])
    for i in range(x.shape[0]):
        out[i] = _row_sum(x, i)
    return out

def next_index(i):
    return i + 1
"""


def test_proven_accesses_are_compiled_without_their_check():
    overload = compiled_variant(KERNELS, "relu", (np.ones((3, 4)),))
    summary = overload.metadata[SUMMARY]
    assert {status for _, _, status in summary.accesses} == {"proven"}
    assert "out of bounds" not in overload.library.get_llvm_str()
    with_checks = compiled_variant(KERNELS, "scatter", (np.zeros(4), np.arange(3)))
    assert "out of bounds" in with_checks.library.get_llvm_str(), "where[i] data: checked"


def test_a_helpers_accesses_are_proven_in_its_callers_context():
    summary = compiled_variant(KERNELS, "row_sums", (np.ones((3, 4)),)).metadata[SUMMARY]
    assert [status for _, array, status in summary.accesses if array == "x"] == ["proven"]


def test_without_bounds_checking_no_guard_is_inserted():
    overload = compiled_variant(KERNELS, "fill", (np.zeros(4), 4), boundscheck=False)
    assert overload.metadata[SUMMARY].guards == 0
    assert overload.entry_point(np.zeros(4), 4)[3] == 1.5


def test_an_int_operation_made_plain_computes_the_same():
    overload = compiled_variant(KERNELS, "fill", (np.zeros(4), 4))
    assert overload.metadata[SUMMARY].guards == 1
    np.testing.assert_array_equal(overload.entry_point(np.zeros(4), 4), np.arange(4) * 0.5)


def _guarded(spec: list, *values):
    """Run ``range_guard`` with ``spec`` on ``values``: True when it passes."""
    text = json.dumps(spec)

    @numba.njit
    def check(items):
        range_guard(text, items)
        return True

    try:
        return check(values)
    except Deoptimize:
        return False


def test_a_guard_passes_exactly_when_its_clauses_hold():
    n, length = ["v", 0], ["len", 1, 0]
    in_bounds = [[[[["0"], n, -1]], [[n, length, 0]]]]  # n >= 1 runs the loop: n <= len(a)
    a = np.ones(5)
    assert _guarded(in_bounds, 5, a) and not _guarded(in_bounds, 6, a)
    assert _guarded(in_bounds, 0, a), "a loop that runs no iteration excuses it"
    lower = [[[], [[["-", length], n, 0]]]]  # -len(a) <= n
    assert _guarded(lower, -5, a) and not _guarded(lower, -6, a)


def test_a_ranges_run_time_bounds_follow_its_steps_sign():
    lo, hi = ["lo", 0, 1, 2], ["hi", 0, 1, 2]
    spec = [[[], [[["0"], lo, 0], [hi, ["0"], 9]]]]  # 0 <= lo and hi <= 9
    assert _guarded(spec, 0, 10, 1) and not _guarded(spec, 0, 11, 1)
    assert _guarded(spec, 9, -1, -1) and not _guarded(spec, 10, -1, -1)
    assert not _guarded(spec, 9, -2, -1), "range(9, -2, -1) reaches -1"
    assert _guarded(spec, 2**63 - 1, -(2**63), -1) is False, "no overflow in the bounds"


def _trampoline(module, name: str):
    return next(t for t in registry() if t.qualname == name and t.module == module.__name__)


def test_an_index_from_the_data_raises_cpythons_index_error_after_promotion(accelerated):
    module = accelerated(KERNELS)
    namespace: dict = {}
    exec(KERNELS, namespace)
    for _ in range(4):  # counted, compiled, validated, promoted
        module.scatter(np.zeros(4), np.arange(4))
    outs, errors = [np.zeros(4), np.zeros(4)], []
    for function, out in zip((module.scatter, namespace["scatter"]), outs, strict=True):
        with pytest.raises(IndexError) as info:
            function(out, np.array([0, 1, 2, 7, 3]))
        errors.append(info)
    np.testing.assert_array_equal(outs[0], outs[1])
    assert str(errors[0].value) == str(errors[1].value)
    assert traceback.extract_tb(errors[0].tb)[-1].line == "out[where[i]] = i * 0.5"
    assert _trampoline(module, "scatter").promotions


def test_a_failing_guard_gives_cpythons_index_error_and_partial_writes(accelerated):
    module = accelerated(KERNELS)
    namespace: dict = {}
    exec(KERNELS, namespace)
    for _ in range(4):
        module.fill(np.zeros(4), 4)
    outs, errors = [np.zeros(4), np.zeros(4)], []
    for function, out in zip((module.fill, namespace["fill"]), outs, strict=True):
        with pytest.raises(IndexError) as info:
            function(out, 6)
        errors.append(info)
    np.testing.assert_array_equal(outs[0], outs[1])
    assert str(errors[0].value) == str(errors[1].value)
    assert _trampoline(module, "fill").promotions, "promoted: the call deoptimized at its guard"


def test_an_int_overflow_still_deoptimizes_to_cpythons_big_int(accelerated):
    module = accelerated(KERNELS)
    for _ in range(4):
        assert module.next_index(41) == 42
    assert module.next_index(2**63 - 1) == 2**63
    assert _trampoline(module, "next_index").promotions
