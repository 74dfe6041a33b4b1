"""autoaccel.api.optimize: ``@optimize`` on functions, methods, closures and rewritten modules."""

from __future__ import annotations

import inspect
import json
import textwrap

import numpy as np
import pytest
from conftest import run_python

import autoaccel
from autoaccel import ConfigError, optimize
from autoaccel.api.optimize import DISABLED, ExplicitTrampoline
from autoaccel.runtime.registry import lookup, registry
from autoaccel.runtime.table import variant_table

KERNELS = """
import numpy as np
from autoaccel import optimize


@optimize(min_calls=2, min_gain=0.0)
def total(a, scale=1.0):
    "Sum of a, times scale."
    s = 0.0
    for i in range(a.shape[0]):
        s += a[i] * scale
    return s


@optimize
def plain_default(a):
    return a[0]


def undecorated(x):
    return x + 1.0


@optimize(min_calls=1, min_gain=0.0)
def calls_undecorated(a):
    return undecorated(a[0])


@optimize(min_calls=1, min_gain=0.0)
def helper(x):
    return x * 2.0


@optimize(min_calls=1, min_gain=0.0)
def calls_helper(a):
    s = 0.0
    for i in range(a.shape[0]):
        s += helper(a[i])
    return s


def make_closure(k):
    @optimize(min_calls=1, min_gain=0.0)
    def scaled(x):
        return x * k

    return scaled


def make_nested(x):
    @optimize(min_calls=3, min_gain=0.0)
    def doubled(y):
        return y * 2.0

    return doubled(x)


@optimize(min_calls=2, min_gain=0.0, specialize=True)
def signed(x, mode):
    s = 0.0
    for i in range(x.shape[0]):
        if mode == "neg":
            s -= x[i]
        else:
            s += x[i]
    return s


class Holder:
    @optimize(min_calls=1, min_gain=0.0)
    def method(self, a):
        return a[0]

    @staticmethod
    @optimize(min_calls=1, min_gain=0.0)
    def static(a):
        return a[0] + 1.0

    @optimize(min_calls=1, min_gain=0.0)
    @staticmethod
    def static_below(a):
        return a[0] + 2.0
"""

A = np.linspace(0.0, 1.0, 500)


def _entry(mod, qualname):
    name = f"{mod.__name__}.{qualname}"
    return next(f for f in autoaccel.stats()["functions"] if f["name"] == name)


def test_a_decorated_hot_loop_is_promoted_and_answers_as_the_plain_function(decorated):
    mod = decorated()
    results = [mod.total(A, 2.0) for _ in range(6)]
    assert results == [mod.total.__wrapped__(A, 2.0)] * 6
    assert type(results[-1]) is np.float64
    trampoline = lookup(mod.total)
    assert isinstance(trampoline, ExplicitTrampoline) and trampoline.promotions
    assert _entry(mod, "total")["state"] == "promoted"


def test_the_decorated_function_keeps_its_metadata(decorated):
    mod = decorated()
    original = mod.total.__wrapped__
    assert mod.total is not original
    for attribute in ("__name__", "__qualname__", "__module__", "__defaults__", "__kwdefaults__"):
        assert getattr(mod.total, attribute) == getattr(original, attribute)
    assert mod.total.__doc__ == "Sum of a, times scale."
    assert inspect.signature(mod.total) == inspect.signature(original)
    mod.total.__defaults__ = (3.0,)  # a changed default is honoured, as by the hook
    assert mod.total(A) == original(A, 3.0)


def test_the_bare_decorator_uses_the_discovered_configuration(decorated, tmp_path):
    (tmp_path / "python_optimizer.toml").write_text(
        'min_calls = 3\n[specialization]\nmax_variants = 4\npolicy = "lfu"\n'
    )
    mod = decorated()
    assert lookup(mod.plain_default).min_calls == 3
    assert lookup(mod.total).min_calls == 2, "a keyword wins over the file"
    assert (variant_table().options.max_variants, variant_table().options.policy) == (4, "lfu")


def test_keywords_reach_the_functions_configuration(decorated, tmp_path):
    mod = decorated()
    (tmp_path / "python_optimizer.toml").write_text(
        f'[functions."{mod.__name__}.undecorated"]\nmin_calls = 50\nmin_gain = 9.0\n'
    )
    f = optimize(
        mod.undecorated,
        fastmath=True,
        nogil=True,
        target=["cpu", "parallel"],
        rtol=1e-9,
        cache=False,
        min_calls=7,
        min_gain=2.5,
        specialize=True,
    )
    trampoline = lookup(f)
    config = trampoline.config
    assert config.jit.fastmath and config.jit.nogil and not config.jit.parallel
    assert config.targets == ("cpu", "parallel") and config.rtol == 1e-9 and not config.cache
    assert (trampoline.min_calls, trampoline.min_gain) == (7, 2.5)
    assert config.override(f"{mod.__name__}.undecorated").specialize is True
    assert lookup(optimize(mod.undecorated, target="parallel")).config.targets == ("parallel",)


def test_specialize_true_builds_value_specialized_variants(decorated):
    mod = decorated()
    for _ in range(6):
        for mode in ("neg", "pos"):
            assert mod.signed(A, mode) == mod.signed.__wrapped__(A, mode)
    stats = autoaccel.get_specialization_stats(mod.signed)
    assert "takes a str argument" in stats["reason"], "no generic variant: a str argument"
    states = {s["name"].split("[")[1]: s["state"] for s in stats["specializations"]}
    assert states == {"mode='neg']": "promoted", "mode='pos']": "promoted"}


def test_jit_false_never_compiles(decorated):
    mod = decorated()
    f = optimize(jit=False, min_calls=1)(mod.undecorated)
    assert f is mod.undecorated, "a function never to be compiled comes back as it is"
    assert [f(1.0) for _ in range(5)] == [2.0] * 5
    trampoline = lookup(f)
    assert trampoline.refusal == DISABLED and trampoline.compiled is None
    assert _entry(mod, "undecorated")["reason"] == DISABLED


def test_a_closure_stays_plain_with_the_reason_in_the_report(decorated):
    mod = decorated()
    scaled = mod.make_closure(3.0)
    assert scaled.__code__ is mod.make_closure(3.0).__code__
    assert [scaled(2.0) for _ in range(4)] == [6.0] * 4
    entry = _entry(mod, "make_closure.<locals>.scaled")
    assert entry["state"] == "rejected" and "is a closure over k" in entry["reason"]


def test_globals_the_module_reassigns_are_refused_as_by_the_hook(decorated):
    mod = decorated(
        "from autoaccel import optimize\nSCALE = 2.0\n\n"
        "@optimize(min_calls=1, min_gain=0.0)\ndef scaled(x):\n    return x * SCALE\n"
        "def rescale(v):\n    global SCALE\n    SCALE = v\n"
    )
    assert [mod.scaled(3.0) for _ in range(3)] == [6.0] * 3
    assert "reads global SCALE, which the module reassigns" in _entry(mod, "scaled")["reason"]


def test_a_nested_function_shares_one_trampoline(decorated):
    mod = decorated()
    before = len(registry())
    assert [mod.make_nested(float(i)) for i in range(5)] == [2.0 * i for i in range(5)]
    assert len(registry()) == before + 1
    assert _entry(mod, "make_nested.<locals>.doubled")["calls"] == 5


def test_helpers_compile_when_decorated_and_are_named_when_not(decorated):
    mod = decorated()
    assert [mod.calls_helper(A) for _ in range(4)] == [mod.calls_helper.__wrapped__(A)] * 4
    assert lookup(mod.calls_helper).promotions
    assert [mod.calls_undecorated(A) for _ in range(3)] == [1.0] * 3
    reason = _entry(mod, "calls_undecorated")["reason"]
    assert "calls undecorated, a Python function outside the accelerated modules" in reason


def test_methods_and_static_methods_are_accelerated(decorated):
    mod = decorated()
    holder = mod.Holder()
    assert [holder.method(A) for _ in range(3)] == [0.0] * 3
    assert lookup(mod.Holder.method).promotions, "self converts (docs/boundary.md, Objects)"
    assert [mod.Holder.static(A) for _ in range(4)] == [1.0] * 4
    assert lookup(mod.Holder.static).promotions
    assert [mod.Holder().static_below(A) for _ in range(4)] == [2.0] * 4
    assert lookup(mod.Holder.static_below).promotions


def test_decorating_again_applies_the_keywords_without_wrapping_twice(decorated):
    mod = decorated()
    once = mod.total
    assert optimize(once) is once
    assert optimize(once, min_calls=9) is once and lookup(once).min_calls == 9
    once(A)
    with pytest.warns(UserWarning, match="has counted calls already"):
        assert optimize(once, min_calls=4) is once
    assert lookup(once).min_calls == 9
    assert optimize(min_calls=2, min_gain=0.0)(once.__wrapped__).__code__ is once.__code__


HOOKED = """
from autoaccel import optimize

@optimize
def total(a):
    return a[0]

@optimize(jit=False)
def off(a):
    return a[0]

@optimize(min_calls=7, fastmath=True, profile=False)
def tuned(a):
    return a[0]

again = optimize(total)
"""


def test_a_function_the_hook_rewrote_keeps_its_trampoline_and_takes_the_keywords(accelerated):
    mod = accelerated(HOOKED, min_calls=1)
    assert mod.again is mod.total
    assert not isinstance(lookup(mod.total), ExplicitTrampoline), "the hook's trampoline"
    off, tuned = lookup(mod.off), lookup(mod.tuned)
    assert [mod.off(A) for _ in range(3)] == [0.0] * 3
    assert off.refusal == DISABLED and not off.armed and off.compiled is None
    assert (tuned.min_calls, tuned.config.jit.fastmath, tuned.reported) == (7, True, False)
    assert lookup(mod.total).min_calls == 1, "the hook's configuration otherwise"


@pytest.mark.parametrize(
    ("keywords", "error", "message"),
    [
        ({"fast_math": True}, TypeError, "unknown keyword 'fast_math' \\(did you mean 'fastmath'"),
        ({"min_calls": 0}, ConfigError, "keyword 'min_calls' must be >= 1, got 0"),
        ({"jit": "yes"}, ConfigError, "keyword 'jit' must be bool"),
        ({"fastmath": 1}, ConfigError, "keyword 'fastmath' must be bool"),
        ({"target": "gpu"}, ConfigError, "keyword 'target' has 'gpu', which is not one of"),
        ({"profile": None}, ConfigError, "keyword 'profile' must be bool"),
    ],
)
def test_bad_keywords_raise_naming_the_keyword(keywords, error, message):
    with pytest.raises(error, match=message):
        optimize(**keywords)


def test_only_functions_can_be_decorated():
    with pytest.raises(TypeError, match="decorates functions defined with def, not int"):
        optimize(5)


def test_profile_false_leaves_it_out_of_the_report(decorated):
    mod = decorated()
    hidden = optimize(mod.undecorated, profile=False, min_calls=1, min_gain=0.0)
    assert [hidden(1.0) for _ in range(4)] == [2.0] * 4
    assert lookup(hidden).promotions
    names = [f["name"] for f in autoaccel.stats()["functions"]]
    assert f"{mod.__name__}.undecorated" not in names
    assert autoaccel.get_specialization_stats(hidden)["state"] == "promoted"


@pytest.mark.slow
def test_a_program_without_the_hook_reports_its_decorated_functions_at_exit(tmp_path):
    (tmp_path / "app.py").write_text(
        textwrap.dedent(
            """
            import numpy as np
            from autoaccel import optimize

            @optimize(min_calls=2, min_gain=0.0)
            def total(a):
                s = 0.0
                for i in range(a.shape[0]):
                    s += a[i]
                return s

            print(sum(total(np.arange(100.0)) for _ in range(5)))
            """
        )
    )
    (tmp_path / "python_optimizer.toml").write_text('report_json = "report.json"\n')
    result = run_python("app.py", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(5 * np.arange(100.0).sum())
    (entry,) = json.loads((tmp_path / "report.json").read_text())["functions"]
    assert (entry["name"], entry["state"]) == ("__main__.total", "promoted")
