"""autoaccel.runtime.registry: every trampoline of the process, found from its function."""

from __future__ import annotations

import types

from autoaccel.runtime.registry import compile_declared, lookup, register, registry
from autoaccel.state import STATE


class _Standin:
    """What the registry reads of a trampoline: its original code (and, for
    compile_declared, its module and promoter)."""

    def __init__(self, code: types.CodeType, module: str = "m", eager: tuple = ()) -> None:
        self.code = code
        self.module = module
        self.compiled_signatures = 0
        self.promoter = types.SimpleNamespace(eager=eager, compile_signatures=self._compile)

    def _compile(self) -> None:
        self.compiled_signatures += 1


def _function(source: str = "def f(x):\n    return x\n") -> types.FunctionType:
    namespace: dict = {}
    exec(source, namespace)
    return namespace["f"]


def test_a_function_is_found_by_the_trampoline_among_its_constants():
    function = _function()
    trampoline = _Standin(function.__code__)
    register([trampoline])
    # What the prologue does: the trampoline becomes a constant of the function's code.
    function.__code__ = function.__code__.replace(
        co_consts=(*function.__code__.co_consts, trampoline)
    )
    assert lookup(function) is trampoline
    assert registry() == [trampoline]


def test_a_function_without_a_prologue_is_found_by_its_code():
    function = _function()
    trampoline = _Standin(function.__code__)
    register([trampoline])
    assert lookup(function) is trampoline
    assert lookup(_function()) is None  # another function, same source
    assert lookup(len) is None and lookup("f") is None


def test_an_equal_constant_is_not_the_trampoline():
    function = _function("def f(x):\n    return 7\n")
    register([_Standin(_function().__code__)])
    assert lookup(function) is None


def test_the_registry_keeps_creation_order_and_is_forgotten_on_reset():
    first, second = _Standin(_function().__code__), _Standin(_function().__code__)
    register([first])
    register([second])
    assert registry() == [first, second]
    registry().clear()  # a copy: the registry itself is unchanged
    assert registry() == [first, second]
    STATE.reset()
    assert registry() == []


def test_declared_signatures_are_compiled_for_the_imported_module_only():
    eager = _Standin(_function().__code__, "kern", eager=("float64(float64)",))
    idle = _Standin(_function().__code__, "kern")
    elsewhere = _Standin(_function().__code__, "other", eager=("float64(float64)",))
    register([eager, idle, elsewhere])
    compile_declared("kern")
    assert (eager.compiled_signatures, idle.compiled_signatures) == (1, 0)
    assert elsewhere.compiled_signatures == 0
