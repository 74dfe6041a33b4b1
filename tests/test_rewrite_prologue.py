"""autoaccel.rewrite.prologue: prologues reach every function, and functions stay themselves."""

from __future__ import annotations

import inspect
import types

import numpy as np
import pytest

from autoaccel.rewrite.module import BindError, Rewritten, bind, rewrite_module
from autoaccel.rewrite.prologue import TRAMPOLINE_MARK, insert_prologue
from autoaccel.runtime.registry import lookup, registry
from autoaccel.runtime.trampoline import Trampoline
from autoaccel.runtime.variant import MISS

SOURCE = '''
import functools
import numpy as np

REGISTRY = {}

def register(fn):
    REGISTRY[fn.__name__] = fn
    return fn

@register
def scaled(a, factor=2.0):
    """Multiply in a loop."""
    out = np.empty_like(a)
    for i in range(a.shape[0]):
        out[i] = a[i] * factor
    return out

def apply(a, fn=scaled):
    return fn(a)

class Ops:
    def method(self, x):
        return x + 1

    @staticmethod
    def static(a):
        s = 0.0
        for i in range(a.shape[0]):
            s += a[i]
        return s

    @classmethod
    def klass(cls, x):
        return x * 3

def outer(a):
    def inner(b):
        return b + 1
    return inner(a)
'''


def _trampoline(function) -> Trampoline | None:
    return next((c for c in function.__code__.co_consts if isinstance(c, Trampoline)), None)


def test_module_and_class_functions_get_a_trampoline(accelerated):
    mod = accelerated(SOURCE)
    for function in (mod.scaled, mod.apply, mod.Ops.method, mod.Ops.static, mod.Ops.klass.__func__):
        assert _trampoline(function) is not None, function


def test_functions_keep_name_docstring_signature_and_source(accelerated):
    mod = accelerated(SOURCE)
    assert mod.scaled.__name__ == "scaled"
    assert mod.scaled.__qualname__ == "scaled"
    assert mod.Ops.static.__qualname__ == "Ops.static"
    assert mod.scaled.__doc__ == "Multiply in a loop."
    assert str(inspect.signature(mod.scaled)) == "(a, factor=2.0)"
    assert "for i in range(a.shape[0])" in inspect.getsource(mod.scaled)


def test_references_captured_at_import_reach_the_accelerated_function(accelerated):
    mod = accelerated(SOURCE, min_calls=2)
    a = np.arange(5.0)
    assert mod.REGISTRY["scaled"] is mod.scaled
    assert mod.apply.__defaults__[0] is mod.scaled
    for _ in range(6):
        np.testing.assert_array_equal(mod.REGISTRY["scaled"](a), a * 2.0)
    assert lookup(mod.scaled).promotions, "calls through the registry promote the same function"


def test_defaults_and_keywords_are_bound_before_the_prologue(accelerated):
    mod = accelerated(SOURCE, min_calls=1)
    a = np.arange(4.0)
    for _ in range(5):
        np.testing.assert_array_equal(mod.scaled(a), a * 2.0)
        np.testing.assert_array_equal(mod.scaled(a, factor=3.0), a * 3.0)
    mod.scaled.__defaults__ = (10.0,)
    np.testing.assert_array_equal(mod.scaled(a), a * 10.0)


def test_methods_static_and_class_methods_still_work(accelerated):
    mod = accelerated(SOURCE)
    ops = mod.Ops()
    for _ in range(5):
        assert ops.method(1) == 2
        assert mod.Ops.static(np.ones(3)) == 3.0
        assert mod.Ops.klass(2) == 6
        assert mod.outer(1) == 2


def test_nested_function_is_refused_by_its_parent_but_rewritten_itself(accelerated):
    mod = accelerated(SOURCE)
    assert lookup(mod.outer).refusal.startswith("defines a nested function or lambda")
    assert mod.outer(3) == 4


def test_unmatched_modules_are_not_rewritten(tmp_path, isolated_imports):
    import importlib
    import sys

    from autoaccel import Config, install

    (tmp_path / "plainmod.py").write_text("def f(x):\n    return x\n")
    sys.path.insert(0, str(tmp_path))
    with install(Config(modules=("other",))):
        mod = importlib.import_module("plainmod")
    assert _trampoline(mod.f) is None


def test_super_and_closures_are_left_plain_and_work(accelerated):
    mod = accelerated(
        """
        class Base(Exception):
            def __init__(self, item):
                super().__init__(f"missing {item}")
                self.item = item

        def counter():
            count = 0
            def bump():
                nonlocal count
                count += 1
                return count
            return bump
        """
    )
    assert str(mod.Base("x")) == "missing x"
    bump = mod.counter()
    assert [bump(), bump()] == [1, 2]
    assert "closure over __class__" in lookup(mod.Base.__init__).refusal


def test_trampolines_are_named_by_the_functions_qualified_names(accelerated):
    # 3.10 code has no co_qualname: the rewriter reads each name from the MAKE_FUNCTION
    # that creates the function, so the names match __qualname__ on every version
    # (tests/test_code_cache.py checks them after a cache hit).
    mod = accelerated(
        SOURCE + "\nclass Outer:\n    class Inner:\n        def deep(self):\n            pass\n"
    )
    functions = [mod.scaled, mod.apply, mod.Ops.method, mod.Ops.static, mod.Ops.klass.__func__]
    for function in [*functions, mod.Outer.Inner.deep]:
        assert lookup(function).name == f"{mod.__name__}.{function.__qualname__}"
    names = {t.name for t in registry() if t.module == mod.__name__}
    assert f"{mod.__name__}.outer.<locals>.inner" in names


def test_placeholders_cannot_collide_with_user_constants():
    def user(a):
        return a

    # compile() never makes a list constant; code that holds one is refused, not misread.
    forged = user.__code__.replace(co_consts=(*user.__code__.co_consts, [TRAMPOLINE_MARK, 0]))
    module = compile("def f(a):\n    return a\n", "<test>", "exec")
    module = module.replace(
        co_consts=tuple(forged if isinstance(c, type(forged)) else c for c in module.co_consts)
    )
    with pytest.raises(ValueError, match="list constant"):
        rewrite_module(module)
    # A user's string or tuple equal to a placeholder's parts stays what it was.
    source = f"def f(a):\n    return ({TRAMPOLINE_MARK!r}, 0), [{TRAMPOLINE_MARK!r}, 0]\n"
    namespace: dict = {}
    code = bind(rewrite_module(compile(source, "<test>", "exec")), lambda c, r: _Off(), None)
    exec(code, namespace)
    assert namespace["f"](1) == ((TRAMPOLINE_MARK, 0), [TRAMPOLINE_MARK, 0])


class _Off:
    armed = False


def test_bind_rejects_an_unknown_placeholder():
    rewritten = rewrite_module(compile("def f(a):\n    return a\n", "<test>", "exec"))
    bad = rewritten.code.replace(co_consts=(*rewritten.code.co_consts, ["@autoaccel-other"]))
    with pytest.raises(BindError):
        bind(Rewritten(bad, rewritten.functions), lambda c, r: _Off(), None)


def test_the_prologue_passes_what_cpython_bound_to_star_args_and_keywords():
    seen = []

    class Recorder:
        armed = True

        def enter(self, *bound):
            seen.append(bound)
            return MISS

    namespace: dict = {}
    exec("def f(a, *rest, scale=1.0, **options):\n    return a * scale + len(rest)\n", namespace)
    code = insert_prologue(namespace["f"].__code__, Recorder(), MISS)
    f = types.FunctionType(code, namespace)
    assert f(2.0, 1, 2, scale=3.0, axis=0) == 8.0
    assert seen == [(2.0, 3.0, (1, 2), {"axis": 0})]
