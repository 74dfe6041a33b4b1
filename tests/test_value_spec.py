"""Value specialization: frozen arguments, guards on the value, gains over the generic variant."""

from __future__ import annotations

import numpy as np
import pytest

from autoaccel.analysis.values import Refused, ValueStats, specialized_code, value_key
from autoaccel.cache.keys import code_digest
from autoaccel.config import FunctionOverride, SpecializationOptions
from autoaccel.runtime.registry import lookup, registry

SIGNAL = """
import numpy as np

def signal(x, mode):
    n = x.shape[0]
    out = np.empty(n)
    if mode == "EMA":
        acc = x[0]
        for i in range(n):
            acc = 0.1 * x[i] + 0.9 * acc
            out[i] = acc
    elif mode == "LSMA":
        # np.polyfit has no Numba implementation: only a variant without this branch compiles
        out[:] = np.polyfit(np.arange(n), x, 1)[0]
    else:
        for i in range(n):
            out[i] = x[i] * 2.0
    return out
"""

ON = SpecializationOptions(values=True)

FLAG = """
def scaled(x, flag):
    s = 0.0
    for i in range(x.shape[0]):
        if flag == 1:
            s += x[i]
        else:
            s -= x[i]
    return s
"""


def _subs(trampoline):
    return {
        t.name.split("[", 1)[1]: t for t in registry() if t.name.startswith(trampoline.name + "[")
    }


def test_a_function_compiles_only_when_specialized_on_its_str_argument(accelerated):
    mod = accelerated(SIGNAL, min_calls=3, specialization=ON)
    x = np.linspace(0.0, 1.0, 64)
    for _ in range(8):
        for mode in ("EMA", "LSMA", "COPY"):
            np.testing.assert_array_equal(mod.signal(x, mode), _plain(mode, x))
    trampoline = lookup(mod.signal)
    assert "takes a str argument" in next(iter(trampoline.failures.values()))[1]
    subs = _subs(trampoline)
    assert set(subs) == {"mode='EMA']", "mode='LSMA']", "mode='COPY']"}
    assert subs["mode='EMA']"].promotions and subs["mode='COPY']"].promotions
    assert not subs["mode='LSMA']"].promotions
    assert "polyfit" in next(iter(subs["mode='LSMA']"].failures.values()))[1]
    assert trampoline.armed, "the router keeps the function armed"


def _plain(mode, x):
    namespace: dict = {}
    exec(SIGNAL, namespace)
    return namespace["signal"](x, mode)


def test_dispatch_is_guarded_on_type_and_value(accelerated):
    # min_gain 1e9 over the generic variant: no specialization can be promoted, so every call
    # must come from the generic variant or the original, whatever the value
    mod = accelerated(
        FLAG, min_calls=2, specialization=SpecializationOptions(values=True, min_gain=1e9)
    )
    x = np.arange(20.0)
    for _ in range(6):
        assert mod.scaled(x, 1) == x.sum()
        assert mod.scaled(x, True) == x.sum()
        assert mod.scaled(x, 0) == -x.sum()
    trampoline = lookup(mod.scaled)
    subs = _subs(trampoline)
    assert {"flag=1]", "flag=True]", "flag=0]"} <= set(subs), "1 and True are different keys"
    assert trampoline.promotions, "the generic variant is promoted"
    assert all(not sub.promotions for sub in subs.values())
    reasons = [r for sub in subs.values() for _, r in sub.failures.values()]
    assert reasons and all("below min_gain" in r for r in reasons)


def test_a_specialized_variant_serves_its_value_and_only_it(accelerated):
    mod = accelerated(
        FLAG, min_calls=2, specialization=SpecializationOptions(values=True, min_gain=0.0)
    )
    x = np.arange(20.0)
    for _ in range(6):
        assert mod.scaled(x, 1) == x.sum()
        assert mod.scaled(x, 0) == -x.sum()
    subs = _subs(lookup(mod.scaled))
    one, zero = subs["flag=1]"], subs["flag=0]"]
    assert one.promotions and zero.promotions
    before = {name: sum(v.uses for v in sub._exact.values()) for name, sub in subs.items()}
    assert mod.scaled(x, 1) == x.sum()
    assert mod.scaled(x, 7) == -x.sum()  # no variant of its own: generic variant or original
    after = {name: sum(v.uses for v in sub._exact.values()) for name, sub in subs.items()}
    assert after["flag=1]"] == before["flag=1]"] + 1
    assert after["flag=0]"] == before["flag=0]"]


@pytest.mark.parametrize("specialize", [True, False, None])
def test_a_function_turns_value_specialization_on_or_off_for_itself(accelerated, specialize):
    # [specialization] values is off unless the function's own setting turns it on
    override = {"aa_own_values.scaled": FunctionOverride(specialize=specialize)}
    mod = accelerated(FLAG, name="aa_own_values", min_calls=2, functions=override)
    x = np.arange(20.0)
    for _ in range(6):
        assert mod.scaled(x, 1) == x.sum()
    trampoline = lookup(mod.scaled)
    subs = [t for t in registry() if getattr(t, "parent", None) is trampoline]
    assert bool(subs) is (specialize is True)


def test_specialized_code_freezes_folds_and_renames():
    namespace: dict = {}
    exec(SIGNAL, namespace)
    code = namespace["signal"].__code__
    key = ((str, "EMA"),)
    frozen = specialized_code(code, (1,), key)
    assert frozen.co_argcount == 1 and frozen.co_varnames[0] == "x"
    assert frozen.co_qualname == "signal[mode='EMA']"
    assert "EMA" not in frozen.co_varnames and "mode" not in frozen.co_varnames
    assert code_digest(frozen) != code_digest(specialized_code(code, (1,), ((str, "COPY"),)))
    import types

    function = types.FunctionType(frozen, namespace)
    x = np.arange(5.0)
    np.testing.assert_array_equal(function(x), namespace["signal"](x, "EMA"))


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("def f(x, mode):\n    mode = mode + 'x'\n    return x\n", "assigns or deletes"),
        ("def f(x, mode):\n    g = lambda: mode\n    return x\n", "nested function"),
        ("def f(x, mode):\n    return x if mode is x else -x\n", "identities"),
    ],
)
def test_code_that_cannot_be_specialized_says_why(source, message):
    namespace: dict = {}
    exec(compile(source, "<test>", "exec"), namespace)
    with pytest.raises(Refused, match=message):
        specialized_code(namespace["f"].__code__, (1,), ((str, "a"),))


def test_value_stats_plan_only_few_valued_arguments():
    namespace: dict = {}
    exec(FLAG, namespace)
    stats = ValueStats(namespace["scaled"].__code__, (np.ndarray, int))
    for i in range(10):
        stats.record((None, i % 2))
    assert stats.plan(threshold=0.8, max_values=8) == (1,)
    many = ValueStats(namespace["scaled"].__code__, (np.ndarray, int))
    for i in range(40):
        many.record((None, i))
    assert many.plan(threshold=0.8, max_values=8) == ()
    assert value_key((1, True, "a"), (1, 2)) == ((bool, True), (str, "a"))
    assert value_key((1, [1]), (1,)) is None


OBJECT_ARGUMENT = """
class Grid:
    def __init__(self, data):
        self.data = data

def cell(grid, at):
    return grid.data[at[0]][at[1]]
"""


def test_no_router_when_freezing_values_cannot_cure_the_refusal(accelerated):
    # The tuple argument would be specialized, but the Grid argument stays in every variant.
    mod = accelerated(OBJECT_ARGUMENT, min_calls=3, specialization=ON)
    grid = mod.Grid([[1.0, 2.0], [3.0, 4.0]])
    answers = [mod.cell(grid, (i % 2, 1)) for i in range(20)]
    assert answers == [grid.data[i % 2][1] for i in range(20)]
    trampoline = lookup(mod.cell)
    assert "takes a Grid argument" in trampoline.specializer.refusal
    assert not _subs(trampoline)
    assert not trampoline.armed


UNTYPABLE = """
import numpy as np

def fit(x, mode):
    # np.polyfit has no Numba implementation, whichever mode is frozen
    if mode == "a":
        return np.polyfit(np.arange(x.shape[0]), x, 1)[0]
    return np.polyfit(np.arange(x.shape[0]), x, 2)[0]
"""


def test_a_router_whose_every_specialization_failed_steps_aside(accelerated):
    options = SpecializationOptions(values=True, max_values=2, min_calls=2)
    mod = accelerated(UNTYPABLE, min_calls=3, specialization=options)
    x = np.linspace(0.0, 1.0, 16)
    for _ in range(6):
        for mode in ("a", "b"):
            expected = np.polyfit(np.arange(16), x, 1 if mode == "a" else 2)[0]
            assert mod.fit(x, mode) == expected
    trampoline = lookup(mod.fit)
    subs = _subs(trampoline)
    assert len(subs) == 2 and not any(sub.armed for sub in subs.values())
    assert not trampoline.specializer.routers
    assert not trampoline.armed


ASSIGNS = """
def shifted(x, mode):
    mode = mode.upper()
    return x + 1.0 if mode == "A" else x - 1.0
"""


def test_code_that_cannot_be_specialized_drops_its_router_at_once(accelerated):
    mod = accelerated(ASSIGNS, min_calls=2, specialization=ON)
    for _ in range(10):
        assert mod.shifted(1.0, "a") == 2.0
    trampoline = lookup(mod.shifted)
    assert "assigns or deletes" in trampoline.specializer.refusal
    assert not trampoline.specializer.routers
    assert not trampoline.armed


def test_a_router_steps_aside_once_every_value_seen_has_failed(accelerated):
    # Two flag values, eight slots: both specializations lose to the generic variant
    # (min_gain 1e9), after which the calls go straight to the generic variant.
    options = SpecializationOptions(values=True, min_calls=2, min_gain=1e9)
    mod = accelerated(FLAG, min_calls=3, specialization=options)
    x = np.arange(8.0)
    for _ in range(10):
        assert mod.scaled(x, 1) == x.sum()
        assert mod.scaled(x, 0) == -x.sum()
    trampoline = lookup(mod.scaled)
    assert set(_subs(trampoline)) == {"flag=1]", "flag=0]"}
    assert not trampoline.specializer.routers
    assert trampoline.promotions, "the generic variant still serves the calls"
