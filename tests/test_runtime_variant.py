"""autoaccel.runtime.variant: how a promoted call runs, and the signals that hand it back."""

from __future__ import annotations

import types

import numpy as np
import pytest

from autoaccel.backends.cpu import Guards
from autoaccel.boundary.convert import convert
from autoaccel.errors import RecursionBudget
from autoaccel.runtime import fastpath
from autoaccel.runtime.variant import (
    DEEP,
    MISS,
    NO_MATCH,
    STALE,
    Variant,
    conversion,
    numpy_errors_ignored,
    promoted_guard,
    time_as_promoted,
)

NO_GUARDS = Guards()


def _compiled(entry, guards: Guards = NO_GUARDS, snapshot: tuple = ()) -> types.SimpleNamespace:
    return types.SimpleNamespace(entry=entry, guards=guards, snapshot=snapshot, compiling=False)


def test_a_call_is_served_adapted_and_counted():
    variant = Variant(_compiled(lambda x: x * 2.0))
    assert variant.accepts(float, np.float64)
    before = variant.last
    result = variant.run((1.5,))
    assert result == 3.0 and type(result) is np.float64
    assert variant.uses == 1 and variant.last > before


def test_adapters_are_shared_and_must_agree():
    first = Variant(_compiled(lambda x: x))
    sibling = Variant(first.compiled, first.adapters)
    assert first.accepts(float, None)
    assert sibling.accepts(float, None) and not sibling.accepts(float, np.float64)


def test_nothing_runs_while_the_entry_accepts_a_new_signature():
    compiled = _compiled(lambda x: pytest.fail("ran"))
    compiled.compiling = True
    assert Variant(compiled).run((1.0,)) is MISS


def test_a_changed_frozen_global_makes_the_call_stale():
    namespace = {"SCALE": 2.0}
    variant = Variant(_compiled(lambda x: x, snapshot=((namespace, "SCALE", 2.0),)))
    assert variant.run((1.0,)) == 1.0
    namespace["SCALE"] = 3.0
    assert variant.run((1.0,)) is STALE


def test_numpy_error_handling_that_numba_ignores_hands_the_call_back():
    variant = Variant(_compiled(lambda x: x))
    with np.errstate(divide="raise"):
        assert not numpy_errors_ignored()
        assert variant.run((1.0,)) is MISS
    with np.errstate(all="ignore"):
        assert numpy_errors_ignored() and variant.run((1.0,)) == 1.0


@pytest.mark.parametrize(("error", "signal"), [(TypeError, NO_MATCH), (ZeroDivisionError, MISS)])
def test_a_raising_variant_hands_the_call_back_with_written_arguments_restored(error, signal):
    def entry(a, b):
        a[0] = 99.0
        raise error("no")

    variant = Variant(_compiled(entry, Guards(written=(0,), copied=(0,))))
    a, b = np.zeros(2), np.zeros(2)
    assert variant.run((a, b)) is signal
    np.testing.assert_array_equal(a, [0.0, 0.0])
    assert variant.uses == 0


def test_a_result_cpython_could_return_with_another_type_goes_to_the_original():
    # ``return 0`` on one path, a float on the other: Numba returns 0.0 for both.
    guards = Guards(ambiguous_constants=(0,), unambiguous=int)
    variant = Variant(_compiled(lambda x: float(x), guards))
    assert variant.run((2,)) == 2.0
    assert variant.run((0,)) is MISS
    arguments = Guards(ambiguous_arguments=(1,))
    passthrough = Variant(_compiled(lambda x, y: float(y), arguments))
    assert passthrough.run((1.0, 3)) is MISS  # might be y itself, an int in CPython
    assert passthrough.run((1.0, 3.5)) == 3.5


def test_signals_name_themselves():
    assert repr(MISS) == "<autoaccel MISS>" and MISS is not NO_MATCH is not STALE


def test_a_recursion_past_its_budget_or_from_too_deep_a_caller_is_handed_back_deep():
    def entry(a):
        a[0] = 5.0
        raise RecursionBudget("recursion deeper than its compiled budget")

    compiled = _compiled(entry, Guards(written=(0,), copied=(0,)))
    compiled.max_frames = 10_000
    a = np.zeros(2)
    assert Variant(compiled).run((a,)) is DEEP
    assert a[0] == 0.0  # the partial write is undone
    shallow = _compiled(lambda x: x)
    shallow.max_frames = 0  # any caller is too deep
    assert Variant(shallow).run((1.0,)) is DEEP
    shallow.max_frames = 10_000
    assert Variant(shallow).run((1.0,)) == 1.0


def test_a_trial_times_the_frozen_globals_check_its_promoted_call_will_run():
    namespace = {"SCALE": 2.0, "OFFSET": 1.0}
    helper = types.SimpleNamespace(__code__=test_a_call_is_served_adapted_and_counted.__code__)
    snapshot = ((namespace, "SCALE", 2.0), (namespace, "OFFSET", 1.0))
    dicts_only = _compiled(None, snapshot=snapshot)
    with_code = _compiled(None, snapshot=(*snapshot, (helper, "__code__", helper.__code__)))
    written = _compiled(None, Guards(written=(0,), copied=(0,)), snapshot)
    for compiled in (dicts_only, with_code, written):  # CPU code: an overload's entry point
        compiled.entry_point = lambda args: None
    watched = fastpath.NATIVE is not None and fastpath.NATIVE.globals_watch() != "lookups"
    # Served in C, a dict's entries are looked up again only after a write to the dict.
    assert (promoted_guard(dicts_only, converting=False) is None) is watched
    for compiled in (dicts_only, with_code, written):
        for converting in (False, True):
            guard = promoted_guard(compiled, converting)
            assert guard is not None or (compiled is dicts_only and not converting and watched)
            assert guard is None or guard() is False
    namespace["SCALE"] = 3.0  # what the check looks at, it sees change
    assert promoted_guard(written, converting=False)() is True
    assert promoted_guard(with_code, converting=True)() is True


def test_a_trial_times_the_conversion_its_promoted_calls_will_run():
    # Promoted calls that write no argument and cannot recurse convert their lists in C
    # (a converting route); the trial's variant half converts the same way, so it times that.
    reading = _compiled(None)
    writing = _compiled(None, Guards(written=(0,), copied=(0,)))
    recursive = _compiled(None)
    recursive.max_frames = 100
    for compiled in (reading, writing, recursive):
        compiled.entry_point = lambda args: None
    trial = types.SimpleNamespace()
    time_as_promoted(trial, reading, converting=True)
    assert (trial.convert is not convert) is (fastpath.NATIVE is not None)
    u = [1.0, 2.0]
    convert(((3, u),))  # the walk makes the tuple's class first, as a trial's first call does
    (converted,) = trial.convert(((3, u),), ())
    assert converted[0] == 3 and converted[1].source is u and converted[1].kind.dtype[1:] == "f8"
    assert conversion(writing) is convert and conversion(recursive) is convert


def test_an_item_of_a_tuple_result_cpython_could_return_with_another_type_goes_to_the_original():
    guards = Guards(ambiguous_constants=(0.0,))
    variant = Variant(_compiled(lambda: (np.float64(2.0), (np.float64(0.0), 1)), guards))
    assert variant.run(()) is MISS  # CPython returns the constant 0.0, a float, on some paths
    variant = Variant(_compiled(lambda: (np.float64(2.0), (np.float64(0.5), 1)), guards))
    assert variant.run(()) == (2.0, (0.5, 1))
    # A value of a narrower kind than the constant cannot be it: Numba gives a variable the
    # float 0.0 may reach a float type, so a count of 0 beside it is not ambiguous...
    variant = Variant(_compiled(lambda: (np.float64(2.0), 0, False), guards))
    assert variant.run(()) == (2.0, 0, False)
    # ...while an int constant can reach a float variable (`s = 0`, then `s += x`).
    widened = Guards(ambiguous_constants=(0,))
    assert Variant(_compiled(lambda: (np.float64(0.0), 1), widened)).run(()) is MISS
