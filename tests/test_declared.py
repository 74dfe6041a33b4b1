"""Per-function ``signatures`` (compiled at import) and ``min_size`` (small arrays apart)."""

from __future__ import annotations

import numpy as np

from autoaccel.config import FunctionOverride
from autoaccel.policy.cost import TIMED_CALLS
from autoaccel.runtime.registry import lookup

KERNELS = """
def total(a, scale):
    s = 0.0
    for i in range(a.shape[0]):
        s += helper(a[i]) * scale
    return s

def helper(x):
    return x + 1.0

def halve(a):
    return a / 2
"""


def _override(name, function, **fields):
    return {f"{name}.{function}": FunctionOverride(**fields)}


def test_declared_signatures_compile_at_import_and_trial_at_the_first_call(accelerated):
    name = "aa_declared_ok"
    declared = ("float64(float64[:], float64)",)
    mod = accelerated(
        KERNELS, name=name, min_calls=50, functions=_override(name, "total", signatures=declared)
    )
    trampoline = lookup(mod.total)
    # compiled once the module was imported (helper defined below it resolved), before any call
    assert [str(s) for s in trampoline.compiled.entry.signatures] == [
        "(Array(float64, 1, 'A', False, aligned=True), float64)"
    ]
    x = np.arange(10.0)
    for _ in range(4):  # 1 call to start the trial + validation calls, far below min_calls
        assert mod.total(x, 2.0) == sum((v + 1.0) * 2.0 for v in x)
    assert [p.signature for p in trampoline.promotions] == ["(array(float64, 1d, A), float64)"]
    assert len(trampoline.compiled.entry.signatures) == 1, "the C array ran the declared variant"


def test_a_declared_signature_numba_rejects_is_a_rejection_with_its_reason(accelerated):
    name = "aa_declared_bad"
    mod = accelerated(
        KERNELS,
        name=name,
        functions=_override(name, "total", signatures=("float64(float64[:], UniTuple(int64, 2))",)),
    )
    trampoline = lookup(mod.total)
    ((signature, reason),) = trampoline.failures.values()
    assert signature == "float64(float64[:], UniTuple(int64, 2))"
    assert "declared signature" in reason and "Numba cannot compile it" in reason
    # as after any first rejection, the function runs plain from then on
    assert not trampoline.armed
    assert mod.total(np.ones(3), 2.0) == 12.0


def test_small_arrays_are_a_signature_of_their_own(accelerated):
    name = "aa_min_size"
    mod = accelerated(KERNELS, name=name, functions=_override(name, "halve", min_size=100))
    small, large = np.arange(10.0), np.arange(1000.0)
    for _ in range(5):
        np.testing.assert_array_equal(mod.halve(small), small / 2)
        np.testing.assert_array_equal(mod.halve(large), large / 2)
    trampoline = lookup(mod.halve)
    kinds = {key.types[0].__name__ for key in trampoline._exact}
    assert kinds == {"ndarray", "ndarray[size<100]"}, "each size class had its own trial"


def test_small_arrays_stay_plain_when_their_gain_is_too_small(accelerated):
    name = "aa_min_size_gain"
    mod = accelerated(
        KERNELS, name=name, min_gain=1e9, functions=_override(name, "halve", min_size=100)
    )
    small = np.arange(10.0)
    for _ in range(TIMED_CALLS + 2):
        np.testing.assert_array_equal(mod.halve(small), small / 2)
    trampoline = lookup(mod.halve)
    ((key, (_, reason)),) = trampoline.failures.items()
    assert key[0].__name__ == "ndarray[size<100]"  # refused before compiling: types alone
    assert "too short for any compiled variant" in reason
    assert not trampoline.promotions
