"""Rewriting a whole module: loops instrumented, function prologues, placeholders bound later.

Why this design: rewriting happens in two steps so that its result can be cached on disk
(:mod:`autoaccel.cache.code`). :func:`rewrite_source` (slow: ``ast``, ``bytecode`` and the
static guards) compiles the source twice: as written, which is what each function's
trampoline compiles and trials, and with its candidate loops instrumented
(:mod:`autoaccel.rewrite.loop_host`), which is what runs. It puts a prologue into every
function the static guards accept, and marshallable placeholders where live objects go: the
function trampolines, ``MISS``, the loop trampolines, and the builtins the instrumentation
calls. The result depends on the source alone, never on the configuration or the process.
:func:`bind` (cheap: ``code.replace`` where a constant changes) makes the trampolines and
puts them in. A first import rewrites, saves and binds; a later one loads and binds.
"""

from __future__ import annotations

import ast
import dis
import importlib.util
import inspect
import sys
from collections.abc import Callable, Mapping
from types import CodeType
from typing import Any, NamedTuple

from bytecode import Bytecode, Instr

from autoaccel.analysis.guards import reassigned_globals, static_refusal
from autoaccel.rewrite.jitted import jitted_positions
from autoaccel.rewrite.loop_host import LOOP_PREFIX, LoopRewriter, is_constant_name
from autoaccel.rewrite.prologue import (
    MISS_MARK,
    TRAMPOLINE_MARK,
    constant_load,
    insert_prologue,
    loaded_name,
)

# The placeholder of a name the instrumentation loads: [NAME_MARK, "@loop3"], say.
NAME_MARK = "@autoaccel-name"

# A function's code (what its trampoline gets) and its static refusal, or None.
Function = tuple[CodeType, str | None]
# Called as make_trampoline(code, refusal) -> the object the prologue consults.
TrampolineFactory = Callable[[CodeType, str | None], object]
# Called as make_loop(spec) -> the object a loop's instrumentation consults.
LoopFactory = Callable[[tuple], object]


class Rewritten(NamedTuple):
    """A rewritten module whose code holds placeholders; marshallable as a plain tuple.

    Attributes:
        code: the module code; each function without a static refusal starts with a
            prologue, and each candidate loop is instrumented, with placeholders for the
            live objects.
        functions: per function, in post-order (nested functions before the function that
            defines them): the code its trampoline gets (for a function with a prologue, its
            code as written; for a refused one, the very code object in ``code``), and its
            static refusal or ``None``.
        loops: per loop of the module, its :class:`~autoaccel.analysis.loops.LoopSpec` as
            a plain tuple.
    """

    code: CodeType
    functions: tuple[Function, ...]
    loops: tuple[tuple, ...] = ()


def rewrite_source(source: bytes, filename: str) -> Rewritten:
    """The module ``source`` rewritten: loops instrumented, prologues, placeholders.

    Args:
        source: the module's source bytes, as read from its file.
        filename: the name compiled into the code (the module's ``__file__``).

    Raises:
        SyntaxError: the source does not compile.
        ValueError: the code holds a constant that could be taken for a placeholder.
    """
    tree = ast.parse(source, filename)
    jitted = jitted_positions(tree)
    original = compile(tree, filename, "exec", dont_inherit=True)
    lines = importlib.util.decode_source(source).splitlines(keepends=True)
    rewriter = LoopRewriter(lines, jitted)
    # A second parse instead of a copy of the first tree: ast.parse is C, a deep copy of a
    # large module's tree took a fifth of its rewrite.
    instrumented_tree = rewriter.module(ast.parse(source, filename))
    if any(not spec.refusal for spec in rewriter.specs):
        running = compile(instrumented_tree, filename, "exec", dont_inherit=True)
    else:
        running = original  # nothing instrumented: the code as written runs
    functions: list[Function] = []
    rewriting = _Rewriting(reassigned_globals(original), _functions_of(original), functions, jitted)
    code = rewriting.code(running)
    return Rewritten(code, tuple(functions), tuple(tuple(spec) for spec in rewriter.specs))


def rewrite_module(module_code: CodeType) -> Rewritten:
    """``module_code`` with a placeholder prologue in each function (no source: no loops).

    For code without its source (a ``.pyc``-only module, an ``exec`` of a code object).

    Raises:
        ValueError: the code holds a constant that could be taken for a placeholder.
    """
    functions: list[Function] = []
    rewriting = _Rewriting(reassigned_globals(module_code), {}, functions)
    return Rewritten(rewriting.code(module_code), tuple(functions))


_JITTED = "compiled by Numba's own decorator in the module; left as written"


def _position(code: CodeType) -> tuple:
    return (code.co_name, code.co_firstlineno, getattr(code, "co_qualname", None))


def _functions_of(code: CodeType) -> dict[tuple, CodeType]:
    """The function code objects of a module's code, by name and first line, at any depth."""
    found: dict[tuple, CodeType] = {}
    stack = [code]
    while stack:
        current = stack.pop()
        if _is_function(current):
            found.setdefault(_position(current), current)
        stack.extend(c for c in current.co_consts if isinstance(c, CodeType))
    return found


class _Rewriting:
    """One pass over a module's code objects (post-order: children numbered first)."""

    def __init__(
        self,
        reassigned: frozenset[str],
        originals: dict[tuple, CodeType],
        functions: list[Function],
        jitted: frozenset[tuple[str, int]] = frozenset(),
    ) -> None:
        self.reassigned = reassigned
        self.originals = originals
        self.functions = functions
        self.jitted = jitted  # compiled by Numba's own decorators: left as written

    def code(self, code: CodeType) -> CodeType:
        for const in code.co_consts:
            if type(const) is list:  # compile() never makes one, so no placeholder collides
                raise ValueError(
                    f"{code.co_name} holds a list constant, which compile() never makes"
                )
        consts = tuple(
            self.code(const) if isinstance(const, CodeType) else const for const in code.co_consts
        )
        if any(new is not old for new, old in zip(consts, code.co_consts, strict=True)):
            code = code.replace(co_consts=consts)
        if not _is_function(code):
            return _placeholders(code)
        written = self.originals.get(_position(code), code)
        if (code.co_name, code.co_firstlineno) in self.jitted:
            refusal: str | None = _JITTED
        else:
            refusal = static_refusal(written, self.reassigned)
        index = len(self.functions)
        if refusal is not None:
            code = _placeholders(code)
            self.functions.append((code, refusal))
            return code
        self.functions.append((written, refusal))
        # One pass of the bytecode library for both edits: its round trip is most of a
        # rewrite, and a function with an instrumented loop needs both.
        edit = _substitute_placeholders if _has_placeholders(code) else None
        return insert_prologue(code, [TRAMPOLINE_MARK, index], [MISS_MARK], edit)


def _has_placeholders(code: CodeType) -> bool:
    """Whether ``code`` loads a name the instrumentation added (they start with ``@``)."""
    return any(name.startswith("@") for name in code.co_names)


def _placeholders(code: CodeType) -> CodeType:
    """``code`` loading a placeholder constant for each name the instrumentation loads."""
    if not _has_placeholders(code):
        return code
    # A constant load in place of a global load needs no other stack (3.11+'s NULL is
    # pushed either way), so the stack size and the exception table's depths are kept.
    bytecode = Bytecode.from_code(code, conserve_exception_block_stackdepth=True)
    if not _substitute_placeholders(bytecode):
        return code
    return bytecode.to_code(stacksize=code.co_stacksize, compute_exception_stack_depths=False)


def _substitute_placeholders(bytecode: Bytecode) -> bool:
    """Load a placeholder constant in ``bytecode`` (in place) for each name the
    instrumentation loads; whether there was one."""
    changed = False
    out: list[Any] = []
    for ins in bytecode:
        name = loaded_name(ins) if isinstance(ins, Instr) else None
        if name is not None and isinstance(ins, Instr) and is_constant_name(name):
            out.extend(constant_load(ins, [NAME_MARK, name]))
            changed = True
        else:
            out.append(ins)
    if changed:
        bytecode.clear()
        bytecode.extend(out)
    return changed


_MAKE_FUNCTION = ("LOAD_CONST", "LOAD_CONST", "MAKE_FUNCTION")  # 3.10: code, qualname, make


def function_qualnames(rewritten: Rewritten) -> list[str]:
    """Each function's qualified name, in the order of ``rewritten.functions``.

    3.11+ reads ``co_qualname``. 3.10 code has none: there the qualified name is the string
    constant the parent loads just before ``MAKE_FUNCTION`` (``LOAD_CONST <code>;
    LOAD_CONST 'Ops.static'; MAKE_FUNCTION``), found by walking the module code in the order
    of the rewriting, which also holds for code loaded from the cache.
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


class BindError(ValueError):
    """A placeholder that :func:`bind` cannot resolve (a damaged or foreign cache entry)."""


def bind(
    rewritten: Rewritten,
    make_trampoline: TrampolineFactory,
    miss: object,
    make_loop: LoopFactory | None = None,
    names: Mapping[str, object] | None = None,
) -> CodeType:
    """The runnable module code: ``rewritten`` with its placeholders replaced by live objects.

    Loop trampolines are made first, in the order of ``rewritten.loops``; then function
    trampolines in the order of ``rewritten.functions`` (children before parents), each from
    its function's code with the nested placeholders already bound. Code objects are rebuilt
    with ``code.replace(co_consts=...)`` only where a constant changes; a shared code object
    is bound once, so a refused function's trampoline holds the very code object its function
    gets (what :func:`autoaccel.runtime.registry.lookup` relies on).

    Args:
        rewritten: the result of :func:`rewrite_source` or :func:`rewrite_module`, fresh or
            loaded from the cache.
        make_trampoline: called as ``make_trampoline(code, refusal)`` once per function, in
            order; returns the object the prologue's ``armed`` and ``enter`` are read from.
        miss: the sentinel ``enter`` returns to mean "run the original body".
        make_loop: called as ``make_loop(spec)`` once per loop (a spec tuple); returns the
            object its instrumentation consults. Required when there are loops.
        names: the constants of the instrumentation's other names (``"@locals"``...).

    Raises:
        BindError: a placeholder is malformed or names something not made.
    """
    loops = [make_loop(spec) for spec in rewritten.loops] if make_loop else []
    constants = dict(names or {})
    constants.update((f"{LOOP_PREFIX}{i}", loop) for i, loop in enumerate(loops))
    binder = _Binder(miss, constants)
    for function_code, refusal in rewritten.functions:
        binder.trampolines.append(make_trampoline(binder.code(function_code), refusal))
    return binder.code(rewritten.code)


class _Binder:
    """Placeholder substitution over a module's code objects, memoized by identity."""

    def __init__(self, miss: object, constants: dict[str, object]) -> None:
        self.miss = miss
        self.constants = constants
        self.trampolines: list[object] = []
        self.bound: dict[int, CodeType] = {}

    def substitute(self, const: Any) -> Any:
        if isinstance(const, CodeType):
            return self.code(const)
        mark = const[0] if const else None
        if mark == MISS_MARK and len(const) == 1:
            return self.miss
        if (
            mark == TRAMPOLINE_MARK
            and len(const) == 2
            and type(const[1]) is int
            and 0 <= const[1] < len(self.trampolines)
        ):
            return self.trampolines[const[1]]
        if mark == NAME_MARK and len(const) == 2 and const[1] in self.constants:
            return self.constants[const[1]]
        raise BindError(f"cannot bind placeholder {const!r}")

    def code(self, code: CodeType) -> CodeType:
        done = self.bound.get(id(code))
        if done is not None:
            return done
        consts: list | None = None  # a copy, made at the first constant that changes
        for index, const in enumerate(code.co_consts):
            if type(const) is list or isinstance(const, CodeType):
                value = self.substitute(const)
                if value is not const:
                    consts = consts or list(code.co_consts)
                    consts[index] = value
        done = code if consts is None else code.replace(co_consts=tuple(consts))
        self.bound[id(code)] = done
        return done
