"""autoaccel.runtime.promoter: one function's trials, promotions, rejections and evictions."""

from __future__ import annotations

import functools
import operator

import numpy as np
import pytest

from autoaccel.backends import cpu
from autoaccel.policy.trial import PromotionRecord
from autoaccel.report.stats import function_stats
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

def depth(n):
    return 0 if n == 0 else 1 + depth(n - 1)
"""

A = np.linspace(0.0, 1.0, 100)
# total's answer: the in-order sum (3.12's sum() of floats compensates, total does not).
TOTAL = functools.reduce(operator.add, A.tolist(), 0.0)


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
        assert module.total(A) == TOTAL
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
    assert module.total(A) == TOTAL
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


def test_a_recursion_during_its_trial_runs_its_inner_calls_as_the_original(module):
    trampoline = lookup(module.depth)
    promoter = trampoline.promoter
    module.depth(0)  # counted once (a deeper call counts its inner calls too)
    calls = []
    original = trampoline.original

    def counted(n):
        calls.append(n)
        return original(n)

    trampoline.original = counted
    assert module.depth(30) == 30  # hot: compiled, one trial call
    assert calls == [30], "the inner calls are no trial calls of their own"
    assert [trial.signature for trial in promoter.trials.values()] == ["(int64)"]


def test_a_recursion_past_its_budget_in_a_trial_demotes_the_function(module):
    trampoline = lookup(module.depth)
    module.depth(0)
    assert module.depth(900) == 900  # past the budget: runs as Python
    assert not trampoline.armed and trampoline.promotions == []
    (failure,) = trampoline.failures.values()
    assert failure.reason.startswith("recursed past the depth compiled code may reach")
    assert failure.reason.endswith("[30]")


CALLER = """
def helper(x):
    return x * 0.5 + 1.0

def caller(a):
    s = 0.0
    for i in range(a.shape[0]):
        s += helper(a[i])
    return s
"""


def test_a_helper_called_inside_a_callers_trial_call_starts_no_trial_or_compile(accelerated):
    # Its compile or its trial calls would run inside the caller's timed original half: the
    # caller's gain was overstated (py_lets_be_rational: 104.91x measured, 5-8x real).
    mod = accelerated(CALLER, min_calls=1, validation_calls=3, cache=False)
    a = np.linspace(0.0, 1.0, 50)
    helper, caller = lookup(mod.helper), lookup(mod.caller)
    started = []
    start_trial = type(helper.promoter)._start_trial

    def recorded(self, key, args):
        started.append((self.owner.name, bool(caller.promoter.trials)))
        return start_trial(self, key, args)

    type(helper.promoter)._start_trial = recorded
    try:
        # In caller's order (3.12's sum() of floats compensates).
        expected = functools.reduce(operator.add, [x * 0.5 + 1.0 for x in a.tolist()], 0.0)
        assert mod.caller(a) == expected  # caller hot at once: its first trial call
        assert caller.promoter.trials and not helper.promoter.trials
        assert [owner for owner, _ in started] == [caller.name]
        stats = function_stats(helper)
        assert stats["state"] == "interpreted"
        assert stats["reason"].startswith("hot only inside other functions' trial calls (50")
        assert mod.helper(2.0) == 2.0  # called on its own: its trial starts
        assert helper.promoter.trials or helper.promoter.promotions
    finally:
        type(helper.promoter)._start_trial = start_trial
