"""autoaccel.policy.cost: timed calls of the original, too short or not yet worth a compile."""

from __future__ import annotations

import time

import pytest

from autoaccel.policy import cost
from autoaccel.policy.cost import TIMED_CALLS, CallCost, compile_threshold, record_compile


def _cost(*seconds: float) -> CallCost:
    cost = CallCost()
    cost.seconds = list(seconds)
    return cost


def test_calls_run_the_original_and_are_timed_until_enough():
    cost = CallCost()
    results = [cost.call(lambda x: x + 1, (i,)) for i in range(TIMED_CALLS + 2)]
    assert results == list(range(1, TIMED_CALLS + 3))
    assert cost.timed() and len(cost.seconds) == TIMED_CALLS
    assert all(seconds >= 0.0 for seconds in cost.seconds)


def test_one_long_call_is_enough_to_judge():
    # A timed call runs the original without its loops' instrumentation: no more of them
    # than the judgement needs.
    cost = CallCost()
    cost.call(time.sleep, (0.002,))
    assert cost.timed() and cost.per_call() >= 0.002
    assert cost.judge(floor=500e-9, gain=1.2, min_seconds=0.05) is None


def test_an_exception_of_the_original_propagates_and_is_not_timed():
    cost = CallCost()
    with pytest.raises(ZeroDivisionError):
        cost.call(lambda: 1 / 0, ())
    assert cost.seconds == [] and not cost.timed()


def test_calls_shorter_than_min_gain_times_the_dispatch_are_too_short():
    cold = (5e-6, 4e-6, 1e-6, 800e-9)  # the first runs of a code object: they warm it up
    reason = _cost(*cold, 100e-9, 300e-9, 5e-6, 250e-9).judge(
        floor=500e-9, gain=1.2, min_seconds=0.05
    )
    # The median of the warm half (275 ns), not the cold calls or the one slow call, decides.
    assert reason == (
        "a call takes 275 ns, too short for any compiled variant to be 1.2x faster: "
        "reaching one costs 500 ns (never compiled)"
    )


def test_longer_calls_wait_for_min_seconds_of_python_time():
    cost = _cost(9e-3, 9e-3, 2e-3, 1e-3, 3e-3)
    assert cost.judge(floor=500e-9, gain=1.2, min_seconds=0.05) is None
    assert cost.needed == 25  # 0.05 s at 2 ms a call
    assert cost.python_seconds(20) == pytest.approx(0.04)


def test_calls_as_long_as_min_seconds_need_no_wait():
    cost = _cost(1.0, 1.0, 1.0)
    assert cost.judge(floor=500e-9, gain=1.2, min_seconds=0.05) is None
    assert cost.needed == 1


def test_before_any_compile_the_floor_alone_decides():
    assert compile_threshold(0.05, 1.0, "min_seconds") == (0.05, "min_seconds 0.05")


def test_after_compiles_a_unit_waits_for_the_median_compile_time():
    for seconds in (0.9, 0.02, 0.4):
        record_compile(seconds)
    assert compile_threshold(0.05, 1.0, "min_seconds") == (
        pytest.approx(0.4),
        "compile_payback 1 x 0.40 s expected compile",
    )
    assert compile_threshold(0.05, 2.0, "loop_min_seconds")[0] == pytest.approx(0.8)
    # Off, or compiles cheaper than the floor (a warm cache's loads): the floor.
    assert compile_threshold(0.05, 0.0, "min_seconds") == (0.05, "min_seconds 0.05")
    assert compile_threshold(1.0, 1.0, "loop_min_seconds") == (1.0, "loop_min_seconds 1")


def test_the_calls_needed_follow_the_threshold():
    cost = _cost(0.01, 0.01, 0.01)
    assert cost.calls_for(0.4) == 40
    assert cost.calls_for(0.0) == 1


def test_a_timed_call_counts_its_work_over_a_plain_call_and_the_floor_has_numbas_call():
    # Timing a call of a one-line helper costs about what the helper does, so a stand-in's
    # call is timed the same way beside it and only the difference counts, over what a
    # plain call costs; Numba's entry point (unboxing, boxing) costs about such a call too.
    assert 0.0 < cost.entry_seconds(1) < 1e-5 and cost.entry_seconds(2) < 1e-5
    timed = cost.CallCost()
    for _ in range(cost.TIMED_CALLS):
        assert timed.call(abs, (-1.5,)) == 1.5
    assert timed.timed() and min(timed.seconds) >= cost.entry_seconds(1)
    assert timed.per_call() < 1e-4
    function, args = cost.stand_in(2)
    assert function(*args) == 0.5 and cost.stand_in(2)[0] is function  # made once
