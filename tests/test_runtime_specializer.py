"""autoaccel.runtime.specializer: routers that send calls by argument value to their variants."""

from __future__ import annotations

import types

import numpy as np
import pytest

from autoaccel.config import FunctionOverride, SpecializationOptions
from autoaccel.runtime.registry import lookup, registry
from autoaccel.runtime.specializer import Router
from autoaccel.runtime.variant import NO_MATCH

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


OBJECT_ARGUMENT = """
class Grid:  # __getattr__: the boundary refuses its objects
    def __init__(self, data):
        self.data = data

    def __getattr__(self, name):
        raise AttributeError(name)

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


# The Router on its own -----------------------------------------------------------------------


class _Sub:
    """A specialized trampoline: answers with the arguments it got, while armed."""

    def __init__(self, key) -> None:
        self.key = key
        self.armed = True

    def enter(self, *args):
        return ("sub", self.key, args)


def _router(max_values: int = 2, min_calls: int = 2):
    made = []

    def make(key):
        made.append(key)
        return _Sub(key)

    return Router((1,), 3, make, max_values, min_calls), made


def test_a_value_gets_its_trampoline_after_min_calls_calls():
    router, made = _router()
    assert router.sub_for((1.0, "EMA", 2)) is None  # counted once
    sub = router.sub_for((1.0, "EMA", 2))
    assert made == [((str, "EMA"),)] and sub.key == ((str, "EMA"),)
    assert router.run((1.0, "EMA", 2)) == ("sub", ((str, "EMA"),), (1.0, 2))  # frozen arg dropped


def test_values_beyond_max_values_and_disarmed_subs_go_to_the_generic_variant():
    router, made = _router(max_values=1, min_calls=1)
    router.generic = types.SimpleNamespace(run=lambda args: ("generic", args), compiled="c")
    assert router.run((1.0, "EMA", 2))[0] == "sub"
    assert router.run((1.0, "SMA", 2)) == ("generic", (1.0, "SMA", 2))  # no slot left
    router.subs[((str, "EMA"),)].armed = False
    assert router.run((1.0, "EMA", 2))[0] == "generic"
    assert made == [((str, "EMA"),)] and router.compiled == "c"


def test_without_a_generic_variant_an_unserved_call_is_no_match():
    router, _ = _router(min_calls=5)
    assert router.run((1.0, "EMA", 2)) is NO_MATCH
    assert router.sub_for((1.0, ("a", [1]), 2)) is None  # unhashable: not counted


def test_a_router_is_exhausted_once_every_value_seen_had_its_try():
    router, _ = _router(max_values=3, min_calls=1)
    router.sub_for((1.0, "EMA", 2))
    assert not router.exhausted()  # EMA's trampoline is armed
    router.subs[((str, "EMA"),)].armed = False
    assert router.exhausted()  # every value seen has had its try
    router.counts[((str, "SMA"),)] = 0  # a value counted but without its try yet
    assert not router.exhausted()
