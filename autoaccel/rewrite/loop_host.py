"""Loop instrumentation: each candidate loop runs as written, counted, and can be left mid-run.

Why this design: a loop's iterations must run in the user's own frame (same variables, same
tracebacks, same line numbers), yet a hot loop must be able to continue in compiled code from
the iteration it has reached (on-stack replacement, as CPython's tier 2 and Pyston enter
compiled code at a back-edge). So every candidate loop (:mod:`autoaccel.analysis.loops`)
becomes, in the source's syntax tree::

    if <loop>.armed:
        <budget> = <loop>.enter(<iterable>)
        for x in <iterable>:                    # the user's loop, body unchanged
            <budget> -= 1
            if not <budget>:                     # every few hundred iterations
                <exit> = <loop>.osr(<iterable>, x, locals())
                ...                              # an int: go on; an Exit: leave
            <body>
        else:
            <else clause>
        <write back the compiled run's variables; return, else clause, or go on>
        (or, when Python ran the loop to its end: <loop>.leave(<budget>))
    else:
        <the user's loop, untouched>

``leave`` books the iterations and time of a run that Python finished, and carries the
budget left over to the next run, so that a loop whose runs are shorter than a budget is
still looked at. ``osr`` sees the frame's variables (``locals()``, a snapshot) and the position, and either
gives a new budget (Python goes on) or runs the rest of the loop compiled and returns its
exit: the variables to write back and how it ended (normal end, ``break``, ``return``).
Disarmed (refused, or rejected after a trial), the loop runs exactly as written, for the
price of one attribute load. Names the instrumentation adds start with ``@``, which no
source can spell; the loop's trampoline and the builtins it uses are such names too, turned
into constants by :mod:`autoaccel.rewrite.prologue`.
"""

from __future__ import annotations

import ast
import copy

from autoaccel.analysis.loops import (
    LoopSpec,
    body_refusal,
    escaping_names,
    place_at,
    returns_of,
    scope_refusal,
    spec_for,
)
from autoaccel.rewrite import jitted
from autoaccel.rewrite.jitted import Position

# Names that :mod:`autoaccel.rewrite.prologue` replaces with constants.
LOOP_PREFIX = "@loop"  # "@loop7": the trampoline of loop 7
BUILTIN_LOCALS = "@locals"
BUILTIN_INT = "@int"
UNBOUND_NAME = "@unbound"

# Names the rewriting turns into constants: the loop trampolines and these.
CONSTANT_NAMES = frozenset({BUILTIN_LOCALS, BUILTIN_INT, UNBOUND_NAME})


def is_constant_name(name: str) -> bool:
    """Whether the instrumentation's ``name`` stands for a constant, not a temporary."""
    number = name[len(LOOP_PREFIX) :]
    return name in CONSTANT_NAMES or (name.startswith(LOOP_PREFIX) and number.isdigit())


# Exit kinds of a compiled run (what ``osr`` returns in ``Exit.kind``).
SUSPENDED, BROKE, RETURNED, ENDED = 0, 1, 2, 3

_TEMPLATE = """
if LOOP.armed:
    ITERABLE_SETUP
    BUDGET = LOOP.enter(ITER)
    EXIT = None
    for TARGET in ITER:
        COUNT
        BUDGET -= 1
        if not BUDGET:
            NEXT = LOOP.osr(ITER, POSITION, LOCALS())
            if NEXT.__class__ is not INT:
                EXIT = NEXT
                break
            BUDGET = NEXT
        BODY
    else:
        if LOOP.window is not None:
            LOOP.after(ENDED_KIND, LOCALS())
        ORELSE
    if EXIT is not None:
        WRITEBACK
        LEAVE
    else:
        LOOP.leave(BUDGET)
        if LOOP.window is not None:
            LOOP.after(BROKE_KIND, LOCALS())
else:
    PLAIN
"""


class _Scope:
    """One function (or the module) being rewritten: what its loops need to know of it."""

    def __init__(self, node: ast.AST, qualname: str, module_level: bool) -> None:
        self.qualname = qualname
        self.module_level = module_level
        self.refusal = None if module_level else scope_refusal(node)
        self.node = node


class LoopRewriter:
    """Rewrites a module's syntax tree so that its candidate loops can be promoted.

    Args:
        lines: the module's source lines, with their line ends.
        jitted: functions left as written, by ``(name, first line)``
            (:func:`~autoaccel.rewrite.jitted.jitted_positions`).

    Attributes:
        specs: the loops found, in order (their ``index`` is their position here).
    """

    def __init__(self, lines: list[str], jitted: frozenset[Position] = frozenset()) -> None:
        self.lines = lines
        self.jitted = jitted
        self.specs: list[LoopSpec] = []

    def module(self, tree: ast.Module) -> ast.Module:
        """``tree`` with every candidate loop instrumented (changed in place and returned)."""
        scope = _Scope(tree, "<module>", True)
        tree.body = self._statements(tree.body, scope)
        return ast.fix_missing_locations(tree)

    def _statements(self, body: list[ast.stmt], scope: _Scope) -> list[ast.stmt]:
        out: list[ast.stmt] = []
        for statement in body:
            out.extend(self._statement(statement, scope))
        return out

    def _statement(self, statement: ast.stmt, scope: _Scope) -> list[ast.stmt]:
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
            if jitted.position(statement) in self.jitted:
                return [statement]
            qualname = (
                statement.name if scope.module_level else f"{scope.qualname}.{statement.name}"
            )
            statement.body = self._statements(statement.body, _Scope(statement, qualname, False))
            return [statement]
        if isinstance(statement, ast.ClassDef):
            statement.body = self._class_body(statement, scope)
            return [statement]
        if isinstance(statement, (ast.For, ast.While)):
            return self._loop(statement, scope)
        for field in ("body", "orelse", "finalbody", "handlers"):
            children = getattr(statement, field, None)
            if isinstance(children, list) and children and isinstance(children[0], ast.stmt):
                setattr(statement, field, self._statements(children, scope))
        for handler in getattr(statement, "handlers", []) or []:
            handler.body = self._statements(handler.body, scope)
        for case in getattr(statement, "cases", []) or []:
            case.body = self._statements(case.body, scope)
        return [statement]

    def _class_body(self, node: ast.ClassDef, scope: _Scope) -> list[ast.stmt]:
        """Methods are scopes of their own; statements of the class body are left alone."""
        prefix = node.name if scope.module_level else f"{scope.qualname}.{node.name}"
        out: list[ast.stmt] = []
        for statement in node.body:
            if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
                if jitted.position(statement) in self.jitted:
                    out.append(statement)
                    continue
                inner = _Scope(statement, f"{prefix}.{statement.name}", False)
                statement.body = self._statements(statement.body, inner)
            elif isinstance(statement, ast.ClassDef):
                statement.body = self._class_body(statement, _Scope(statement, prefix, False))
            out.append(statement)
        return out

    def _loop(self, loop: ast.For | ast.While, scope: _Scope) -> list[ast.stmt]:
        """A candidate loop's host code, or the loop with its inner loops as candidates."""
        refusal = scope.refusal or body_refusal(loop)
        index = len(self.specs)
        spec = spec_for(
            loop,
            index,
            scope.qualname,
            self.lines,
            _read_outside(scope.node, loop) | escaping_names(scope.node),
            scope.module_level,
            refusal,
        )
        self.specs.append(spec)
        plain = copy.deepcopy(loop)
        plain.body = self._statements(plain.body, scope)
        plain.orelse = self._statements(plain.orelse, scope)
        if refusal:
            return [plain]
        return [ast.copy_location(host, loop) for host in _host(loop, spec, plain, scope)]


def _read_outside(scope: ast.AST, loop: ast.AST) -> set[str]:
    """Names loaded anywhere in ``scope`` (nested functions included) outside ``loop``.

    The loop is recognised by its place in the source: the rewriter works on copies.
    """
    where = _place(loop)
    loaded: set[str] = set()
    stack = [scope]
    while stack:
        node = stack.pop()
        if type(node) is type(loop) and _place(node) == where:
            continue
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            loaded.add(node.id)
        stack.extend(ast.iter_child_nodes(node))
    return loaded


def _place(node: ast.AST) -> tuple:
    return (node.lineno, node.col_offset, node.end_lineno, node.end_col_offset)  # type: ignore[attr-defined]


def _temporaries(index: int) -> dict[str, str]:
    return {
        "LOOP": f"{LOOP_PREFIX}{index}",
        "BUDGET": f"@budget{index}",
        "EXIT": f"@exit{index}",
        "NEXT": f"@next{index}",
        "ITER": f"@iter{index}",
        "POSITION": f"@position{index}",
        "RETURN": f"@return{index}",
        "LOCALS": BUILTIN_LOCALS,
        "INT": BUILTIN_INT,
    }


def _host(
    loop: ast.For | ast.While, spec: LoopSpec, plain: ast.stmt, scope: _Scope
) -> list[ast.stmt]:
    """The ``if <loop>.armed: ... else: <plain>`` statements of one candidate loop.

    The template's own nodes take the loop's line; the user's nodes spliced in keep theirs.
    """
    tree = ast.parse(_TEMPLATE)
    for node in ast.walk(tree):
        if hasattr(node, "lineno"):
            place_at(node, loop.lineno, loop.col_offset)
    names = _temporaries(spec.number)
    statements = _Substitute(names, spec, loop, plain, scope.module_level).visit(tree).body
    if scope.module_level:
        # Module-level temporaries are globals: take them out of the module again.
        clean = ast.parse("LOOP.clean(LOCALS())").body[0]
        clean = _Substitute(names, spec, loop, plain, True).visit(clean)
        statements.append(ast.copy_location(clean, loop))
        ast.fix_missing_locations(clean)
    return statements


class _Substitute(ast.NodeTransformer):
    """Fills the template: names, the user's loop header, body and else clause."""

    def __init__(
        self,
        temporaries: dict[str, str],
        spec: LoopSpec,
        loop: ast.For | ast.While,
        plain: ast.stmt,
        module_level: bool,
    ) -> None:
        self.names = temporaries
        self.spec = spec
        self.loop = loop
        self.plain = plain
        self.module_level = module_level

    def visit_Name(self, node: ast.Name) -> ast.AST:
        if node.id in ("ENDED_KIND", "BROKE_KIND"):
            return ast.copy_location(
                ast.Constant(ENDED if node.id == "ENDED_KIND" else BROKE), node
            )
        if node.id == "POSITION":
            return ast.copy_location(self._position(), node)
        if node.id == "ITER" and self.spec.kind == "while":
            return ast.copy_location(ast.Constant(None), node)
        node.id = self.names.get(node.id, node.id)
        return node

    def _position(self) -> ast.expr:
        if self.spec.kind == "range":
            return ast.Name(self.spec.target, ast.Load())
        if self.spec.kind == "iter":
            return ast.Name(self.names["POSITION"], ast.Load())
        return ast.Constant(0)

    def visit_For(self, node: ast.For) -> ast.stmt:
        """The template's loop becomes the user's: its target and iterable, or its test."""
        self.generic_visit(node)
        loop = self.loop
        if isinstance(loop, ast.While):
            return ast.copy_location(ast.While(loop.test, node.body, node.orelse), loop)
        iterable = ast.copy_location(ast.Name(self.names["ITER"], ast.Load()), loop)
        return ast.copy_location(ast.For(loop.target, iterable, node.body, node.orelse), loop)

    def visit_Expr(self, node: ast.Expr) -> object:
        marker = node.value.id if isinstance(node.value, ast.Name) else None
        handlers = {
            "ITERABLE_SETUP": self._setup,
            "COUNT": self._count,
            "BODY": self._body,
            "ORELSE": lambda: copy.deepcopy(self.loop.orelse),
            "WRITEBACK": self._writeback,
            "LEAVE": self._leave,
            "PLAIN": lambda: [self.plain],
        }
        if marker not in handlers:
            return self.generic_visit(node)
        statements = handlers[marker]()
        for statement in statements:
            _locate_new(statement, node)
        return statements

    def _body(self) -> list[ast.stmt]:
        """The loop's body, each ``return`` in it booking the run first (``leave``): a loop
        whose runs end by ``return`` (a search: ``for x in xs: if p(x): return x``) is
        otherwise never timed, so never decided, and pays ``enter`` on every run for good
        (pyperformance's chaos: 6% of its time, in a loop of 3 iterations per run). A copy:
        the compiled run's exits evaluate the original ``return`` statements."""
        body = copy.deepcopy(self.loop.body)
        return _BookReturns(self.names).visit(ast.Module(body, [])).body

    def _setup(self) -> list[ast.stmt]:
        if self.spec.kind == "while":
            return []
        assert isinstance(self.loop, ast.For)
        target = ast.Name(self.names["ITER"], ast.Store())
        setup: list[ast.stmt] = [ast.Assign([target], self.loop.iter)]
        if self.spec.kind == "iter":  # the index of the element, counted from -1
            position = ast.Name(self.names["POSITION"], ast.Store())
            setup.append(ast.Assign([position], ast.Constant(-1)))
        return setup

    def _count(self) -> list[ast.stmt]:
        if self.spec.kind != "iter":
            return []
        position = ast.Name(self.names["POSITION"], ast.Store())
        return [ast.AugAssign(position, ast.Add(), ast.Constant(1))]

    def _writeback(self) -> list[ast.stmt]:
        """``name = exit.values[i]`` for each live-out variable the run left bound."""
        statements: list[ast.stmt] = []
        for position, name in enumerate(self.spec.live_out):
            item = ast.Subscript(self._exit("values"), ast.Constant(position), ast.Load())
            bound = ast.Compare(item, [ast.IsNot()], [ast.Name(UNBOUND_NAME, ast.Load())])
            assign = ast.Assign([ast.Name(name, ast.Store())], copy.deepcopy(item))
            statements.append(ast.If(bound, [assign], []))
        return statements

    def _leave(self) -> list[ast.stmt]:
        """``return`` the compiled run's value, or run the else clause, as it ended."""
        statements: list[ast.stmt] = []
        returns = [] if self.module_level else returns_of(self.loop)
        if returns:
            # The compiled run stopped at the return; its expression is evaluated here, in
            # the user's frame, so the value is exactly what CPython returns.
            test = ast.Compare(self._exit("kind"), [ast.Eq()], [ast.Constant(RETURNED)])
            statements.append(ast.If(test, self._returns(returns), []))
        if self.loop.orelse:
            test = ast.Compare(self._exit("kind"), [ast.Eq()], [ast.Constant(ENDED)])
            statements.append(ast.If(test, copy.deepcopy(self.loop.orelse), []))
        return statements or [ast.Pass()]

    def _returns(self, returns: list[ast.Return]) -> list[ast.stmt]:
        """``if exit.value == k: return <expression k>`` for each of the loop's returns."""
        chosen: list[ast.stmt] = [ast.Return(None)]
        for number, statement in reversed(list(enumerate(returns))):
            test = ast.Compare(self._exit("value"), [ast.Eq()], [ast.Constant(number)])
            chosen = [ast.If(test, [copy.deepcopy(statement)], chosen)]
        return chosen

    def _exit(self, field: str) -> ast.expr:
        return ast.Attribute(ast.Name(self.names["EXIT"], ast.Load()), field, ast.Load())


class _BookReturns(ast.NodeTransformer):
    """``return X`` becomes ``@return = X; <loop>.leave(<budget>); return @return`` (the
    value first, as CPython evaluates it before leaving); nested scopes keep theirs."""

    def __init__(self, temporaries: dict[str, str]) -> None:
        self.names = temporaries

    def visit_Return(self, node: ast.Return) -> list[ast.stmt]:
        result = self.names["RETURN"]
        leave = ast.Attribute(ast.Name(self.names["LOOP"], ast.Load()), "leave", ast.Load())
        budget = ast.Name(self.names["BUDGET"], ast.Load())
        statements: list[ast.stmt] = [
            ast.Assign([ast.Name(result, ast.Store())], node.value or ast.Constant(None)),
            ast.Expr(ast.Call(leave, [budget], [])),
            ast.Return(ast.Name(result, ast.Load())),
        ]
        for statement in statements:
            _locate_new(statement, node)
        return statements

    def _keep(self, node: ast.AST) -> ast.AST:
        return node

    visit_FunctionDef = visit_AsyncFunctionDef = visit_ClassDef = visit_Lambda = _keep


def _locate_new(statement: ast.stmt, at: ast.AST) -> None:
    """Give the nodes the instrumentation made (no location yet) the placeholder's line."""
    for node in ast.walk(statement):
        if "lineno" in node._attributes and not hasattr(node, "lineno"):
            place_at(node, getattr(at, "lineno", 1), getattr(at, "col_offset", 0))
