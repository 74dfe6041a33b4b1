"""The bounded variant cache: eviction by each policy, through real trampolines."""

from __future__ import annotations

import time

import numpy as np

from autoaccel.config import SpecializationOptions
from autoaccel.runtime.registry import lookup
from autoaccel.runtime.table import variant_table

SOURCE = """
def total(a):
    s = 0
    for i in range(a.shape[0]):
        s += a[i]
    return s
"""

F64 = np.arange(50, dtype=np.float64)
I64 = np.arange(50, dtype=np.int64)
F64A = np.arange(100, dtype=np.float64)[::2]  # same dtype, layout A: a signature of its own


class Recorder:
    """Stands in for an entry dispatcher and records the dtypes it was called with."""

    def __init__(self, dispatcher):
        self.dispatcher = dispatcher
        self.seen = []

    def __call__(self, *args):
        self.seen.append(args[0].dtype)  # (F64 and I64 calls must never get here)
        return self.dispatcher(*args)

    def __getattr__(self, name):
        return getattr(self.dispatcher, name)


def _load(accelerated, **options):
    mod = accelerated(SOURCE, specialization=SpecializationOptions(**options))
    return mod, lookup(mod.total)


def _promote(function, array, calls=4):
    # min_calls 1 and validation_calls 3: promoted at the end of the third call
    for _ in range(calls):
        assert function(array) == array.sum()


def _held(trampoline):
    return sorted(trampoline.promoter.signatures.values())


SCALAR_SOURCE = """
def poly(x):
    s = 0.0
    for i in range(200):
        s = s * 0.5 + x
    return s
"""

# Three Python types, so three patterns with use counts of their own (all return float).
FLOAT, INT, BOOL = 1.5, 3, True


def _load_scalar(accelerated, **options):
    mod = accelerated(SCALAR_SOURCE, specialization=SpecializationOptions(**options))
    return mod, lookup(mod.poly)


def _held_types(trampoline):
    return sorted(key.types[0].__name__ for key in trampoline._exact)


def _promote_scalar(function, value, calls=4):
    for _ in range(calls):
        function(value)


def test_lru_evicts_the_least_recently_used_signature(accelerated):
    mod, trampoline = _load_scalar(accelerated, max_variants=2, policy="lru")
    _promote_scalar(mod.poly, FLOAT)
    _promote_scalar(mod.poly, INT, calls=14)  # used often, but before FLOAT's last use
    mod.poly(FLOAT)
    _promote_scalar(mod.poly, BOOL)
    assert _held_types(trampoline) == ["bool", "float"]
    signature, reason = next(iter(trampoline.failures.values()))
    assert signature == "(int64)"
    assert "max_variants 2 (lru)" in reason


def test_lfu_evicts_the_least_frequently_used_signature(accelerated):
    mod, trampoline = _load_scalar(accelerated, max_variants=2, policy="lfu")
    _promote_scalar(mod.poly, FLOAT, calls=14)
    _promote_scalar(mod.poly, INT)
    mod.poly(INT)  # the most recent, but used least
    _promote_scalar(mod.poly, BOOL)
    assert _held_types(trampoline) == ["bool", "float"]


def test_ttl_evicts_variants_unused_for_the_time_to_live(accelerated):
    mod, trampoline = _load_scalar(accelerated, policy="ttl", ttl_seconds=0.2)
    _promote_scalar(mod.poly, FLOAT, calls=3)  # promoted by the third call, never used since
    time.sleep(0.3)  # not a timing assertion: FLOAT is merely left unused for longer than 0.2 s
    _promote_scalar(mod.poly, INT)
    assert _held_types(trampoline) == ["int"]
    assert "unused for 0.2 s" in next(iter(trampoline.failures.values()))[1]


def test_size_evicts_the_largest_variant(accelerated):
    mod, trampoline = _load(accelerated, max_variants=2, policy="size")
    _promote(mod.total, F64)
    _promote(mod.total, I64)
    sizes = {e.signature: e.size for e in variant_table().entries()}
    largest = max(sizes, key=sizes.__getitem__)
    _promote(mod.total, F64A)
    assert largest not in _held(trampoline)
    assert len(_held(trampoline)) == 2


def test_memory_bound_counts_every_function(accelerated):
    mod, trampoline = _load(accelerated, max_memory_mb=1e-9, policy="adaptive")
    _promote(mod.total, F64)
    _promote(mod.total, I64)
    # the bound is smaller than any variant: only the newest is kept
    assert _held(trampoline) == ["(array(int64, 1d, C))"]
    assert variant_table().stats()["evictions"] == 1


def test_an_evicted_signature_runs_the_original_never_a_sibling_variant(accelerated):
    # a bound below any variant's size keeps only the newest: f64 C and i64 C are evicted
    # while f64 A, of the same Python types (ndarray,), stays in the entry dispatcher
    mod, trampoline = _load(accelerated, max_memory_mb=1e-9)
    _promote(mod.total, F64)
    _promote(mod.total, I64)
    _promote(mod.total, F64A)
    assert _held(trampoline) == ["(array(float64, 1d, A))"]
    recorder = Recorder(trampoline.compiled.entry)
    trampoline.compiled.entry = recorder
    results = [mod.total(F64) for _ in range(3)] + [mod.total(I64), mod.total(F64A)]
    assert results == [F64.sum()] * 3 + [I64.sum(), F64A.sum()]
    assert recorder.seen == [np.dtype(np.float64)], "only the F64A call reaches compiled code"


def test_a_function_left_without_variants_is_disarmed_and_releases_its_code(accelerated):
    mod, trampoline = _load(accelerated)
    _promote(mod.total, F64)
    assert variant_table().clear() == 1
    assert not trampoline.armed and trampoline.compiled is None
    assert mod.total(F64) == F64.sum()
    assert trampoline.failures and not trampoline.promotions
