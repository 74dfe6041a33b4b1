"""autoaccel.policy.window: a compiled loop checked against Python on windows of iterations."""

from __future__ import annotations

import numpy as np

from autoaccel.errors import Deoptimize
from autoaccel.policy.window import WindowTrial, copy_state

SUSPENDED, ENDED = 0, 3


def reader(result, arguments, before):
    """The run hands back (total,) with its site; its value before is arguments[1]."""
    return (result[3],), (result[4],), (arguments[1],)


def summing(budget, total, a):
    """A compiled loop stand-in: sums ``budget`` items of ``a`` into ``total``."""
    for i in range(budget):
        total += a[i]
        a[i] = 0.0
    return (SUSPENDED, -1, budget, total, 1)


def trial(entry=summing):
    return WindowTrial(entry, "(total: float64)", 0.1, False, (2,), ("total",), reader)


def python_window(budget, total, a):
    for i in range(budget):
        total += a[i]
        a[i] = 0.0
    return total


def test_matching_windows_are_timed_and_promote():
    window = trial()
    for _ in range(3):
        a = np.arange(10.0)
        run = window.run_window((4, 0.0, a), {})
        total = python_window(4, 0.0, a)
        window.compare(run, SUSPENDED, 4, (total,), (4, 0.0, a), 1e-3)
    promote, reason = window.verdict(3, 1.2)
    assert promote and reason.startswith("measured speed-up")
    assert window.site_types.types == {("total", 1): np.float64}  # 0.0 + a[i]


def test_a_different_array_write_rejects():
    def sloppy(budget, total, a):
        result = summing(budget, total, a)
        a[budget] = 42.0
        return result

    window = trial(sloppy)
    a = np.arange(10.0)
    run = window.run_window((4, 0.0, a), {})
    window.compare(run, SUSPENDED, 4, (python_window(4, 0.0, a),), (4, 0.0, a), 1e-3)
    assert window.verdict(3, 0.0) == (False, "wrote its arrays differently from Python")


def test_another_position_or_ending_rejects():
    window = trial()
    a = np.arange(10.0)
    run = window.run_window((4, 0.0, a), {})
    window.compare(run, SUSPENDED, 5, (python_window(4, 0.0, a),), (4, 0.0, a), 1e-3)
    assert window.verdict(3, 0.0) == (False, "reached another iteration than Python")
    window = trial()
    run = window.run_window((4, 0.0, a), {})
    window.compare(run, ENDED, None, (6.0,), (4, 0.0, a), 1e-3)
    assert window.verdict(3, 0.0) == (False, "ended its iterations differently from Python")


def test_a_deoptimized_window_is_abandoned_not_failed():
    def giving_up(budget, total, a):
        raise Deoptimize("int64 add overflows")

    window = trial(giving_up)
    a = np.arange(10.0)
    run = window.run_window((4, 0.0, a), {})
    window.compare(run, SUSPENDED, 4, (6.0,), (4, 0.0, a), 1e-3)
    assert window.failure is None and window.abandoned == 1


def test_the_copies_of_a_state_keep_its_aliasing():
    a = np.arange(3.0)
    first, second, scalar = copy_state((a, a, 1.5))
    assert first is second and first is not a and scalar == 1.5


def test_what_a_promoted_run_pays_around_the_compiled_loop_counts_against_it():
    # Python's half took 1 ms each time; the compiled half costs 2 ms of entry overhead (as
    # the loop trampoline measures a short loop's run to be), so the variant is slower.
    window = trial()
    for _ in range(3):
        a = np.arange(10.0)
        run = window.run_window((4, 0.0, a), {}, overhead=2e-3)
        assert run.seconds >= 2e-3
        window.compare(run, SUSPENDED, 4, (python_window(4, 0.0, a),), (4, 0.0, a), 1e-3)
    promote, reason = window.verdict(3, 1.2)
    assert not promote and "below min_gain" in reason


def test_warm_up_times_a_one_iteration_run_as_the_fixed_cost():
    def slow_entry(budget, total, a):
        import time

        time.sleep(0.01)  # a compiled run's entry: converting a long list, say
        return summing(budget, total, a)

    window = trial(slow_entry)
    window.warm_up((1, 0.0, np.arange(10.0)))
    assert window.fixed_seconds >= 0.01


def test_one_long_window_that_reached_the_loops_end_decides():
    # Windows sized for a large fixed cost may cover the rest of the loop: one such window
    # compares a whole promoted run's remainder with Python's.
    window = trial()
    window.long_windows = True
    a = np.arange(10.0)
    run = window.run_window((4, 0.0, a), {})
    window.compare(run, SUSPENDED, 4, (python_window(4, 0.0, a),), (4, 0.0, a), 1e-3)
    assert window.verdict(3, 0.0) is None, "a window suspended at a boundary is not a whole run"

    def to_the_end(budget, total, a):
        result = summing(budget, total, a)
        return (ENDED, *result[1:])

    window = trial(to_the_end)
    window.long_windows = True
    run = window.run_window((4, 0.0, a), {})
    window.compare(run, ENDED, None, (python_window(4, 0.0, a),), (4, 0.0, a), 1e-3)
    assert window.whole_runs == 1
    assert window.verdict(3, 0.0) is not None
    window.long_windows = False
    assert window.verdict(3, 0.0) is None, "short windows need three"
