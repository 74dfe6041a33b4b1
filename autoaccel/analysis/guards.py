"""Static guards: reasons, read from the bytecode alone, never to compile a function.

Why this design: each row of docs/divergences.md marked S (static) is a check on
the code object, run once when the module is imported. A function refused here gets no
trampoline at all, so it costs nothing per call; the reason goes to the report. The checks
are conservative: a false refusal costs speed, a missed one could change an answer.
"""

from __future__ import annotations

import dis
import functools
import inspect
from collections.abc import Iterator, Sequence
from types import CodeType

from autoaccel.analysis.bound import keywords_refusal

_GENERATOR_FLAGS = inspect.CO_GENERATOR | inspect.CO_COROUTINE | inspect.CO_ASYNC_GENERATOR
_STORES = frozenset({"STORE_NAME", "STORE_GLOBAL", "DELETE_NAME", "DELETE_GLOBAL"})
_CALLS = frozenset({"PRECALL", "CALL", "CALL_FUNCTION"})

# Builtins whose compiled behaviour differs from CPython's (their row of docs/divergences.md
# in brackets).
REFUSED_BUILTINS = {
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
    # 3.13 replaced FORMAT_VALUE by these two (CONVERT_VALUE, for !r, precedes one of them)
    "FORMAT_SIMPLE": "formats values as strings (f-string) [13]",
    "FORMAT_WITH_SPEC": "formats values as strings (f-string) [13]",
    "BUILD_MAP": "builds a dict (Numba returns a typed Dict) [25]",
    "BUILD_CONST_KEY_MAP": "builds a dict (Numba returns a typed Dict) [25]",
    "MAP_ADD": "builds a dict (Numba returns a typed Dict) [25]",
    "STORE_GLOBAL": "assigns a module global",
    "DELETE_GLOBAL": "deletes a module global",
    "IMPORT_NAME": "imports inside the function",
    "LOAD_BUILD_CLASS": "defines a class",
    "MAKE_FUNCTION": "defines a nested function or lambda",
}


def _instructions(code: CodeType) -> tuple[dis.Instruction, ...]:
    try:
        return _read_instructions(code)
    except TypeError:  # code holding the rewriting's placeholders (lists) has no hash
        return tuple(dis.get_instructions(code))


@functools.lru_cache(maxsize=128)
def _read_instructions(code: CodeType) -> tuple[dis.Instruction, ...]:
    # A rewrite reads each function's instructions up to three times (the module's
    # reassigned globals, the exception table, the opcodes); dis took a sixth of it.
    return tuple(dis.get_instructions(code))


def _nested_codes(code: CodeType) -> Iterator[CodeType]:
    for const in code.co_consts:
        if isinstance(const, CodeType):
            yield const
            yield from _nested_codes(const)


def reassigned_globals(module_code: CodeType) -> frozenset[str]:
    """Names whose value can change after the module's import, so a compiled reader is refused.

    Counted: a name stored or deleted inside a module-level loop (``__main__``'s loops run
    while the program runs, and the loop engine compiles them with their helpers, whose
    frozen globals could not follow the loop's own assignments), or stored/deleted through
    ``global`` in any function of the module. A name the module's top-level code binds
    more than once outside loops (``try: import numpy as np`` / ``except ImportError:
    np = None``, ``if sys.version_info ...: X = ... else: X = ...``, a flag set and reset)
    is not: its final value is frozen like any global's and the snapshot
    (:mod:`autoaccel.backends.snapshot`) catches a later change (docs/divergences.md,
    row 27).

    Args:
        module_code: the module's top-level code object.
    """
    instructions = _instructions(module_code)
    in_loops: set[int] = set().union(*_loops(instructions))
    names = {ins.argval for ins in instructions if ins.opname in _STORES and ins.offset in in_loops}
    for nested in _nested_codes(module_code):
        names.update(
            ins.argval
            for ins in _instructions(nested)
            if ins.opname in ("STORE_GLOBAL", "DELETE_GLOBAL")
        )
    return frozenset(names)


# Instructions after which control does not go on to the next one.
_NO_FALL_THROUGH = frozenset(
    {
        "RETURN_VALUE",
        "RETURN_CONST",
        "RAISE_VARARGS",
        "RERAISE",
        "JUMP_FORWARD",
        "JUMP_BACKWARD",
        "JUMP_BACKWARD_NO_INTERRUPT",
        "JUMP_ABSOLUTE",
    }
)
_JUMPS = frozenset(dis.hasjrel) | frozenset(dis.hasjabs)


def _loops(instructions: Sequence[dis.Instruction]) -> Iterator[set[int]]:
    """The offsets of each loop: the instructions between a backward jump's target and the
    jump that the target reaches by normal flow (exception handlers left out).

    A backward jump that its target does not reach is no loop: 3.12+ puts a module-level
    ``except`` block at the end of the code and jumps back from it to what follows the
    ``try``.
    """
    by_offset = {ins.offset: index for index, ins in enumerate(instructions)}
    for ins in instructions:
        if ins.opcode in _JUMPS and isinstance(ins.argval, int) and ins.argval < ins.offset:
            reached = _reachable(instructions, by_offset, ins.argval, ins.offset)
            if ins.offset in reached:
                yield reached


def _reachable(
    instructions: Sequence[dis.Instruction], by_offset: dict[int, int], start: int, end: int
) -> set[int]:
    """Offsets in ``[start, end]`` reached from ``start`` by normal control flow."""
    seen: set[int] = set()
    pending = [start]
    while pending:
        offset = pending.pop()
        if offset in seen or not start <= offset <= end or offset not in by_offset:
            continue
        seen.add(offset)
        index = by_offset[offset]
        ins = instructions[index]
        if ins.opcode in _JUMPS and isinstance(ins.argval, int):
            pending.append(ins.argval)
        if ins.opname not in _NO_FALL_THROUGH and index + 1 < len(instructions):
            pending.append(instructions[index + 1].offset)
    return seen


def _signature_refusal(code: CodeType) -> str | None:
    if code.co_flags & _GENERATOR_FLAGS:
        return "is a generator or coroutine (Numba builds a different kind of object) [31]"
    # *args, **kwargs: compiled per call shape (docs/divergences.md, row 24; docs/divergences.md, row 29)
    keywords = keywords_refusal(code)
    if keywords:
        return f"{keywords} [29]"
    if code.co_freevars:
        return (
            f"is a closure over {', '.join(code.co_freevars)} (Numba freezes captured values) [27]"
        )
    if code.co_cellvars:
        return "defines a closure over its own variables"
    return _exception_table_refusal(code)


_TRY = "contains try/except, with or finally (exceptions are handled differently) [33]"
# Before 3.12 a comprehension is a nested function, refused by MAKE_FUNCTION; refusing the
# inlined one too keeps the decisions the same on every version.
_COMPREHENSION = "contains a comprehension (a nested function before Python 3.12, refused alike)"


def _exception_table_refusal(code: CodeType) -> str | None:
    """The refusal the exception table of ``code`` (3.11+) calls for, or ``None``.

    Python 3.12+ inlines comprehensions (PEP 709) and gives each a handler that only puts
    back the outer values of the comprehension's variables and re-raises: that is not a
    ``try``. Every other handler (``except``, ``finally``, ``with`` and their cleanups) is.
    3.10 has no table but ``SETUP_FINALLY``/``SETUP_WITH`` opcodes, read here too, so that
    a ``try`` is the reason given first there as well.
    """
    instructions = _instructions(code)
    if not hasattr(code, "co_exceptiontable"):
        setup = next((ins for ins in instructions if ins.opname.startswith("SETUP_")), None)
        return None if setup is None else _at(_TRY, setup)
    if not code.co_exceptiontable:
        return None
    index_at = {ins.offset: index for index, ins in enumerate(instructions)}
    for entry in dis.Bytecode(code).exception_entries:  # type: ignore[attr-defined]
        if not _restores_comprehension(instructions[index_at[entry.target] :]):
            return _at(_TRY, instructions[index_at[entry.start]])
    return _COMPREHENSION


def _restores_comprehension(handler: Sequence[dis.Instruction]) -> bool:
    """Whether ``handler`` is an inlined comprehension's: ``SWAP 2; POP_TOP`` (the partial
    result), ``SWAP n`` and ``n - 1`` stores (the saved variables), ``RERAISE 0``."""
    ops = [(ins.opname, ins.arg) for ins in handler[:3]]
    if len(ops) < 3 or ops[:2] != [("SWAP", 2), ("POP_TOP", None)] or ops[2][0] != "SWAP":
        return False
    saved = handler[2].argval - 1
    for ins in handler[3:]:
        if saved == 0:
            return (ins.opname, ins.arg) == ("RERAISE", 0)
        # 3.13 may fuse two stores into one instruction
        stores = {"STORE_FAST": 1, "STORE_FAST_STORE_FAST": 2}.get(ins.opname, 0)
        if not 0 < stores <= saved:
            return False
        saved -= stores
    return False


def _call_arity(instructions: Sequence[dis.Instruction], start: int) -> int | None:
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
    instructions: Sequence[dis.Instruction], reassigned: frozenset[str]
) -> str | None:
    for index, ins in enumerate(instructions):
        if ins.opname != "LOAD_GLOBAL":
            continue
        if ins.argval in reassigned:
            return _at(f"reads global {ins.argval}, which the module reassigns [27]", ins)
        if ins.argval in REFUSED_BUILTINS:
            return _at(f"{REFUSED_BUILTINS[ins.argval]}: calls {ins.argval}", ins)
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
        A short reason for the report (ending with its row of docs/divergences.md in
        brackets), or ``None``.
    """
    reason = _signature_refusal(code)
    if reason:
        return reason
    instructions = _instructions(code)
    for ins in instructions:
        if ins.opname in _REFUSED_OPCODES:
            return _at(_REFUSED_OPCODES[ins.opname], ins)
    return _global_refusal(instructions, reassigned)
