"""A disarmed function made as cheap to call as a plain one: its prologue swapped out.

Why this design: a disarmed prologue still loads its trampoline, reads ``armed`` and jumps on
every call, a few nanoseconds that add up in object-heavy programs whose small methods are
all rejected (pyperformance's richards spent 9% of its steady-state time in them). A
function is disarmed for good (:meth:`Trampoline.disarm_if_idle`), so its function objects
can run the code as written, which the trampoline keeps (``trampoline.code``, compiled from
the same source, same file and lines): :func:`swap_out_prologue` assigns it to
``__code__``, as debuggers and ``functools`` tools do (the registry finds a trampoline by
that code already). That is exact only where the running
code differs from it by the prologue alone; a function with an instrumented loop or a
nested function with its own prologue keeps its code, disarmed (removing the prologue from
the bytecode instead costs about a millisecond per 100 bytes of code, more than it saves in
most runs). The function objects are found in the module's namespace and in the classes
defined there (methods, static and class methods, properties, and what ``functools.wraps``
wrappers name as ``__wrapped__``).
"""

from __future__ import annotations

import inspect
import types
from collections.abc import Iterator
from typing import Any, Protocol

from autoaccel.rewrite.prologue import RESULT_LOCAL


class Disarmed(Protocol):
    """What is read of the disarmed function's trampoline."""

    module: str
    globals: dict
    code: types.CodeType


def swap_out_prologue(trampoline: Disarmed) -> int:
    """Give each function object of ``trampoline`` that is found its code as written.

    Args:
        trampoline: a disarmed trampoline (it will never be armed again).

    Returns:
        How many function objects were changed.
    """
    changed = 0
    for function in _functions(trampoline.globals, trampoline.module):
        running = function.__code__
        if (
            any(const is trampoline for const in running.co_consts)
            and _only_prologue(running)
            and _same_parameters(running, trampoline.code)
        ):
            function.__code__ = trampoline.code
            changed += 1
    return changed


def _same_parameters(running: types.CodeType, written: types.CodeType) -> bool:
    """Whether both take their arguments the same way: a trampoline over a bound form
    (keyword-only arguments made positional, autoaccel.analysis.bound) keeps the code
    whose parameters CPython binds."""
    kinds = inspect.CO_VARARGS | inspect.CO_VARKEYWORDS
    count = running.co_argcount + running.co_kwonlyargcount
    return (
        running.co_argcount == written.co_argcount
        and running.co_posonlyargcount == written.co_posonlyargcount
        and running.co_kwonlyargcount == written.co_kwonlyargcount
        and running.co_flags & kinds == written.co_flags & kinds
        and running.co_varnames[:count] == written.co_varnames[:count]
    )


def _only_prologue(code: types.CodeType) -> bool:
    """Whether ``code`` differs from the code as written by its prologue alone.

    The rewriting's own names start with ``@`` (the prologue's result, a loop's budget and
    trampoline), so code with no other such name, in it or in the code it nests, has no
    instrumented loop and defines no function with a prologue.
    """
    added = {name for name in code.co_varnames if name.startswith("@")}
    return added <= {RESULT_LOCAL} and not any(
        _rewritten(const) for const in code.co_consts if isinstance(const, types.CodeType)
    )


def _rewritten(code: types.CodeType) -> bool:
    names = (*code.co_varnames, *code.co_names, *code.co_cellvars, *code.co_freevars)
    return any(name.startswith("@") for name in names) or any(
        _rewritten(const) for const in code.co_consts if isinstance(const, types.CodeType)
    )


def _functions(namespace: dict, module: str) -> Iterator[types.FunctionType]:
    """The functions reachable from a module's namespace and the classes it defines."""
    seen: set[int] = set()
    stack: list[Any] = list(namespace.values())
    while stack:
        value = stack.pop()
        if id(value) in seen:
            continue
        seen.add(id(value))
        if isinstance(value, types.FunctionType):
            yield value
            stack.append(value.__dict__.get("__wrapped__"))
        elif isinstance(value, (staticmethod, classmethod)):
            stack.append(value.__func__)
        elif isinstance(value, property):
            stack.extend((value.fget, value.fset, value.fdel))
        elif isinstance(value, type) and value.__dict__.get("__module__") == module:
            stack.extend(list(vars(value).values()))
