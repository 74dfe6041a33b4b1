"""Static guards: reasons, read from the bytecode alone, never to compile a function.

Why this design: each row of ``shared/numba-divergences.md`` marked S (static) is a check on
the code object, run once when the module is imported. A function refused here gets no
trampoline at all, so it costs nothing per call; the reason goes to the report. The checks
are conservative: a false refusal costs speed, a missed one could change an answer.
"""

from __future__ import annotations

import dis
import inspect
from collections.abc import Iterator
from types import CodeType

_GENERATOR_FLAGS = inspect.CO_GENERATOR | inspect.CO_COROUTINE | inspect.CO_ASYNC_GENERATOR
_VARARG_FLAGS = inspect.CO_VARARGS | inspect.CO_VARKEYWORDS
_STORES = frozenset({"STORE_NAME", "STORE_GLOBAL", "DELETE_NAME", "DELETE_GLOBAL"})
_CALLS = frozenset({"PRECALL", "CALL", "CALL_FUNCTION"})

# Builtins whose compiled behaviour differs from CPython's (catalogue row in brackets).
_REFUSED_BUILTINS = {
    "print": "prints (Numba writes to C stdout, out of order with sys.stdout)",
    "input": "reads input",
    "open": "does file I/O",
    "hash": "calls hash() (differs for NaN) [22]",
    "set": "builds a set (iteration order differs) [21]",
    "frozenset": "builds a set (iteration order differs) [21]",
    "str": "formats values as strings (Numba prints floats differently) [13]",
    "repr": "formats values as strings [13]",
    "format": "formats values as strings [13]",
    "iter": "uses iterator objects",
    "next": "uses iterator objects",
    "isinstance": "tests types at run time",
    "getattr": "uses dynamic attributes",
    "setattr": "uses dynamic attributes",
}
_REFUSED_OPCODES = {
    "BUILD_SET": "builds a set (iteration order differs) [21]",
    "SET_ADD": "builds a set (iteration order differs) [21]",
    "FORMAT_VALUE": "formats values as strings (f-string) [13]",
    "BUILD_MAP": "builds a dict (Numba returns a typed Dict) [25]",
    "BUILD_CONST_KEY_MAP": "builds a dict (Numba returns a typed Dict) [25]",
    "MAP_ADD": "builds a dict (Numba returns a typed Dict) [25]",
    "STORE_GLOBAL": "assigns a module global",
    "DELETE_GLOBAL": "deletes a module global",
    "IMPORT_NAME": "imports inside the function",
    "LOAD_BUILD_CLASS": "defines a class",
    "MAKE_FUNCTION": "defines a nested function or lambda",
}


def _instructions(code: CodeType) -> list[dis.Instruction]:
    return list(dis.get_instructions(code))


def _nested_codes(code: CodeType) -> Iterator[CodeType]:
    for const in code.co_consts:
        if isinstance(const, CodeType):
            yield const
            yield from _nested_codes(const)


def reassigned_globals(module_code: CodeType) -> frozenset[str]:
    """Names the module binds more than once, so a compiled reader could see a stale value.

    Counted as reassigned: a name stored or deleted twice at module level, stored inside a
    module-level loop, or stored/deleted through ``global`` in any function of the module.

    Args:
        module_code: the module's top-level code object.
    """
    counts: dict[str, int] = {}
    instructions = _instructions(module_code)
    loops = [
        (ins.argval, ins.offset)
        for ins in instructions
        if ins.opname.startswith("JUMP") and isinstance(ins.argval, int) and ins.argval < ins.offset
    ]
    for ins in instructions:
        if ins.opname in _STORES:
            in_loop = any(start <= ins.offset <= end for start, end in loops)
            counts[ins.argval] = counts.get(ins.argval, 0) + (2 if in_loop else 1)
    for nested in _nested_codes(module_code):
        for ins in _instructions(nested):
            if ins.opname in ("STORE_GLOBAL", "DELETE_GLOBAL"):
                counts[ins.argval] = counts.get(ins.argval, 0) + 2
    return frozenset(name for name, count in counts.items() if count > 1)


def _signature_refusal(code: CodeType) -> str | None:
    if code.co_flags & _GENERATOR_FLAGS:
        return "is a generator or coroutine (Numba builds a different kind of object) [31]"
    if code.co_flags & _VARARG_FLAGS:
        return "takes *args or **kwargs (argument writes could be lost) [24]"
    if code.co_kwonlyargcount:
        return "has keyword-only arguments, which Numba does not accept [29]"
    if code.co_freevars:
        return (
            f"is a closure over {', '.join(code.co_freevars)} (Numba freezes captured values) [27]"
        )
    if code.co_cellvars:
        return "defines a closure over its own variables"
    if getattr(code, "co_exceptiontable", b""):
        return "contains try/except, with or finally (exceptions are handled differently) [33]"
    return None


def _call_arity(instructions: list[dis.Instruction], start: int) -> int | None:
    """Positional argument count of the call consuming the callable loaded at ``start``."""
    depth = 0
    for ins in instructions[start + 1 :]:
        if ins.opname in _CALLS and ins.arg == depth:
            return ins.arg
        has_arg = ins.opcode >= dis.HAVE_ARGUMENT
        depth += dis.stack_effect(ins.opcode, ins.arg if has_arg else None, jump=False)
        if depth < 0:
            return None
    return None


def _global_refusal(
    instructions: list[dis.Instruction], name: str, reassigned: frozenset[str]
) -> str | None:
    for index, ins in enumerate(instructions):
        if ins.opname != "LOAD_GLOBAL":
            continue
        if ins.argval in reassigned:
            return _at(f"reads global {ins.argval}, which the module reassigns [27]", ins)
        if ins.argval in _REFUSED_BUILTINS:
            return _at(f"{_REFUSED_BUILTINS[ins.argval]}: calls {ins.argval}", ins)
        if ins.argval == name:
            return _at("is recursive (CPython's recursion limit would not apply) [30]", ins)
        if ins.argval == "round" and _call_arity(instructions, index) != 1:
            return _at("calls round() with ndigits (rounds differently) [15]", ins)
    return None


def _at(reason: str, ins: dis.Instruction) -> str:
    """``reason`` with the source line of ``ins`` (Python 3.11+ knows every instruction's)."""
    line = getattr(getattr(ins, "positions", None), "lineno", None)
    return reason if line is None else f"{reason} (line {line})"


def static_refusal(code: CodeType, reassigned: frozenset[str]) -> str | None:
    """Why ``code`` must never run compiled, or ``None`` when no static reason is known.

    Args:
        code: a function's code object, before any rewriting.
        reassigned: names from :func:`reassigned_globals` for its module.

    Returns:
        A short reason for the report (catalogue row numbers in brackets), or ``None``.
    """
    reason = _signature_refusal(code)
    if reason:
        return reason
    instructions = _instructions(code)
    for ins in instructions:
        if ins.opname in _REFUSED_OPCODES:
            return _at(_REFUSED_OPCODES[ins.opname], ins)
        if ins.opname.startswith("SETUP_"):
            return _at(
                "contains try/except, with or finally (exceptions are handled differently) [33]",
                ins,
            )
    return _global_refusal(instructions, code.co_name, reassigned)
