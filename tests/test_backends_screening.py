"""autoaccel.backends.screening: arguments and globals that rule a variant out, without Numba."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import units

from autoaccel.backends.screening import (
    ABSENT,
    argument_refusal,
    forwarded,
    global_names,
    globals_refusal,
    helpers,
    namespace_uses,
)
from autoaccel.errors import Rejection


@pytest.mark.parametrize(
    "args",
    [
        (True, 1, 2.5, 1j),
        (np.float32(1.5), np.int8(3), np.bool_(True), np.complex64(1j)),
        (np.zeros(3), np.arange(4), np.ones((2, 2), np.complex128), np.array([True])),
        ((1, (2.0, np.zeros(2))),),
        (),
    ],
)
def test_numbers_arrays_and_tuples_of_them_are_accepted(args):
    assert argument_refusal(args) is None


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        ((1.0, [1.0]), "takes a list (Numba converts it to a reflected list) [23]"),
        (((1, [2]),), "takes a list (Numba converts it to a reflected list) [23]"),
        (("EMA",), "takes a str argument, which Numba cannot use exactly"),
        ((None,), "takes a NoneType argument, which Numba cannot use exactly"),
        ((np.array(["a"]),), "takes an array of dtype <U1, which is not numeric"),
        ((np.array([object()]),), "takes an array of dtype object, which is not numeric"),
        ((np.zeros(2, dtype=[("x", "f8")]),), "is not numeric"),
    ],
)
def test_other_arguments_are_refused_with_the_reason(args, reason):
    assert reason in argument_refusal(args)


SOURCE = """
import math
import random
import numpy as np
from os.path import join

N = 3
SCALE = 2.5
TABLE = np.arange(4.0)
FROZEN = np.arange(4.0)
FROZEN.flags.writeable = False
PAIR = (1, 2.0)
ARRAYS = (FROZEN, TABLE)

class Point:
    pass

class FitError(ValueError):
    pass

class LoudError(FitError):
    def __init__(self, message):
        super().__init__(message)

def square(x):
    return x * x

def uses_numbers(x):
    return math.sqrt(x) * N + SCALE + np.pi + PAIR[0] + abs(x) + FROZEN[0] + square(x)

def uses_random(x):
    return random.random() + x

def uses_table(x):
    return TABLE[0] + x

def uses_arrays(x):
    return ARRAYS[0][0] + x

def uses_class(x):
    return Point

def raises_fit_error(x):
    if x < 0:
        raise FitError("negative")
    return x

def raises_loud_error(x):
    raise LoudError("negative")

def uses_outside(x):
    return join("a", "b")

def uses_refused(x):
    return refused(x)

def refused(x):
    return x

def calls_a_caller(x):
    return uses_table(x)

def takes_keyword_only(x, *, c=1):
    return x + c

def calls_keyword_only(x):
    return takes_keyword_only(x, c=2)

def counts_down(n, *, step=1):
    return 0 if n < 1 else counts_down(n - step, step=step)

def takes_star(x, *rest):
    return x + len(rest)

def calls_star(x):
    return takes_star(x, 1)

def ping(x):
    return pong(x)

def pong(x):
    return ping(x)
"""


@pytest.fixture
def screened():
    found, lookup = units(SOURCE)
    found["refused"].refusal = "is a generator [31]"
    return found, lookup


def test_globals_that_can_be_frozen_pass(screened):
    found, lookup = screened
    assert globals_refusal(found["uses_numbers"], lookup) is None


def test_an_exception_class_of_the_module_can_be_raised(screened):
    found, lookup = screened
    assert globals_refusal(found["raises_fit_error"], lookup) is None


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("uses_random", "draws random numbers through random (Numba has its own generator) [34]"),
        ("uses_table", "reads global array TABLE, which Numba would freeze as a constant [27]"),
        ("uses_arrays", "reads global array ARRAYS, which Numba would freeze as a constant [27]"),
        ("uses_class", "reads global Point of type type, which Numba cannot freeze"),
        ("uses_outside", "calls join, a Python function outside the accelerated modules"),
        (
            "raises_loud_error",
            "raises LoudError, whose LoudError defines __init__ or __new__ in Python",
        ),
        ("uses_refused", "calls refused, which cannot be compiled: is a generator [31]"),
        ("calls_a_caller", "reads global array TABLE"),  # found in the helper's globals
        ("ping", "is recursive through its helpers [30]"),
        # compiled code would call the all-positional bound form, not CPython's binding
        ("calls_keyword_only", "calls takes_keyword_only, which takes *args, **kwargs or"),
        ("calls_star", "calls takes_star, which takes *args, **kwargs or keyword-only"),
        ("counts_down", "calls counts_down, which takes *args, **kwargs or keyword-only"),
    ],
)
def test_a_global_that_cannot_be_frozen_is_named(screened, name, reason):
    found, lookup = screened
    assert reason in (globals_refusal(found[name], lookup) or "")


def test_helpers_walks_globals_in_first_use_order(screened):
    found, lookup = screened
    walked = list(helpers(found["uses_numbers"], lookup))
    assert [name for name, _, _ in walked] == [
        "math", "N", "SCALE", "np", "PAIR", "abs", "FROZEN", "square",
    ]  # fmt: skip
    values = {name: (value, helper) for name, value, helper in walked}
    assert values["abs"] == (ABSENT, None)  # a builtin: the module does not define it
    assert values["square"][1] is found["square"]  # a function of the selected modules
    assert values["N"] == (3, None)


def test_a_unit_already_on_the_call_chain_is_recursion(screened):
    found, lookup = screened
    with pytest.raises(Rejection, match=r"recursive through its helpers \[30\]"):
        list(helpers(found["ping"], lookup, (found["pong"], found["ping"])))


def test_global_names_are_listed_once_in_order():
    found, _ = units("def f(x):\n    return g(x) + g(y) + h\n")
    assert global_names(found["f"].code) == ("g", "y", "h")
    # Generated code may hold a constant that cannot be hashed: read, not kept.
    code = found["f"].code.replace(co_consts=(*found["f"].code.co_consts, [1]))
    assert global_names(code) == ("g", "y", "h")


def lattice(levels: int, back: str = "") -> str:
    """Helpers in ``levels`` levels of two, each calling both of the next level: 2**levels
    call paths through 2 * levels functions (py_lets_be_rational's helpers are such a
    lattice); the last level calls ``back`` if given."""
    lines = []
    for level in range(levels):
        body = f"f{level + 1}a(x) + f{level + 1}b(x)" if level + 1 < levels else back or "x"
        lines += [f"def f{level}{side}(x):\n    return {body}\n" for side in "ab"]
    return "\n".join(lines)


def test_a_lattice_of_helpers_is_walked_once_per_helper_and_its_cycles_still_found():
    found, lookup = units(lattice(14))
    looked = []

    def counting(function):
        looked.append(function)
        return lookup(function)

    assert globals_refusal(found["f0a"], counting) is None
    assert len(looked) <= 2 * 2 * 14  # two callees a helper, each helper walked once
    found, lookup = units(lattice(14, back="f0a(x)"))
    assert globals_refusal(found["f0a"], lookup) == "is recursive through its helpers [30]"


WRAPPERS = """
import functools

def jit(f):
    @functools.wraps(f)
    def wrapper(*args, **kwargs):
        return f(*args, **kwargs)
    return wrapper

def positional(f):
    def wrapper(*args):
        return f(*args)
    return wrapper

def timed(f):
    def wrapper(*args, **kwargs):
        calls.append(1)
        return f(*args, **kwargs)
    return wrapper

def swapped(f):
    def wrapper(a, b):
        return f(b, a)
    return wrapper

calls = []

def kernel(x, y):
    return x * y

by_jit, by_positional = jit(kernel), positional(kernel)
by_timed, by_swapped = timed(kernel), swapped(kernel)

def uses_wrapped(x):
    return by_jit(x, 2.0) + by_positional(x, 3.0)
"""


def test_a_forwarding_wrapper_is_seen_through_to_the_function_it_calls():
    namespace: dict = {}
    exec(WRAPPERS, namespace)
    kernel = namespace["kernel"]
    assert forwarded(namespace["by_jit"]) is kernel
    assert forwarded(namespace["by_positional"]) is kernel
    for other in ("by_timed", "by_swapped", "kernel", "jit"):
        assert forwarded(namespace[other]) is None, other


def test_helpers_reach_a_wrapped_function_as_the_original():
    found, lookup = units(WRAPPERS)
    walked = {name: helper for name, _, helper in helpers(found["uses_wrapped"], lookup)}
    assert walked["by_jit"] is found["kernel"] and walked["by_positional"] is found["kernel"]
    assert globals_refusal(found["uses_wrapped"], lookup) is None


NAMESPACES = """
import math
import os.path

class Math:
    digits = 53
    tiny = 2.0 ** -500
    name = "math"

    @staticmethod
    def sq(x):
        return x * x

    def cube(x):  # a plain function read through the class
        return x * x * x

    @staticmethod
    def hypot(x, y):
        return math.sqrt(Math.sq(x) + Math.cube(y)) + Math.tiny

    @classmethod
    def twice(cls, x):
        return 2 * x

    join = os.path.join

def norm(x, y):
    return Math.hypot(x, y) / Math.digits

def doubled(x):
    return Math.twice(x)

def joined(x):
    return len(Math.join("a", "b")) + x

def made(x):
    return Math() if x else None
"""


def test_a_class_read_as_a_namespace_compiles_with_its_constants_and_functions(accelerated):
    from test_boundary_objects import both

    from autoaccel.runtime.registry import lookup

    def script(module):
        results = [module.norm(3.0, 4.0) for _ in range(4)]
        module.Math.digits = 10  # a class attribute set after promotion
        results += [module.norm(3.0, 4.0) for _ in range(3)]
        return results

    fast = both(accelerated, NAMESPACES, script)
    trampoline = lookup(fast.norm)
    assert trampoline.promotions or trampoline.invalidations, "promoted, then invalidated"
    uses = namespace_uses("Math", fast.Math, trampoline.code)
    assert uses is not None and set(uses.loads + uses.methods) == {"hypot", "digits"}


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("doubled", "reads Math.twice, which is a classmethod on its class (not frozen)"),
        ("joined", "calls Math.join, a Python function outside the accelerated modules"),
        ("made", "reads global Math of type type, which Numba cannot freeze"),  # called
    ],
)
def test_a_class_namespace_attribute_that_cannot_be_frozen_is_named(accelerated, name, reason):
    from autoaccel.runtime.registry import lookup

    fast = accelerated(NAMESPACES)
    assert globals_refusal(lookup(getattr(fast, name)), lookup) == reason


def test_the_math_functions_screening_refuses_are_ones_numba_cannot_type():
    import cmath
    import math

    from numba import types
    from numba.core.registry import cpu_target

    from autoaccel.backends.screening import UNTYPED

    cpu_target.target_context.refresh()  # imports the implementations, as a compile does
    context = cpu_target.typing_context
    for module in (math, cmath):
        public = {name for name in dir(module) if not name.startswith("_")}
        untyped = {n for n in public if context.resolve_getattr(types.Module(module), n) is None}
        # Never refused where Numba compiles it (the table may miss some it does not).
        assert UNTYPED[module.__name__] & public <= untyped, module.__name__


def test_a_call_of_a_math_function_numba_cannot_type_is_refused_before_compiling(accelerated):
    from autoaccel.runtime.registry import lookup

    fast = accelerated("import math\n\ndef wrapped(x):\n    return math.remainder(x, 360.0)\n")
    reason = globals_refusal(lookup(fast.wrapped), lookup)
    assert reason == "calls math.remainder, which Numba does not compile"
