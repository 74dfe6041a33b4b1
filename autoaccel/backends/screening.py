"""Screening before compiling: arguments and globals that rule a variant out, without Numba.

Why this design: importing Numba costs ~0.3 s and tens of thousands of objects that every
full garbage collection then traverses, so what can be decided from plain Python objects is
decided here first: argument values Numba could not take exactly, and globals (of the
function and, recursively, of the helpers it calls) that cannot be frozen into a variant
(docs/divergences.md, row 27). The walk over a function's helpers is written once,
:func:`helpers`, and the compiler and the CUDA back-end walk the same way.
"""

from __future__ import annotations

import dis
import functools
import inspect
import types
from collections.abc import Callable, Iterator
from typing import Any, Protocol

from autoaccel.analysis.attributes import AttributeUses, global_attribute_uses
from autoaccel.errors import Rejection, with_article
from autoaccel.lazy_numpy import loaded, np

_SAFE_MODULE_ROOTS = ("numpy", "math", "cmath", "numba", "operator")
# Functions of math and cmath that Numba 0.68's typing does not know ("Unknown attribute";
# fma and sumprod are 3.12's and 3.13's): a function calling one fails typing after seconds
# of compiling. Checked against Numba's typing context by tests/test_backends_screening.py.
_MATH = (
    "cbrt comb dist factorial fma fmod fsum isclose isqrt lcm modf perm prod remainder sumprod ulp"
)
UNTYPED = {
    "math": frozenset(_MATH.split()),
    "cmath": frozenset(("isclose",)),
}
_ALLOWED_DTYPE_KINDS = "biufc"


class _Absent:
    """Marks a global name the module does not define (a builtin), with a stable repr."""

    def __repr__(self) -> str:
        return "<absent>"


ABSENT = _Absent()


class Unit(Protocol):
    """What the back-ends read of a function to compile (a trampoline is one).

    Attributes:
        code: the function's original code object.
        globals: its module's globals dict.
        refusal: the static guard's reason never to compile it, or ``None``.
        compiled: what the CPU back-end built for it last (reused while valid), or ``None``.
    """

    code: types.CodeType
    globals: dict
    refusal: str | None
    compiled: Any


# lookup(function) -> the Unit of a function of the accelerated modules, or None. Its
# ``binds`` says whether the function takes *args, **kwargs or keyword-only arguments (its
# ``code`` is then one of its bound forms, autoaccel.analysis.bound).
Lookup = Callable[[Any], Any]


def argument_refusal(args: tuple) -> str | None:
    """Why these argument values cannot be passed to a variant, or ``None``.

    Runs before Numba is imported. Accepted: bool, int, float, complex, NumPy numeric
    scalars, numeric NumPy arrays, and tuples of those.
    """
    for value in args:
        reason = _value_refusal(value)
        if reason:
            return reason
    return None


def _value_refusal(value: Any) -> str | None:
    if isinstance(value, (bool, int, float, complex)):
        return None
    if loaded():  # else no value is NumPy's (autoaccel/lazy_numpy.py)
        if isinstance(value, np.ndarray):
            if value.dtype.kind in _ALLOWED_DTYPE_KINDS and not value.dtype.fields:
                return None
            return f"takes an array of dtype {value.dtype}, which is not numeric"
        if isinstance(value, (np.number, np.bool_)):
            return None
    if isinstance(value, tuple):
        return next(filter(None, map(_value_refusal, value)), None)
    if isinstance(value, list):
        return "takes a list (Numba converts it to a reflected list) [23]"
    return f"takes {with_article(type(value).__name__)} argument, which Numba cannot use exactly"


def global_names(code: types.CodeType) -> tuple[str, ...]:
    """Names ``code`` loads with LOAD_GLOBAL, in first-use order, without repeats.

    Kept per code object (immutable): disassembling took 0.43 ms a function on average over
    py_lets_be_rational's 22 (this machine), and every screening and build of a function
    reads the names of each helper it reaches. A code object holding a constant that cannot
    be hashed (a generated bound form's) is read each time.
    """
    try:
        hash(code)
    except TypeError:
        return _global_names(code)
    return _kept_global_names(code)


def _global_names(code: types.CodeType) -> tuple[str, ...]:
    names = dict.fromkeys(
        ins.argval for ins in dis.get_instructions(code) if ins.opname == "LOAD_GLOBAL"
    )
    return tuple(names)


_kept_global_names = functools.lru_cache(maxsize=4096)(_global_names)


# Instructions a forwarding wrapper may hold besides its call (frame set-up, NULL pushes).
_FORWARDING_SETUP = frozenset({"RESUME", "COPY_FREE_VARS", "MAKE_CELL", "NOP", "PUSH_NULL"})


def forwarded(value: Any) -> types.FunctionType | None:
    """The function a decorator's forwarding wrapper calls, or ``None`` if ``value`` is not one.

    A forwarding wrapper is a closure whose whole body is ``return f(*args, **kwargs)`` (or
    ``return f(*args)``) with ``f`` its one captured variable, as optional-JIT decorators
    and ``functools.wraps`` wrappers return: calling it is calling ``f``, so compiled code
    calls ``f`` instead. Its code and cell are watched
    (:func:`autoaccel.backends.snapshot.reached_through`).
    """
    if not isinstance(value, types.FunctionType):
        return None
    code = value.__code__
    flags = code.co_flags
    if (
        len(code.co_freevars) != 1
        or code.co_argcount
        or code.co_kwonlyargcount
        or not flags & inspect.CO_VARARGS
    ):
        return None
    varargs = code.co_varnames[0]
    expected: list[tuple[str, Any]] = [("LOAD_DEREF", code.co_freevars[0]), ("LOAD_FAST", varargs)]
    if flags & inspect.CO_VARKEYWORDS:
        keywords = ("LOAD_FAST", code.co_varnames[1])
        expected += [("BUILD_MAP", 0), keywords, ("DICT_MERGE", 1), ("CALL_FUNCTION_EX", 1)]
    else:
        expected.append(("CALL_FUNCTION_EX", 0))
    shape = [
        (ins.opname, ins.argval)
        for ins in dis.get_instructions(code)
        if ins.opname not in _FORWARDING_SETUP
    ]
    if shape != [*expected, ("RETURN_VALUE", None)]:
        return None
    try:
        target = value.__closure__[0].cell_contents  # type: ignore[index]
    except ValueError:  # an empty cell
        return None
    return target if isinstance(target, types.FunctionType) else None


def helpers(unit: Unit, lookup: Lookup, active: tuple = ()) -> Iterator[tuple[str, Any, Any]]:
    """``(name, value, helper)`` for each global ``unit``'s code loads, in first-use order.

    ``value`` is :data:`ABSENT` for a name the module does not define (a builtin); ``helper``
    is the :class:`Unit` of a function of the accelerated modules (reached through a
    decorator's forwarding wrapper, :func:`forwarded`, too), else ``None``.

    Args:
        unit: the function being compiled.
        lookup: finds a function's unit.
        active: the units being compiled up the call chain, ``unit`` not included.

    Raises:
        Rejection: ``unit`` is already in ``active``: it calls itself through its helpers
            (docs/divergences.md, row 30).
    """
    if unit in active:
        raise Rejection("is recursive through its helpers [30]")
    for name in global_names(unit.code):
        value = unit.globals.get(name, ABSENT)
        helper = None
        if isinstance(value, types.FunctionType):
            helper = lookup(forwarded(value) or value)
        yield name, value, helper


def _module_root(value: Any) -> str:
    return (getattr(value, "__module__", None) or "").split(".")[0]


def _global_refusal(name: str, value: Any) -> str | None:
    """Why global ``name`` = ``value`` cannot be frozen into a variant, or ``None``."""
    if isinstance(value, types.ModuleType):
        if value.__name__ in ("random", "numpy.random"):
            return f"draws random numbers through {name} (Numba has its own generator) [34]"
        return None
    if isinstance(value, (bool, int, float, complex, str, type(None))):
        return None
    if loaded():  # else no value is NumPy's (autoaccel/lazy_numpy.py)
        if isinstance(value, (np.number, np.bool_, np.ufunc)):
            return None
        if isinstance(value, np.ndarray):
            if value.flags.writeable:
                return f"reads global array {name}, which Numba would freeze as a constant [27]"
            return None
        if isinstance(value, type) and issubclass(value, np.generic):
            return None
    if isinstance(value, tuple):
        return next(filter(None, (_global_refusal(name, item) for item in value)), None)
    if isinstance(value, types.BuiltinFunctionType):
        return None
    if isinstance(value, type) and issubclass(value, (bool, int, float, complex)):
        return None
    if isinstance(value, type) and issubclass(value, BaseException):
        return _exception_refusal(name, value)
    if _module_root(value) in _SAFE_MODULE_ROOTS:
        return None
    if isinstance(value, types.FunctionType):
        return f"calls {name}, a Python function outside the accelerated modules"
    return f"reads global {name} of type {type(value).__name__}, which Numba cannot freeze"


def _exception_refusal(name: str, value: type[BaseException]) -> str | None:
    """Why exception class ``name`` cannot be raised by compiled code, or ``None``.

    Numba raises a global exception class itself; when the exception leaves the compiled
    code, Numba builds it in Python, and the trampoline then runs the original, which
    raises CPython's own (docs/divergences.md, row 32). A class whose ``__init__`` or
    ``__new__`` is Python code would run that code twice, so it is refused.
    """
    for klass in value.__mro__:
        if klass.__module__ != "builtins" and ({"__init__", "__new__"} & vars(klass).keys()):
            return f"raises {name}, whose {klass.__name__} defines __init__ or __new__ in Python"
    return None


def globals_refusal(
    unit: Unit, lookup: Lookup, active: tuple = (), passed: set[int] | None = None
) -> str | None:
    """Why a global that the function or one of its helpers reads rules out a variant.

    ``None`` means every global can be frozen. The helpers are walked depth first, each
    once (``passed``: the ids of those whose whole call tree passed in this walk): a helper
    called from many others is looked at once, as a depth-first search with its finished
    nodes marked still finds every cycle (Tarjan, "Depth-first search and linear graph
    algorithms", SIAM J. Comput. 1972). Walking every path instead took minutes on
    py_lets_be_rational, whose helpers call each other in a deep lattice.

    Args:
        unit: the function (its code, globals and static refusal).
        lookup: finds a helper function's unit.
        active: the units up the call chain (a cycle is refused).
        passed: for the walk's own recursion.
    """
    passed = set() if passed is None else passed
    try:
        for name, value, helper in helpers(unit, lookup, active):
            if value is ABSENT:
                continue  # the refused builtins were caught by the static guards
            if helper is not None:
                reason = _helper_refusal(name, helper, unit, lookup, active, passed)
            elif isinstance(value, types.ModuleType) and value.__name__ in UNTYPED:
                reason = _untyped_refusal(name, value.__name__, unit.code)
            else:
                reason = _global_refusal(name, value)
                uses = namespace_uses(name, value, unit.code) if reason else None
                if uses is not None:
                    reason = _namespace_refusal(name, value, uses, unit, lookup, active, passed)
            if reason:
                return reason
    except Rejection as exc:
        return str(exc)
    return None


def _untyped_refusal(name: str, module: str, code: types.CodeType) -> str | None:
    """Why ``code``'s uses of module ``module`` (global ``name``) fail Numba's typing: a
    function of :data:`UNTYPED`; else ``None``."""
    uses = global_attribute_uses(code).get(name)
    for attr in (*uses.loads, *uses.methods) if uses is not None else ():
        if attr in UNTYPED[module]:
            return f"calls {name}.{attr}, which Numba does not compile"
    return None


def _helper_refusal(
    name: str, helper: Any, unit: Unit, lookup: Lookup, active: tuple, passed: set[int]
) -> str | None:
    """Why calling ``helper`` (a function of the accelerated modules, reached as ``name``)
    rules out ``unit``'s variant, or ``None``."""
    if helper.binds:
        # Compiled code would call the bound form's all-positional signature, not
        # CPython's binding (f(a, *rest, c=1) called f(1, 2, 3) sets c=1, not c=2).
        return (
            f"calls {name}, which takes *args, **kwargs or keyword-only arguments: "
            "its bound forms serve calls from Python only"
        )
    if helper is unit:
        return None  # it calls itself: compiled with a depth budget (backends.recursion)
    if helper.refusal:
        return f"calls {name}, which cannot be compiled: {helper.refusal}"
    if id(helper) in passed:
        return None
    reason = globals_refusal(helper, lookup, (*active, unit), passed)
    if reason is None:
        passed.add(id(helper))
    return reason


def namespace_uses(name: str, value: Any, code: types.CodeType) -> AttributeUses | None:
    """What ``code`` reads of global ``name``, a class Numba cannot freeze, where it only
    reads attributes of it (``Math.sq(x)``, ``Geodesic.nC1_``): the class is then frozen as
    a namespace of those attributes (:func:`autoaccel.backends.cpu.build`); else ``None``."""
    if not isinstance(value, type) or _global_refusal(name, value) is None:
        return None
    uses = global_attribute_uses(code).get(name)
    return uses if uses is not None and uses.complete else None


def _namespace_refusal(
    name: str,
    cls: type,
    uses: AttributeUses,
    unit: Unit,
    lookup: Lookup,
    active: tuple,
    passed: set[int],
) -> str | None:
    """Why an attribute of class ``cls`` that ``unit`` reads as a namespace cannot be frozen:
    a function must be a plain or static one of the accelerated modules (compiled as a
    helper), anything else what a global may be."""
    for attr in (*uses.loads, *uses.methods):
        raw = inspect.getattr_static(cls, attr, ABSENT)
        raw = raw.__func__ if isinstance(raw, staticmethod) else raw
        if isinstance(raw, types.FunctionType):
            helper = lookup(forwarded(raw) or raw)
            reason = (
                _helper_refusal(f"{name}.{attr}", helper, unit, lookup, active, passed)
                if helper is not None
                else f"calls {name}.{attr}, a Python function outside the accelerated modules"
            )
        elif raw is ABSENT or hasattr(type(raw), "__get__"):
            what = "nothing" if raw is ABSENT else with_article(type(raw).__name__)
            reason = f"reads {name}.{attr}, which is {what} on its class (not frozen)"
        else:
            reason = _global_refusal(f"{name}.{attr}", raw)
        if reason:
            return reason
    return None
