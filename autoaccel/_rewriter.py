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

Rewriting happens in two steps so that its result can be cached on disk
(:mod:`autoaccel._code_cache`): :func:`rewrite_module` (slow: ``bytecode`` and the static
guards) puts marshallable placeholders where the trampoline and ``MISS`` go and lists the
functions with their static refusals; :func:`bind` (cheap: ``code.replace`` where a constant
changes) makes the trampolines and puts them in. A first import rewrites, saves and binds; a
later one loads and binds.
"""

from __future__ import annotations

import dis
import functools
import inspect
import sys
from collections.abc import Callable
from types import CodeType
from typing import Any, NamedTuple

from bytecode import Bytecode, Instr, Label
from bytecode.instr import InstrLocation

from autoaccel._guards import reassigned_globals, static_refusal

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

# The placeholders a rewritten prologue holds until :func:`bind`: lists, because compile()
# never puts a list among a code object's constants, so user code cannot contain one (and
# :func:`rewrite_module` checks). Both marshal, so rewritten code can be cached on disk.
TRAMPOLINE_MARK = "@autoaccel-trampoline"  # [TRAMPOLINE_MARK, index into functions]
MISS_MARK = "@autoaccel-miss"  # [MISS_MARK]

# A function's code (what its trampoline gets) and its static refusal, or None.
Function = tuple[CodeType, str | None]
# Called as make_trampoline(code, refusal) -> the object the prologue consults.
TrampolineFactory = Callable[[CodeType, str | None], object]


class Rewritten(NamedTuple):
    """A rewritten module whose prologues hold placeholders; marshallable as a plain tuple.

    Attributes:
        code: the module code; each function without a static refusal starts with a
            prologue whose constants are placeholders.
        functions: per function, in post-order (nested functions before the function that
            defines them): the code its trampoline gets, that is the function with its
            nested functions rewritten but without its own prologue (for a refused function,
            the very code object in ``code``), and its static refusal or ``None``.
    """

    code: CodeType
    functions: tuple[Function, ...]


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


def insert_prologue(code: CodeType, trampoline: object, miss: object) -> CodeType:
    """``code`` starting with the trampoline prologue (see the module docstring).

    Args:
        code: a function's code object, without a prologue.
        trampoline: the object whose ``armed`` and ``enter`` the prologue reads (a
            placeholder in :func:`rewrite_module`, a live trampoline for ``@optimize``).
        miss: the sentinel ``enter`` returns to mean "run the original body".
    """
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


def _rewrite(code: CodeType, reassigned: frozenset[str], functions: list[Function]) -> CodeType:
    """``code`` with its nested functions rewritten (post-order: children numbered first)."""
    for const in code.co_consts:
        if type(const) is list:  # compile() never makes one, so no placeholder can collide
            raise ValueError(f"{code.co_name} holds a list constant, which compile() never makes")
    consts = tuple(
        _rewrite(const, reassigned, functions) if isinstance(const, CodeType) else const
        for const in code.co_consts
    )
    if any(new is not old for new, old in zip(consts, code.co_consts, strict=True)):
        code = code.replace(co_consts=consts)
    if not _is_function(code):
        return code
    refusal = static_refusal(code, reassigned)
    index = len(functions)
    functions.append((code, refusal))
    if refusal is not None:
        return code
    return insert_prologue(code, [TRAMPOLINE_MARK, index], [MISS_MARK])


_MAKE_FUNCTION = ("LOAD_CONST", "LOAD_CONST", "MAKE_FUNCTION")  # 3.10: code, qualname, make


def function_qualnames(rewritten: Rewritten) -> list[str]:
    """Each function's qualified name, in the order of ``rewritten.functions``.

    3.11+ reads ``co_qualname``. 3.10 code has none: there the qualified name is the string
    constant the parent loads just before ``MAKE_FUNCTION`` (``LOAD_CONST <code>;
    LOAD_CONST 'Ops.static'; MAKE_FUNCTION``), found by walking the module code in the order
    of :func:`_rewrite`, which also holds for code loaded from the cache.
    """
    if sys.version_info >= (3, 11):
        return [code.co_qualname for code, _ in rewritten.functions]
    names: list[str] = []

    def visit(code: CodeType, qualname: str) -> None:
        made: dict[int, str] = {}  # id(code constant) -> the qualname it is made with
        ins = list(dis.get_instructions(code))
        for first, second, third in zip(ins, ins[1:], ins[2:], strict=False):
            shape = (first.opname, second.opname, third.opname)
            if shape == _MAKE_FUNCTION and isinstance(first.argval, CodeType):
                made[id(first.argval)] = second.argval
        for const in code.co_consts:
            if isinstance(const, CodeType):
                visit(const, made.get(id(const), const.co_name))
        if _is_function(code):
            names.append(qualname)

    visit(rewritten.code, "")
    return names


def _is_function(code: CodeType) -> bool:
    # Class bodies and module code have no CO_NEWLOCALS; lambdas and comprehensions are
    # named "<...>" and are left alone.
    return bool(code.co_flags & inspect.CO_NEWLOCALS) and not code.co_name.startswith("<")


def rewrite_module(module_code: CodeType) -> Rewritten:
    """``module_code`` with a placeholder prologue in each function it defines, at any depth.

    The result depends on the code alone (never on the configuration or the process), so it
    can be marshalled and reused by any later import of the same source: every function
    without a static refusal gets a prologue, and :func:`bind` later puts the live
    trampolines in. A function the configuration disables simply gets a disarmed trampoline.

    Args:
        module_code: a module's compiled top-level code object.

    Returns:
        The :class:`Rewritten` module: its code, and each function's code and static refusal.

    Raises:
        ValueError: the code holds a constant that could be taken for a placeholder (a list,
            which ``compile()`` never produces), so it cannot be rewritten safely.
    """
    functions: list[Function] = []
    code = _rewrite(module_code, reassigned_globals(module_code), functions)
    return Rewritten(code, tuple(functions))


class BindError(ValueError):
    """A placeholder that :func:`bind` cannot resolve (a damaged or foreign cache entry)."""


def bind(rewritten: Rewritten, make_trampoline: TrampolineFactory, miss: object) -> CodeType:
    """The runnable module code: ``rewritten`` with its placeholders replaced by live objects.

    Trampolines are made in the order of ``rewritten.functions`` (children before parents),
    each from its function's code with the nested placeholders already bound, so the
    trampoline's original body calls rewritten nested functions. Code objects are rebuilt with
    ``code.replace(co_consts=...)`` only where a constant changes; a shared code object is
    bound once, so a refused function's trampoline holds the very code object its function
    gets (what :func:`autoaccel._trampoline.lookup` relies on).

    Args:
        rewritten: the result of :func:`rewrite_module`, fresh or loaded from the cache.
        make_trampoline: called as ``make_trampoline(code, refusal)`` once per function, in
            order; returns the object the prologue's ``armed`` and ``enter`` are read from.
        miss: the sentinel ``enter`` returns to mean "run the original body".

    Raises:
        BindError: a placeholder is malformed or names a function not made yet.
    """
    bound: dict[int, CodeType] = {}
    trampolines: list[object] = []

    def substitute(const: Any) -> Any:
        if isinstance(const, CodeType):
            return bind_code(const)
        mark = const[0] if const else None
        if mark == MISS_MARK and len(const) == 1:
            return miss
        if (
            mark == TRAMPOLINE_MARK
            and len(const) == 2
            and type(const[1]) is int
            and 0 <= const[1] < len(trampolines)
        ):
            return trampolines[const[1]]
        raise BindError(f"cannot bind placeholder {const!r}")

    def bind_code(code: CodeType) -> CodeType:
        done = bound.get(id(code))
        if done is not None:
            return done
        consts: list | None = None  # a copy, made at the first constant that changes
        for index, const in enumerate(code.co_consts):
            if type(const) is list or isinstance(const, CodeType):
                value = substitute(const)
                if value is not const:
                    consts = consts or list(code.co_consts)
                    consts[index] = value
        done = bound[id(code)] = code if consts is None else code.replace(co_consts=tuple(consts))
        return done

    for function_code, refusal in rewritten.functions:
        trampolines.append(make_trampoline(bind_code(function_code), refusal))
    return bind_code(rewritten.code)
