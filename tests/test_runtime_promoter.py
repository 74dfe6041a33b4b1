"""autoaccel.runtime.promoter: one function's trials, promotions, rejections and evictions."""

from __future__ import annotations

import numpy as np
import pytest

from autoaccel.backends import cpu
from autoaccel.policy.trial import PromotionRecord
from autoaccel.runtime.keys import ExactKey, Failure
from autoaccel.runtime.registry import lookup

SOURCE = """
def total(a):
    s = 0.0
    for i in range(a.shape[0]):
        s += a[i]
    return s

def broken(a):
    return a.no_such_attribute
"""

A = np.linspace(0.0, 1.0, 100)


@pytest.fixture
def module(accelerated):
    return accelerated(SOURCE, min_calls=2, validation_calls=2, cache=False)


def _hot_key(trampoline) -> ExactKey:
    (key,) = trampoline.promoter.signatures or trampoline.promoter.trials
    return key


def test_a_hot_signature_is_compiled_trialled_then_promoted(module):
    trampoline = lookup(module.total)
    promoter = trampoline.promoter
    module.total(A)
    assert promoter.trials == {}
    module.total(A)  # hot: compiled, first trial call
    assert [trial.signature for trial in promoter.trials.values()] == ["(array(float64, 1d, C))"]
    assert promoter.pending((np.ndarray,)) and not promoter.pending((float,))
    assert promoter.promotions == []
    module.total(A)  # second trial call: the verdict
    assert promoter.trials == {} and not promoter.pending((np.ndarray,))
    (record,) = promoter.promotions
    assert isinstance(record, PromotionRecord) and record.signature == "(array(float64, 1d, C))"
    key = _hot_key(trampoline)
    assert promoter.signatures == {key: record.signature}
    assert trampoline._exact[key].compiled.validated == {record.signature}
    assert promoter.generic_speedup((np.ndarray,)) == record.speedup
    assert promoter.generic_speedup((float,)) == 1.0


def test_a_signature_numba_refuses_is_never_tried_again_and_disarms(module):
    trampoline = lookup(module.broken)
    for _ in range(3):
        with pytest.raises(AttributeError):
            module.broken(A)
    ((_, failure),) = trampoline.promoter.failures.items()
    assert (
        isinstance(failure, Failure) and failure.signature == "(array(float64, 1d, C))"
    )  # compile failed
    assert failure.reason.startswith("Numba cannot compile it: ")
    assert trampoline.armed is False


def test_an_internal_error_is_a_rejection_that_says_so(module, monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(cpu, "build", boom)
    for _ in range(3):
        assert module.total(A) == sum(A.tolist())
    ((_, failure),) = lookup(module.total).promoter.failures.items()
    assert failure.reason == "internal error: RuntimeError('boom')"


def _promoted(module):
    for _ in range(4):
        module.total(A)
    trampoline = lookup(module.total)
    assert trampoline.promotions
    return trampoline, _hot_key(trampoline)


def test_a_conflicting_result_type_is_refused(module):
    trampoline, key = _promoted(module)
    promoter = trampoline.promoter
    compiled = trampoline._exact[key].compiled
    sibling = ExactKey(key.types, ("another fingerprint",))
    record = promoter.promotions[0]._replace(signature="(other)")
    # The original returns np.float64, so the variant's float results are converted; a
    # variant of the same code claiming no conversion is needed contradicts that.
    assert promoter.promote(sibling, compiled, float, None, record, "reason") is False
    assert promoter.failures[sibling] == Failure(
        "(other)", "its result type conflicts with another promoted signature"
    )
    assert sibling not in trampoline._exact


def test_an_evicted_key_runs_the_original_and_is_not_tried_again(module):
    trampoline, key = _promoted(module)
    trampoline.promoter.evict(key, "evicted (lru)")
    assert trampoline._exact == {} and trampoline.promotions == []
    assert trampoline.promoter.failures[key].reason == "evicted (lru)"
    assert trampoline.compiled is None and trampoline.armed is False
    assert module.total(A) == sum(A.tolist())
    trampoline.promoter.evict(key, "again")  # nothing left to evict: no change
    assert trampoline.promoter.failures[key].reason == "evicted (lru)"


def test_a_second_invalidation_gives_the_function_up(module):
    trampoline, _ = _promoted(module)
    promoter = trampoline.promoter
    assert promoter.invalidate("SCALE") is True
    assert promoter.promotions == [] and promoter.signatures == {}
    assert promoter.invalidate("SCALE") is False
    assert promoter.failures[()] == Failure(
        "()", "global SCALE changed after compiling again, so it is no longer compiled"
    )
