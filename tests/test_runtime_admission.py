"""autoaccel.runtime.admission: what is decided before compiling, without Numba."""

from __future__ import annotations

import numpy as np

from autoaccel.policy.cost import TIMED_CALLS, record_compile
from autoaccel.report.stats import function_stats, loop_stats
from autoaccel.runtime import admission as admission_module
from autoaccel.runtime import registry
from autoaccel.runtime import trampoline as trampoline_module
from autoaccel.runtime.registry import lookup
from autoaccel.state import STATE

SOURCE = """
def square(x):
    return x * x

def total(a):
    s = 0.0
    for i in range(a.shape[0]):
        s += a[i]
    return s
"""


def test_a_tiny_helper_called_from_plain_python_is_never_compiled(accelerated, monkeypatch):
    # A dispatch fixed at 100 us: square's ~60 ns cannot look that long, even under coverage
    # on a loaded machine (a 1 us dispatch was outrun there once in CI).
    monkeypatch.setattr(trampoline_module, "dispatch_seconds", lambda arity: 1e-4)
    mod = accelerated(SOURCE, min_calls=20, min_gain=1.2)
    assert [mod.square(3.0) for _ in range(40)] == [9.0] * 40
    trampoline = lookup(mod.square)
    ((signature, reason),) = trampoline.failures.values()
    assert signature == "(float64)"
    assert "too short for any compiled variant to be 1.2x faster" in reason
    assert trampoline.compiled is None and trampoline.promoter.compile_seconds == 0.0
    assert not trampoline.armed and mod.square.__code__ is trampoline.code


def test_the_last_calls_before_min_calls_are_timed_and_screened(accelerated):
    mod = accelerated(SOURCE, min_calls=20, min_gain=1.2)
    admission = lookup(mod.square).promoter.admission
    assert admission.screening_from() == 20 - TIMED_CALLS
    for _ in range(20 - TIMED_CALLS - 1):
        mod.square(2.0)
    assert admission.costs == {} and admission.screened == set()
    mod.square(2.0)
    assert admission.screened == {(float,)}
    assert len(admission.costs[(float,)].seconds) == 1


def test_a_signature_is_compiled_once_its_calls_took_min_seconds(accelerated):
    # 0.5 s: the first calls take a few ms even on a loaded machine (0.05 s was reached
    # there once, with the whole suite running beside it).
    mod = accelerated(SOURCE, min_calls=2, min_gain=1.2, min_seconds=0.5)
    a = np.ones(5_000)
    for _ in range(TIMED_CALLS + 2):  # the first untimed, the next judges
        assert mod.total(a) == 5_000.0
    trampoline = lookup(mod.total)
    assert trampoline.compiled is None, "a few ms of Python time: not compiled yet"
    needed = trampoline.promoter.admission.costs[(np.ndarray,)].needed
    assert needed > TIMED_CALLS + 2
    for _ in range(needed + 10):
        assert mod.total(a) == 5_000.0
    assert trampoline.promotions, "compiled and promoted once it had run 0.5 s"


def test_min_gain_zero_skips_the_cost_and_compiles_at_min_calls(accelerated):
    mod = accelerated(SOURCE, min_calls=2, min_gain=0.0)
    for _ in range(5):
        mod.square(2.0)
    trampoline = lookup(mod.square)
    assert trampoline.promotions and trampoline.promoter.admission.costs == {}


CALL_TREE = """
def poly(x):
    return ((((x * 1.5 + 2.5) * x - 3.5) * x + 4.5) * x - 5.5) * x + 6.5

def caller(x):
    return poly(x) + poly(x + 1.0) - poly(x - 1.0)

def total(a):
    s = 0.0
    for i in range(a.shape[0]):
        s += poly(a[i])
    return s
"""


def _no_floor(monkeypatch):
    # No call is too short and every variant fast enough (min_gain 0.01 below): what is
    # tested is who gets compiled, not the speed-up.
    monkeypatch.setattr(trampoline_module, "dispatch_seconds", lambda arity: 1e-9)


def test_a_hot_caller_is_promoted_with_its_helper_inlined(accelerated, monkeypatch):
    _no_floor(monkeypatch)
    mod = accelerated(CALL_TREE, min_calls=5, min_gain=0.01, min_seconds=0.0)
    plain: dict = {}
    exec(CALL_TREE, plain)  # the same functions, not accelerated
    expected = [plain["caller"](0.5 + i) for i in range(3)]
    results = [mod.caller(0.5 + i % 3) for i in range(30)]
    assert results == [expected[i % 3] for i in range(30)]
    caller, poly = lookup(mod.caller), lookup(mod.poly)
    assert caller.promotions, caller.failures
    assert poly.promoter.compile_seconds == 0.0 and not poly.promoter.trials, "never alone"
    assert not poly.failures
    assert poly.promoter.admission.caller_reason() == (
        f"runs compiled inside its caller {caller.name}"
    )


def test_a_helper_called_in_a_hot_loop_is_compiled_with_the_loop(accelerated, monkeypatch):
    _no_floor(monkeypatch)
    mod = accelerated(CALL_TREE, min_calls=5, min_gain=0.01, min_seconds=0.0)
    a = np.linspace(0.0, 1.0, 200_000)
    expected = 0.0
    for x in a:
        expected += ((((x * 1.5 + 2.5) * x - 3.5) * x + 4.5) * x - 5.5) * x + 6.5
    assert mod.total(a) == expected
    (loop,) = [t for t in registry.loop_registry() if t.name.startswith(mod.__name__ + ".total")]
    assert loop.promotions, loop.failures
    poly = lookup(mod.poly)
    assert poly.promoter.compile_seconds == 0.0, "compiled only inside the loop"
    assert f"its caller {loop.name}" in poly.promoter.admission.caller_reason()


def test_a_helper_whose_caller_cannot_be_compiled_is_tried_alone(accelerated, monkeypatch):
    _no_floor(monkeypatch)
    source = CALL_TREE + "\ndef boxed(box):\n    return poly(box['a']) + poly(box['b'])\n"
    mod = accelerated(source, min_calls=5, min_gain=0.01, min_seconds=0.0)
    for _ in range(30):
        assert mod.boxed({"a": 1.0, "b": 2.0}) == mod.poly(1.0) + mod.poly(2.0)
    poly = lookup(mod.poly)
    assert poly.promoter.admission.caller_reason() is None
    assert poly.compiled is not None, "a caller taking a dict cannot take it: compiled alone"


def test_after_a_compile_a_unit_waits_until_its_python_time_pays_for_one(accelerated):
    # The ski-rental rule (autoaccel/policy/cost.py): this process has seen a compile take
    # 0.5 s, so calls of ~0.3 ms stay plain until they add up to 0.5 s.
    record_compile(0.5)
    mod = accelerated(SOURCE, min_calls=2, min_gain=1.2, min_seconds=0.0, compile_payback=1.0)
    a = np.ones(5_000)
    for _ in range(30):
        assert mod.total(a) == 5_000.0
    trampoline = lookup(mod.total)
    assert trampoline.compiled is None
    cost = trampoline.promoter.admission.costs[(np.ndarray,)]
    assert cost.needed == cost.calls_for(0.5) > 30
    reason = function_stats(trampoline)["reason"]
    assert reason.endswith("(compile_payback 1 x 0.50 s expected compile)"), reason


def test_a_loop_waits_for_the_expected_compile_time_too(accelerated):
    record_compile(60.0)
    mod = accelerated(LOOP, min_calls=5, min_gain=1.2, loop_min_seconds=0.0, compile_payback=1.0)
    assert mod.run(200_000) == sum(i * 0.5 for i in range(200_000))
    (loop,) = STATE.loops
    assert not loop.promotions and not loop.trial.pending
    reason = loop_stats(loop)["reason"]
    assert reason.endswith("s in Python (compile_payback 1 x 60.00 s expected compile)"), reason


LOOP = """
def run(n):
    s = 0.0
    for i in range(n):
        s += i * 0.5
    return s
"""


NESTED_CALLER = """
import numpy as np

def sweep(a):
    s = 0.0
    for i in range(a.shape[0]):
        s += a[i] * 0.5
    return s

def run(a, temperatures, box):
    total = 0.0
    for t in temperatures:  # a few long iterations: it looks at its speed after 8
        for k in range(40):
            total += sweep(a) * box["scale"] * t  # a dict: this loop cannot be compiled
    return total

def few(a, n):
    total = 0.0
    for block in range(n):  # fewer iterations than before its first look
        total += sweep(a)
    return total
"""


def test_a_helper_waits_for_its_innermost_loop_and_is_compiled_alone_when_it_cannot(
    accelerated,
):
    # Waiting for the outer loop (as before) left sweep plain for the whole run.
    mod = accelerated(NESTED_CALLER, min_calls=5)
    a = np.ones(5_000)
    assert mod.run(a, [1.0, 2.0, 3.0], {"scale": 1.0}) == 6 * 40 * 2_500.0
    sweep = lookup(mod.sweep)
    assert sweep.compiled is not None, sweep.promoter.admission.caller_reason()


def test_a_helper_waits_for_its_caller_at_most_a_tenth_of_a_second(accelerated, monkeypatch):
    monkeypatch.setattr(admission_module, "_WAIT_SECONDS", 0.004)
    mod = accelerated(NESTED_CALLER, min_calls=3, min_seconds=0.001)
    a = np.ones(20_000)
    assert mod.few(a, 7) == 7 * 10_000.0
    sweep = lookup(mod.sweep)
    assert sweep.compiled is not None, sweep.promoter.admission.caller_reason()


def test_a_run_the_ledger_keeps_plain_compiles_nothing_new(accelerated, monkeypatch):
    # Where starting Numba did not pay (runtime/warm_start.py), a function or loop hot with
    # no decision yet is not compiled either: a promoted caller's helpers, hot in Python once
    # the caller is not loaded, compiled for seconds in such a run.
    refusal = "not loaded or compiled: the promotions ... (saved decision)"
    monkeypatch.setattr(STATE, "warm_start", (refusal,))
    mod = accelerated(SOURCE, min_calls=2, min_gain=0.0, loop_min_seconds=0.0)
    a = np.linspace(0.0, 1.0, 20000)
    assert [mod.square(3.0) for _ in range(10)] == [9.0] * 10
    assert mod.total(a) == mod.total(a)
    trampoline = lookup(mod.square)
    assert [f.reason for f in trampoline.failures.values()] == [refusal]
    assert trampoline.promoter.compile_seconds == 0.0
    (loop,) = [lp for lp in registry.loop_registry() if lp.module == mod.__name__]
    assert [f.reason for f in loop.failures.values()] == [refusal]
    assert loop.trial.compile_seconds == 0.0
