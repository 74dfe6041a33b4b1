"""autoaccel.state: one object holds every per-process table, and reset() empties all of them."""

from __future__ import annotations

import threading

from autoaccel.state import STATE, ProcessState


def _filled() -> ProcessState:
    state = ProcessState()
    state.trampolines.append("t")
    state.by_id[1] = "t"
    state.by_code[2] = "t"
    state.cache_dirs["/c"] = None
    state.decision_stores[("/c", "m", "m.py")] = "store"
    state.variant_table = "table"
    state.decorated[("code", "key")] = ("globals", "code")
    state.reports_scheduled.add((True, None))
    state.numba_start_seconds = 0.5
    state.warm_start = ("not loaded",)
    return state


def test_reset_forgets_every_table():
    # Compared with a new ProcessState, so a field added to __init__ is covered too.
    state = _filled()
    old = dict(vars(state))
    state.reset()
    fresh = vars(ProcessState())
    assert set(vars(state)) == set(fresh)
    for name, value in vars(state).items():
        if name == "lock":
            continue
        assert value == fresh[name], name
        assert value is not old[name] or value is None, f"{name} kept its old container"


def test_the_lock_can_be_taken_again_by_the_same_thread():
    # The registries are filled from code that already holds it (an import inside an import).
    state = ProcessState()
    with state.lock, state.lock:
        assert isinstance(state.lock, type(threading.RLock()))


def test_the_process_state_is_one_object():
    from autoaccel import state as module

    assert module.STATE is STATE
    assert isinstance(STATE, ProcessState)
