"""Playing the same calls on a plain and an accelerated copy of a module, for the boundary tests.

Each step's arguments are deep-copied per side (aliasing within one call's arguments is kept
by ``copy.deepcopy``), and the outcome records the result or exception, then the arguments
after the call with exact classes (``1`` is not ``1.0``) and which objects are the same.
"""

from __future__ import annotations

import array
import copy
import textwrap
import types
from typing import Any

from autoaccel.runtime.registry import lookup


def describe(value: Any, seen: dict[int, int] | None = None) -> Any:
    """Class and value of everything reachable; a mutable object met again is ``("same", n)``."""
    seen = {} if seen is None else seen
    if isinstance(value, (list, bytearray, array.array, memoryview)):
        if id(value) in seen:
            return ("same", seen[id(value)])
        seen[id(value)] = len(seen)
    if isinstance(value, (list, tuple)):
        return (type(value), [describe(item, seen) for item in value])
    if isinstance(value, array.array):
        return (array.array, value.typecode, value.tobytes())
    if isinstance(value, memoryview):
        return (memoryview, value.format, value.readonly, value.tobytes())
    if isinstance(getattr(value, "__dict__", None), dict) or hasattr(type(value), "__slots__"):
        # An object of the module's own class (each copy of the module has its own class).
        if id(value) in seen:
            return ("same", seen[id(value)])
        seen[id(value)] = len(seen)
        names = [*getattr(value, "__dict__", {}), *getattr(type(value), "__slots__", ())]
        fields = [(name, describe(getattr(value, name, None), seen)) for name in names]
        return ("object", type(value).__name__, fields)
    return (type(value), repr(value))


def outcome(function: Any, args: tuple) -> tuple:
    """``("ok", result)`` or ``("raised", class, message)``, then the arguments after the call."""
    try:
        result: tuple = ("ok", describe(function(*args)))
    except Exception as exc:
        result = ("raised", type(exc), str(exc))
    return (*result, describe(args))


def twins(accelerated: Any, source: str, **settings: Any) -> tuple[types.ModuleType, Any]:
    """``(plain, accelerated)`` copies of the module ``source``."""
    plain = types.ModuleType("plain")
    exec(compile(textwrap.dedent(source), "<plain>", "exec"), plain.__dict__)
    return plain, accelerated(source, **settings)


def play(module: Any, steps: list[tuple[str, Any]]) -> list[tuple]:
    """The outcome of each ``(function name, args)`` step, on a deep copy of the arguments
    (or on what ``args()`` makes, for arguments ``copy.deepcopy`` cannot copy)."""
    return [
        outcome(getattr(module, name), args() if callable(args) else copy.deepcopy(args))
        for name, args in steps
    ]


def same_play(accelerated: Any, source: str, steps: list, **settings: Any) -> Any:
    """Assert that every step answers as in plain Python; the accelerated module."""
    plain, fast = twins(accelerated, source, **settings)
    expected = play(plain, steps)
    got = play(fast, steps)
    for step, want, have in zip(steps, expected, got, strict=True):
        assert have == want, f"{step[0]}{step[1]!r}: {have} != {want}"
    return fast


def promoted(function: Any) -> list[str]:
    """The signatures promoted for ``function`` (an accelerated module's function)."""
    return [record.signature for record in lookup(function).promotions]


def failures(function: Any) -> list[str]:
    """The recorded reasons ``function``'s signatures were not promoted."""
    return [reason for _, reason in lookup(function).failures.values()]
