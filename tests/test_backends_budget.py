"""autoaccel.backends.budget: a compile over its budget is given up between compiler passes."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from autoaccel.backends import budget
from autoaccel.runtime.registry import lookup

KERNEL = """
def total(a):
    s = 0.0
    for i in range(a.shape[0]):
        s += a[i] * 2.0
    return s
"""


def _spin(seconds: float) -> None:
    end = time.thread_time() + seconds
    while time.thread_time() < end:
        pass


def test_a_limit_gives_up_once_its_cpu_time_is_spent():
    with budget.limit(0.01) as limit:
        limit.check()  # within the budget
        _spin(0.02)
        with pytest.raises(budget.GiveUp):
            limit.check()
        assert budget.given_up() == (
            "its compile took over 0.01 s and was given up (compile_budget)"
        )
    assert budget.given_up() is None, "no limit in force outside the block"


def test_no_limit_never_gives_up():
    with budget.limit(0.0) as limit:
        _spin(0.01)
        limit.check()
    assert limit.given_up is None


def test_stop_all_gives_up_compiles_in_progress(monkeypatch):
    monkeypatch.setattr(budget, "_STOPPED", threading.Event())
    with budget.limit(100.0) as limit:
        budget.stop_all()
        with pytest.raises(budget.GiveUp, match="program exited"):
            limit.check()
    assert limit.reason() == budget.STOPPED_AT_EXIT


def test_a_compile_over_its_budget_is_rejected_reported_and_kept(accelerated):
    mod = accelerated(KERNEL, compile_budget=1e-6)
    a = np.ones(10)
    assert [mod.total(a) for _ in range(3)] == [20.0] * 3
    trampoline = lookup(mod.total)
    ((_, reason),) = trampoline.failures.values()
    assert reason == "its compile took over 1e-06 s and was given up (compile_budget)"
    assert not trampoline.promotions and not trampoline.armed
    # Kept by source: a later run rejects it again before compiling.
    saved = trampoline.promoter.saved
    assert saved.refused_before(saved.by_source((np.ndarray,), (a,))) == reason + (
        " (saved decision)"
    )


def test_within_its_budget_a_compile_is_untouched(accelerated):
    mod = accelerated(KERNEL, compile_budget=60.0)
    a = np.ones(10)
    assert [mod.total(a) for _ in range(4)] == [20.0] * 4
    assert lookup(mod.total).promotions
