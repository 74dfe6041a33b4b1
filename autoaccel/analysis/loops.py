"""Loops as units of their own: which loops of a module can be compiled, and what they touch.

Why this design: real programs keep their hot loops in functions called once (a script's
``main()``, a ``fit()``), at the top level of a script, or beside code Numba refuses (an
f-string in a warning, a ``try`` around set-up, a result dict). So each loop is a candidate
unit, as in Numba's old loop-lifting (``numba/core/transforms.py``: loops with one entry,
their live-in and live-out variables moved into a function of their own) and the loop
traces of PyPy and CPython's tier 2. This module reads the source (``ast``): it finds the
outermost loops whose body passes the static guards, names the construct and line of every
refusal, and records what the rest of the machinery needs: the kind of loop (its iteration
can be resumed mid-run: ``range``, ``while``, or an indexable sequence), the names the loop
reads and binds, and which of those may be read after it (live-out). A loop nested in a
refused loop is a candidate of its own; one nested in a candidate is part of it.
"""

from __future__ import annotations

import ast
import textwrap
from collections.abc import Iterator, Sequence
from typing import NamedTuple

from autoaccel.analysis.guards import REFUSED_BUILTINS

# Calls that read or change a frame's variables by name: a loop in a function that makes
# one is left alone, since the instrumentation adds variables such a call would see.
_FRAME_INTROSPECTION = frozenset({"locals", "vars", "eval", "exec", "globals", "dir"})
# Statements whose meaning the compiled loop cannot keep.
_REFUSED_STATEMENTS: dict[type, str] = {
    ast.Try: "try",
    ast.With: "with",
    ast.AsyncWith: "async with",
    ast.AsyncFor: "async for",
    ast.FunctionDef: "a nested def",
    ast.AsyncFunctionDef: "a nested def",
    ast.ClassDef: "a class definition",
    ast.Import: "import",
    ast.ImportFrom: "import",
    ast.Global: "a global statement",
    ast.Nonlocal: "a nonlocal statement",
    ast.Delete: "del",
    ast.Assert: "assert",
}
_REFUSED_EXPRESSIONS: dict[type, str] = {
    ast.Lambda: "a lambda",
    ast.JoinedStr: "an f-string",
    ast.Dict: "a dict display",
    ast.DictComp: "a dict comprehension",
    ast.Set: "a set display",
    ast.SetComp: "a set comprehension",
    ast.GeneratorExp: "a generator expression",
    ast.Yield: "yield",
    ast.YieldFrom: "yield",
    ast.Await: "await",
    ast.Starred: "a starred expression",
}
if hasattr(ast, "TryStar"):  # Python 3.11+
    _REFUSED_STATEMENTS[ast.TryStar] = "try"
if hasattr(ast, "Match"):
    _REFUSED_STATEMENTS[ast.Match] = "match"


class LoopSpec(NamedTuple):
    """One loop of a module, as the rewriter and the runtime need it (marshallable).

    Attributes:
        number: the loop's number in its module (order of appearance).
        qualname: ``"f.<loop@12>"``, or ``"<module>.<loop@12>"`` at module level.
        lineno: the line of its ``for``/``while``.
        kind: ``"range"`` (``for name in range(...)``), ``"while"``, or ``"iter"``
            (``for name in <expression>``, resumable when the value is an array).
        target: the name a ``for`` loop binds, else ``""``.
        source: the loop statement's source, dedented to column 0.
        assigned: names the loop binds, sorted.
        read: names the loop loads, sorted.
        live_out: names the loop binds that may be read after it (all at module level).
        exposed: names an iteration may read before it binds them (the loop's inputs; a
            name bound before every read of it in an iteration is a temporary).
        module_level: whether it is at the top level of the module.
        refusal: why it can never be compiled (construct and line), or ``""``.
    """

    number: int
    qualname: str
    lineno: int
    kind: str
    target: str
    source: str
    assigned: tuple[str, ...]
    read: tuple[str, ...]
    live_out: tuple[str, ...]
    exposed: tuple[str, ...]
    module_level: bool
    refusal: str


Loop = ast.For | ast.While


def loop_kind(loop: Loop) -> str:
    """``"range"``, ``"while"`` or ``"iter"`` (see :class:`LoopSpec`)."""
    if isinstance(loop, ast.While):
        return "while"
    call = loop.iter
    if (
        isinstance(call, ast.Call)
        and isinstance(call.func, ast.Name)
        and call.func.id == "range"
        and not call.keywords
        and 1 <= len(call.args) <= 3
    ):
        return "range"
    return "iter"


_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)


def names(nodes: Sequence[ast.AST]) -> tuple[set[str], set[str]]:
    """``(bound, loaded)``: the names ``nodes`` bind and the names they load.

    A comprehension's own variables are its scope's, not the loop's: they are not bound
    here (what it loads counts as loaded).
    """
    bound: set[str] = set()
    loaded: set[str] = set()
    for node in nodes:
        private = _comprehension_targets(node)
        for child in ast.walk(node):
            if isinstance(child, ast.Name):
                if isinstance(child.ctx, ast.Load):
                    loaded.add(child.id)
                elif id(child) not in private:
                    bound.add(child.id)
            elif isinstance(child, ast.AugAssign) and isinstance(child.target, ast.Name):
                loaded.add(child.target.id)  # x += 1 reads x too
    return bound, loaded


def _comprehension_targets(node: ast.AST) -> set[int]:
    """The ``Name`` nodes a comprehension in ``node`` binds (its loop variables)."""
    return {
        id(name)
        for comprehension in ast.walk(node)
        if isinstance(comprehension, _COMPREHENSIONS)
        for generator in comprehension.generators
        for name in ast.walk(generator.target)
        if isinstance(name, ast.Name)
    }


def exposed_reads(loop: Loop) -> set[str]:
    """Names an iteration of ``loop`` may read before binding them (upward-exposed uses).

    The classic live-variable analysis over the loop's structured body: a name bound on
    every path before a read is not exposed. The ``for`` target is bound by the loop itself;
    a ``while`` test reads before anything. Conservative: anything it cannot follow (a
    nested loop's body, which may not run) only adds reads.
    """
    killed = (
        {loop.target.id}
        if isinstance(loop, ast.For) and isinstance(loop.target, ast.Name)
        else set()
    )
    header = [loop.test] if isinstance(loop, ast.While) else []
    exposed = names(header)[1]
    more, _ = _exposed(loop.body, killed)
    return exposed | more


def _exposed(body: Sequence[ast.stmt], killed: set[str]) -> tuple[set[str], set[str]]:
    """``(exposed, killed)`` after ``body``, given the names ``killed`` before it."""
    exposed: set[str] = set()
    killed = set(killed)
    for statement in body:
        if isinstance(statement, ast.If):
            exposed |= names([statement.test])[1] - killed
            inner, after_body = _exposed(statement.body, killed)
            other, after_else = _exposed(statement.orelse, killed)
            exposed |= inner | other
            killed = after_body & after_else
        elif isinstance(statement, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            value = [statement.value] if statement.value is not None else []
            targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
            exposed |= names([*value, *targets])[1] - killed  # subscripts read their names
            if isinstance(statement, ast.AugAssign) and isinstance(statement.target, ast.Name):
                exposed |= {statement.target.id} - killed
            killed |= names(targets)[0]
        elif isinstance(statement, (ast.For, ast.While)):
            # A nested loop may run no iteration: it binds nothing for what follows, but
            # in its own body its target (and what each iteration binds first) is bound.
            header = [statement.iter] if isinstance(statement, ast.For) else []
            exposed |= (names(header)[1] | exposed_reads(statement)) - killed
        else:  # expressions, pass, break...: every read counts
            exposed |= names([statement])[1] - killed
    return exposed, killed


def escaping_names(scope: ast.AST) -> set[str]:
    """Names a function declares ``global`` or ``nonlocal``: visible after any loop of it."""
    return {
        name
        for node in ast.walk(scope)
        if isinstance(node, (ast.Global, ast.Nonlocal))
        for name in node.names
    }


def place_at(node: ast.AST, line: int, column: int) -> None:
    """Put ``node`` (alone, not its children) at ``line`` and ``column``."""
    for field, value in (("lineno", line), ("end_lineno", line)):
        setattr(node, field, value)
    for field in ("col_offset", "end_col_offset"):
        setattr(node, field, column)


def _line(node: ast.AST) -> int:
    return getattr(node, "lineno", 0)


def body_refusal(loop: Loop) -> str | None:
    """The first construct of ``loop`` Numba cannot compile with CPython's meaning, or ``None``.

    Each reason names the construct and its line (``"an f-string at line 212"``), so a user
    sees what stands in the way.
    """
    if isinstance(loop, ast.For) and not isinstance(loop.target, ast.Name):
        return f"unpacks several loop variables at line {loop.lineno}"
    for node in _loop_nodes(loop):
        kind = type(node)
        if isinstance(node, ast.Raise) and (node.exc is None or node.cause is not None):
            # ``raise E(...)`` compiles: the compiled run hands back and Python raises it
            # from the same iteration; a re-raise or a chained one has no meaning there.
            return f"{'raise ... from' if node.cause else 'a bare raise'} at line {_line(node)}"
        if kind in _REFUSED_STATEMENTS:
            return f"{_REFUSED_STATEMENTS[kind]} at line {_line(node)}"
        if kind in _REFUSED_EXPRESSIONS:
            return f"{_REFUSED_EXPRESSIONS[kind]} at line {_line(node)}"
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            name = node.func.id
            if name in REFUSED_BUILTINS:
                return f"{name}() at line {_line(node)}: {REFUSED_BUILTINS[name]}"
            if name in _FRAME_INTROSPECTION:
                return f"{name}() at line {_line(node)}: reads variables by name"
    return None


def _loop_nodes(loop: Loop) -> Iterator[ast.AST]:
    """Every node of the loop: its header's expressions and its body, else included."""
    header: list[ast.AST] = [loop.test] if isinstance(loop, ast.While) else [loop.iter]
    for node in [*header, *loop.body, *loop.orelse]:
        yield from ast.walk(node)


def scope_refusal(scope: ast.AST) -> str | None:
    """Why no loop of this function (or module) can be a unit, or ``None``.

    The instrumentation adds variables to the frame: a scope that reads its variables by
    name (``locals()``, ``eval``...) would see them. Generators keep their frames between
    ``yield`` and ``next``, which the instrumentation's bookkeeping does not follow.
    """
    if isinstance(scope, ast.AsyncFunctionDef):
        return "is a coroutine"
    for node in _own_nodes(scope):
        if isinstance(node, (ast.Yield, ast.YieldFrom)):
            return f"the function is a generator (yield at line {_line(node)})"
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in _FRAME_INTROSPECTION
        ):
            return f"the function calls {node.func.id}() at line {_line(node)}"
    return None


def _own_nodes(scope: ast.AST) -> Iterator[ast.AST]:
    """The nodes of ``scope`` outside the functions and classes it defines."""
    stack = list(ast.iter_child_nodes(scope))
    while stack:
        node = stack.pop()
        yield node
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            stack.extend(ast.iter_child_nodes(node))


def returns_of(loop: Loop) -> list[ast.Return]:
    """The loop's ``return`` statements, in a fixed order (the compiled loop names each by its
    number here, and the instrumentation evaluates that one's expression in Python)."""
    return [node for node in _loop_nodes(loop) if isinstance(node, ast.Return)]


def loop_source(loop: Loop, lines: list[str]) -> str:
    """The loop statement's source text, dedented so that it starts at column 0."""
    end = loop.end_lineno or loop.lineno
    return textwrap.dedent("".join(lines[loop.lineno - 1 : end]))


def spec_for(
    loop: Loop,
    index: int,
    qualname: str,
    lines: list[str],
    read_elsewhere: set[str],
    module_level: bool,
    refusal: str | None,
) -> LoopSpec:
    """The :class:`LoopSpec` of ``loop``.

    Args:
        loop: the loop statement.
        index: its number in the module.
        qualname: the enclosing function's qualname, or ``"<module>"``.
        lines: the module's source lines (with line ends).
        read_elsewhere: names the enclosing scope loads outside this loop (or that nested
            functions read from it), and the names it declares ``global`` or ``nonlocal``:
            what a bound name must be in to be live after it.
        module_level: whether the loop is at the top level of the module.
        refusal: the scope's or the body's refusal, if any.
    """
    bound, loaded = names([loop])
    # After a compiled run ends in a ``return``, Python evaluates its expression: what it
    # reads must be written back too. Module globals can be read by any code later.
    _, returned = names([r.value for r in returns_of(loop) if r.value is not None])
    live_out = bound if module_level else bound & (read_elsewhere | returned)
    target = (
        loop.target.id if isinstance(loop, ast.For) and isinstance(loop.target, ast.Name) else ""
    )
    return LoopSpec(
        index,
        f"{qualname}.<loop@{loop.lineno}>",
        loop.lineno,
        loop_kind(loop),
        target,
        loop_source(loop, lines),
        tuple(sorted(bound)),
        tuple(sorted(loaded)),
        tuple(sorted(live_out)),
        tuple(sorted(exposed_reads(loop))),
        module_level,
        refusal or "",
    )
