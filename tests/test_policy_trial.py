"""autoaccel.policy.trial: a variant validated and timed on real calls, then the verdict."""

from __future__ import annotations

import types

import numpy as np
import pytest

from autoaccel.backends.cpu import Guards
from autoaccel.errors import Deoptimize, RecursionBudget
from autoaccel.policy.trial import PromotionRecord, Trial, speed_verdict


def _trial(entry, needed_guards: Guards | None = None, **options) -> Trial:
    compiled = types.SimpleNamespace(entry=entry, snapshot=(), guards=needed_guards or Guards())
    return Trial(compiled, "(float64)", 0.25, **options)


def _square(x):
    return x * x


def test_the_caller_gets_the_originals_answer_and_the_variant_works_on_copies():
    seen = []

    def variant(a):
        seen.append(a)
        a[0] = -1.0  # a write the original makes too
        return float(a.sum())

    def original(a):
        a[0] = -1.0
        return float(a.sum())

    trial = _trial(variant)
    a = np.ones(3)
    assert trial.call(original, (a,)) == 1.0
    assert seen[0] is not a and trial.failure is None
    np.testing.assert_array_equal(a, [-1.0, 1.0, 1.0])  # written once, by the original


def test_the_verdict_waits_for_enough_timed_calls_then_weighs_the_gain():
    trial = _trial(_square)
    for _ in range(2):
        trial.call(_square, (3.0,))
        assert trial.verdict(3, 0.0) is None
    trial.call(_square, (3.0,))
    promote, reason = trial.verdict(3, 0.0)
    assert promote is True and reason.startswith("measured speed-up ")
    assert trial.verdict(3, 1e12) == (
        False,
        f"measured speed-up {trial.speedup():.2f}x is below min_gain 1e+12",
    )


def test_a_gain_of_exactly_min_gain_promotes_and_less_rejects():
    assert speed_verdict(1.2, 1.2) == (True, "measured speed-up 1.20x")
    assert speed_verdict(1.19, 1.2) == (
        False,
        "measured speed-up 1.19x is below min_gain 1.2",
    )


def test_the_speed_up_is_best_original_over_best_variant_time():
    trial = _trial(_square)
    trial.original_seconds = [3.0, 2.0, 4.0]
    trial.variant_seconds = [1.5, 0.5, 1.0]
    assert trial.speedup() == 4.0
    assert trial.saved_seconds() == 1.5


def test_the_dispatch_cost_is_charged_to_the_variant():
    trial = _trial(_square, dispatch_seconds=10.0)
    trial.call(_square, (2.0,))
    assert trial.variant_seconds[0] >= 10.0
    assert trial.speedup() < 0.01


@pytest.mark.parametrize(
    ("variant", "original", "failure"),
    [
        (lambda x: x + 1.0, _square, "answered differently from the original on a real call"),
        (lambda x: int(x * x), _square, "returns int where the original returns float"),
        (lambda x: 1 / 0, _square, "raised ZeroDivisionError where the original returned"),
    ],
)
def test_a_different_answer_fails_the_trial_with_its_reason(variant, original, failure):
    trial = _trial(variant)
    assert trial.call(original, (3.0,)) == 9.0
    assert trial.failure == failure
    assert trial.verdict(3, 0.0) == (False, failure)


def test_different_writes_to_the_arguments_fail_the_trial():
    def variant(a):
        a[1] = 5.0
        return 0.0

    trial = _trial(variant)
    trial.call(lambda a: 0.0, (np.zeros(2),))
    assert trial.failure == "wrote its arguments differently from the original"


def test_raising_is_fine_only_when_the_original_raises_the_same_type():
    same = _trial(lambda x: 1 / x)
    with pytest.raises(ZeroDivisionError):
        same.call(lambda x: 1 / x, (0.0,))
    assert same.failure is None and same.variant_seconds == []  # not timed
    other = _trial(lambda x: 0.0)
    with pytest.raises(ZeroDivisionError):
        other.call(lambda x: 1 / x, (0.0,))
    assert other.failure == (
        "the original raised ZeroDivisionError but the variant did not do the same"
    )


def test_a_deoptimized_call_is_neither_a_mismatch_nor_timed():
    def variant(x):
        raise Deoptimize("int64 add overflows")

    trial = _trial(variant)
    assert trial.call(_square, (3.0,)) == 9.0
    assert trial.failure is None and trial.variant_seconds == []
    for _ in range(29):
        trial.call(_square, (3.0,))
    assert trial.verdict(3, 0.0) == (
        False,
        "gave up, raised or returned a constant of ambiguous type on nearly every "
        "validation call, so it was never timed",
    )


def test_a_recursion_past_its_budget_is_raised_before_the_original_runs():
    def variant(x):
        raise RecursionBudget("recursion deeper than its compiled budget")

    trial = _trial(variant)
    with pytest.raises(RecursionBudget):
        trial.call(lambda x: pytest.fail("the original ran inside the trial"), (3.0,))
    deep = _trial(_square)
    deep.compiled.max_frames = 0  # called from too deep a stack: the variant does not run
    with pytest.raises(RecursionBudget, match="called too deep"):
        deep.call(_square, (3.0,))


def test_a_numpy_scalar_type_is_learnt_and_held_to():
    trial = _trial(lambda a: float(a[0]))
    a = np.arange(3.0)
    trial.call(lambda a: a[0], (a,))
    assert trial.failure is None and trial.adapter is np.float64 and trial.raw_type is float
    trial.compiled.entry = lambda a: int(a[0])  # another raw type on a later call
    trial.call(lambda a: a[0], (a,))
    assert trial.failure == "answered differently from the original on a real call"


def test_a_tolerance_lets_floats_differ_within_it_only():
    near = _trial(lambda x: x * x * (1 + 1e-14), tolerance=(1e-12, 0.0))
    near.call(_square, (3.0,))
    assert near.failure is None
    far = _trial(lambda x: x * x * (1 + 1e-9), tolerance=(1e-12, 0.0))
    far.call(_square, (3.0,))
    assert far.failure == "answered differently from the original on a real call"


def test_the_promotion_record():
    trial = _trial(_square, from_cache=True, target="parallel")
    trial.original_seconds, trial.variant_seconds = [2.0], [1.0]
    assert trial.promotion() == PromotionRecord(
        "(float64)", 2.0, 0.25, True, "parallel", saved_seconds=1.0
    )
