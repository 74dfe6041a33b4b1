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

The whole module is rewritten by :mod:`autoaccel.rewrite.module`, which puts marshallable
placeholders where the trampoline and ``MISS`` go, and binds live objects in later.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from types import CodeType
from typing import Any

from bytecode import Bytecode, Instr, Label
from bytecode.instr import InstrLocation

from autoaccel.analysis.bound import bound_names

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

# The placeholders a rewritten prologue holds until it is bound (autoaccel.rewrite.module):
# lists, because compile() never puts a list among a code object's constants, so user code
# cannot contain one (and the rewriting checks). Both marshal, so rewritten code can be
# cached on disk.
# Stack slots the prologue's call needs besides its arguments (NULL or self, the method,
# the trampoline; one spare).
_PROLOGUE_STACK = 4
TRAMPOLINE_MARK = "@autoaccel-trampoline"  # [TRAMPOLINE_MARK, index into functions]
MISS_MARK = "@autoaccel-miss"  # [MISS_MARK]


@functools.lru_cache(maxsize=64)
def _template_instructions(params: tuple[str, ...]) -> tuple:
    """The template's instructions for ``params``; shared, so :func:`prologue` copies them."""
    namespace: dict = {}
    exec(compile(_TEMPLATE.format(params=", ".join(params)), "<autoaccel>", "exec"), namespace)
    return tuple(Bytecode.from_code(namespace["_template"].__code__))


def _substitute(instr: Instr, constants: dict[str, Any], lineno: int) -> list:
    """The template instruction with its globals turned into constants, moved to ``lineno``."""
    arg: Any = instr.arg
    name: Any = (
        arg[1] if isinstance(arg, tuple) and len(arg) == 2 and isinstance(arg[1], str) else arg
    )
    location = InstrLocation(lineno, lineno, None, None)
    if instr.name == "LOAD_GLOBAL" and name in constants:
        return constant_load(instr, constants[name], location)
    if isinstance(arg, str) and arg == _RESULT:
        arg = RESULT_LOCAL
    elif isinstance(arg, tuple) and _RESULT in arg:
        arg = tuple(RESULT_LOCAL if part == _RESULT else part for part in arg)
    copy = instr.copy()
    if arg is not instr.arg:
        copy.arg = arg
    copy.location = location
    return [copy]


def constant_load(instr: Instr, value: object, location: InstrLocation | None = None) -> list:
    """``LOAD_CONST value`` in place of ``instr`` (``LOAD_GLOBAL`` or ``LOAD_NAME``).

    ``LOAD_GLOBAL`` of a name being called also pushes the NULL that ``CALL`` expects
    (3.11+; the ``bytecode`` library spells its argument ``(True, name)``): 3.11 and 3.12
    want it below the callable, 3.13 above.
    """
    location = location if location is not None else instr.location
    load = [Instr("LOAD_CONST", value, location=location)]  # type: ignore[arg-type]
    if instr.name == "LOAD_GLOBAL" and isinstance(instr.arg, tuple) and instr.arg[0]:
        null = Instr("PUSH_NULL", location=location)
        load.insert(len(load) if sys.version_info >= (3, 13) else 0, null)
    return load


def loaded_name(instr: Instr) -> str | None:
    """The name a ``LOAD_GLOBAL`` or ``LOAD_NAME`` loads, else ``None``."""
    if instr.name not in ("LOAD_GLOBAL", "LOAD_NAME"):
        return None
    arg = instr.arg
    name = arg[1] if isinstance(arg, tuple) else arg
    return name if isinstance(name, str) else None


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
    labels: dict[Label, Label] = {}  # fresh labels: the cached template's are shared
    out: list = []
    for ins in template[start:end]:
        if isinstance(ins, Label):
            out.append(labels.setdefault(ins, Label()))
            continue
        for new in _substitute(ins, constants, lineno):
            if isinstance(new.arg, Label):
                new.arg = labels.setdefault(new.arg, Label())
            out.append(new)
    assert isinstance(out[-1], Label), "template must end at the body label"
    return out


def insert_prologue(
    code: CodeType,
    trampoline: object,
    miss: object,
    edit: Callable[[Bytecode], object] | None = None,
) -> CodeType:
    """``code`` starting with the trampoline prologue (see the module docstring).

    Args:
        code: a function's code object, without a prologue.
        trampoline: the object whose ``armed`` and ``enter`` the prologue reads (a
            placeholder when a module is rewritten, a live trampoline for ``@optimize``).
        miss: the sentinel ``enter`` returns to mean "run the original body".
        edit: another change made to the body's instructions in place, in the same pass
            (the loop instrumentation's placeholders); it must keep the stack depths.
    """
    # The exception table's stack depths are kept as they are: the prologue runs on an
    # empty stack and leaves it empty, so no depth changes, and neither does the stack
    # size beyond what the prologue's call needs (the trampoline, its method, the
    # arguments). Computing both from the control-flow graph took half of the rewrite.
    bytecode = Bytecode.from_code(code, conserve_exception_block_stackdepth=True)
    if edit is not None:
        edit(bytecode)
    params = bound_names(code)  # *args and **kwargs as CPython bound them, too
    # Keep RESUME / MAKE_CELL / COPY_FREE_VARS (3.11+) ahead of the prologue.
    position = 0
    for index, ins in enumerate(bytecode):
        if isinstance(ins, Instr) and ins.name == "RESUME":
            position = index + 1
            break
    bytecode[position:position] = prologue(params, trampoline, miss, code.co_firstlineno)
    stacksize = max(code.co_stacksize, len(params) + _PROLOGUE_STACK)
    return bytecode.to_code(stacksize=stacksize, compute_exception_stack_depths=False)
