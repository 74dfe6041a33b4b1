"""Code rewriting: give every function of a module a trampoline prologue.

Why this design: a wrapper function around each user function costs ~150 ns a call and
changes the object that decorators, registries and ``from mod import f`` capture. Instead the
module's code object is rewritten before it runs (as pytest rewrites test modules), so each
``def`` creates the user's own function object whose code starts with a prologue::

    if <trampoline>.armed:
        result = <trampoline>.enter(arg0, arg1, ...)
        if result is not <MISS>:
            return result
    ... original body ...

The trampoline is a constant of the code object, so the disarmed check is a constant load, an
attribute load and a jump (a few ns). Because the prologue runs after CPython has bound the
arguments, defaults and keywords are already applied. The prologue is taken from a template
compiled by the running interpreter, so its opcodes always match the Python version; the
``bytecode`` library splices it in and recomputes jumps, stack size and line tables.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from types import CodeType
from typing import Any

from bytecode import Bytecode, Instr, Label
from bytecode.instr import InstrLocation

from autoaccel._guards import reassigned_globals

_STATE, _MISS, _RESULT, _BODY = "_aa_state_", "_aa_miss_", "_aa_result_", "_aa_body_"
# A name no Python source can declare, so the prologue's local never collides.
RESULT_LOCAL = "@autoaccel_result"

_TEMPLATE = f"""
def _template({{params}}):
    if {_STATE}.armed:
        {_RESULT} = {_STATE}.enter({{params}})
        if {_RESULT} is not {_MISS}:
            return {_RESULT}
    {_BODY}()
"""

# Called as make_trampoline(code, reassigned) -> trampoline or None (None: leave code alone).
TrampolineFactory = Callable[[CodeType, frozenset], object]


def _template_instructions(params: tuple[str, ...]) -> list:
    namespace: dict = {}
    exec(compile(_TEMPLATE.format(params=", ".join(params)), "<autoaccel>", "exec"), namespace)
    return list(Bytecode.from_code(namespace["_template"].__code__))


def _substitute(instr: Instr, constants: dict[str, Any], lineno: int) -> list:
    """The template instruction with its globals turned into constants, moved to ``lineno``."""
    arg: Any = instr.arg
    name: Any = (
        arg[1] if isinstance(arg, tuple) and len(arg) == 2 and isinstance(arg[1], str) else arg
    )
    location = InstrLocation(lineno, lineno, None, None)
    if instr.name == "LOAD_GLOBAL" and name in constants:
        load = [Instr("LOAD_CONST", constants[name], location=location)]
        if isinstance(arg, tuple) and arg[0]:
            load.insert(0, Instr("PUSH_NULL", location=location))
        return load
    if isinstance(arg, str) and arg == _RESULT:
        arg = RESULT_LOCAL
    elif isinstance(arg, tuple) and _RESULT in arg:
        arg = tuple(RESULT_LOCAL if part == _RESULT else part for part in arg)
    copy = instr.copy()
    if arg is not instr.arg:
        copy.arg = arg
    copy.location = location
    return [copy]


def prologue(params: tuple[str, ...], trampoline: object, miss: object, lineno: int) -> list:
    """Instructions of the trampoline prologue for a function with parameters ``params``.

    The returned list ends with the label that the disarmed and missed paths jump to, so the
    original body can simply follow it.
    """
    template = _template_instructions(params)
    end = next(
        i
        for i, ins in enumerate(template)
        if isinstance(ins, Instr) and ins.name == "LOAD_GLOBAL" and _BODY in str(ins.arg)
    )
    start = next(
        i for i, ins in enumerate(template) if isinstance(ins, Instr) and ins.name == "LOAD_GLOBAL"
    )
    constants = {_STATE: trampoline, _MISS: miss}
    out: list = []
    for ins in template[start:end]:
        out.extend(_substitute(ins, constants, lineno) if isinstance(ins, Instr) else [ins])
    assert isinstance(out[-1], Label), "template must end at the body label"
    return out


def _insert_prologue(code: CodeType, trampoline: object, miss: object) -> CodeType:
    bytecode = Bytecode.from_code(code)
    params = code.co_varnames[: code.co_argcount]
    # Keep RESUME / MAKE_CELL / COPY_FREE_VARS (3.11+) ahead of the prologue.
    position = 0
    for index, ins in enumerate(bytecode):
        if isinstance(ins, Instr) and ins.name == "RESUME":
            position = index + 1
            break
    bytecode[position:position] = prologue(params, trampoline, miss, code.co_firstlineno)
    return bytecode.to_code()


def _rewrite(
    code: CodeType, make_trampoline: TrampolineFactory, reassigned: frozenset[str], miss: object
) -> CodeType:
    consts = tuple(
        _rewrite(const, make_trampoline, reassigned, miss) if isinstance(const, CodeType) else const
        for const in code.co_consts
    )
    if consts != code.co_consts:
        code = code.replace(co_consts=consts)
    if not _is_function(code):
        return code
    trampoline = make_trampoline(code, reassigned)
    return code if trampoline is None else _insert_prologue(code, trampoline, miss)


def _is_function(code: CodeType) -> bool:
    # Class bodies and module code have no CO_NEWLOCALS; lambdas and comprehensions are
    # named "<...>" and are left alone.
    return bool(code.co_flags & inspect.CO_NEWLOCALS) and not code.co_name.startswith("<")


def rewrite_module(
    module_code: CodeType, make_trampoline: TrampolineFactory, miss: object
) -> CodeType:
    """``module_code`` with a trampoline prologue in each function it defines, at any depth.

    Args:
        module_code: a module's compiled top-level code object.
        make_trampoline: called once per function code object with ``(code, reassigned)``
            where ``reassigned`` holds the module's reassigned global names; returns the
            trampoline to embed, or ``None`` to leave that function unchanged.
        miss: the sentinel ``enter`` returns to mean "run the original body".

    Returns:
        The rewritten code object (the input itself when nothing changed).
    """
    return _rewrite(module_code, make_trampoline, reassigned_globals(module_code), miss)
