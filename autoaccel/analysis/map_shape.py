"""Elementwise ("map") shape: which functions can run one GPU thread (or prange lane) per item.

Why this design: a CUDA kernel, or a ``prange`` loop, changes the order in which a
computation's steps run, which is harmless exactly when the steps are independent. That is
read from the function's source (``ast``), conservatively, in two shapes:

- :class:`ScalarMap`: straight-line scalar arithmetic (assignments to names and one
  ``return``, calls of ``math``/``numpy`` functions and helpers, no subscripts or branches)
  called with arrays, where NumPy applies it item by item.
- :class:`LoopMap`: exactly one top-level ``for i in range(...)`` loop whose iterations
  write arrays only at ``[i, ...]``, read those arrays only at ``[i, ...]``, and read every
  name they assign only after assigning it in the same iteration (anything else could carry
  a value from one iteration to the next). The statements before and after the loop are
  left as they are; they run as the original's own Python code on the host.

Anything not recognised gets a reason, and the candidate target is skipped with it.
"""

from __future__ import annotations

import ast
import inspect
import textwrap
import types
from dataclasses import dataclass

# Expressions that could bind names, hide a loop, or suspend: never in an iteration.
_REFUSED_EXPRESSIONS = (
    ast.Lambda,
    ast.ListComp,
    ast.SetComp,
    ast.DictComp,
    ast.GeneratorExp,
    ast.NamedExpr,
    ast.Yield,
    ast.YieldFrom,
    ast.Await,
    ast.Starred,
)
_SCALAR_EXPRESSIONS = (
    ast.Name,
    ast.Constant,
    ast.BinOp,
    ast.UnaryOp,
    ast.Call,
    ast.Attribute,
    ast.Compare,
    ast.Load,
    ast.operator,
    ast.unaryop,
    ast.cmpop,
    ast.keyword,
)


@dataclass(frozen=True)
class ScalarMap:
    """Scalar code that NumPy applies item by item when it is called with arrays.

    Attributes:
        tree: the function's definition.
    """

    tree: ast.FunctionDef


@dataclass(frozen=True)
class LoopMap:
    """A function whose one top-level ``range`` loop has independent iterations.

    Attributes:
        tree: the function's definition.
        position: the loop's index in ``tree.body``.
        loop: the loop statement.
        start, stop: the ``range`` bounds (``start`` is ``0`` when not written).
        inputs: the function's locals that the iterations read but never assign, in order of
            first use (the written arrays among them): a kernel's parameters.
        outputs: the arrays the iterations write (at ``[i, ...]``).
        prange_safe: whether ``range`` occurs nowhere outside the loop, so that replacing
            the global ``range`` by ``numba.prange`` parallelizes exactly this loop (loops
            inside it are run serially by Numba).
    """

    tree: ast.FunctionDef
    position: int
    loop: ast.For
    start: ast.expr
    stop: ast.expr
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    prange_safe: bool


def function_tree(code: types.CodeType) -> ast.FunctionDef | str:
    """The ``def`` of ``code`` from its source file, or why it cannot be had."""
    try:
        source = textwrap.dedent(inspect.getsource(code))
        module = ast.parse(source)
        ast.increment_lineno(module, code.co_firstlineno - 1)  # the file's line numbers
    except (OSError, TypeError, SyntaxError) as exc:
        return f"its source is not available ({type(exc).__name__})"
    tree = module.body[0] if module.body else None
    if not isinstance(tree, ast.FunctionDef) or tree.name != code.co_name:
        return "its source is not a plain def"
    if tree.args.vararg or tree.args.kwarg:
        return "it takes *args or **kwargs"
    return tree


def map_shape(code: types.CodeType) -> ScalarMap | LoopMap | str:
    """The elementwise shape of ``code``'s function, or why it has none (a reason).

    Args:
        code: the function's original code object (its source is read from its file).
    """
    tree = function_tree(code)
    if isinstance(tree, str):
        return tree
    body = _without_docstring(tree.body)
    loops = [n for n, stmt in enumerate(tree.body) if isinstance(stmt, (ast.For, ast.While))]
    if not loops:
        reason = _scalar_reason(body)
        return ScalarMap(tree) if reason is None else reason
    if len(loops) > 1:
        return "it has more than one top-level loop"
    return _loop_map(tree, loops[0], frozenset(code.co_varnames))


def _without_docstring(body: list[ast.stmt]) -> list[ast.stmt]:
    first = body[0] if body else None
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
        return body[1:]
    return body


def _scalar_reason(body: list[ast.stmt]) -> str | None:
    """Why ``body`` is not straight-line scalar arithmetic, or ``None``."""
    if not body or not isinstance(body[-1], ast.Return) or body[-1].value is None:
        return "it neither loops nor ends in one return of a value"
    for stmt in body[:-1]:
        if not isinstance(stmt, ast.Assign) or not all(
            isinstance(t, ast.Name) for t in stmt.targets
        ):
            return f"line {stmt.lineno}: only assignments to names may precede the return"
    for stmt in body:
        value = stmt.value  # type: ignore[attr-defined]
        for node in ast.walk(value):
            if not isinstance(node, _SCALAR_EXPRESSIONS):
                return f"line {stmt.lineno}: {type(node).__name__} is not scalar arithmetic"
    return None


def _range_bounds(loop: ast.For) -> tuple[ast.expr, ast.expr] | str:
    call = loop.iter
    if not (
        isinstance(call, ast.Call)
        and isinstance(call.func, ast.Name)
        and call.func.id == "range"
        and 1 <= len(call.args) <= 2
        and not call.keywords
    ):
        return "its loop is not over range(stop) or range(start, stop)"
    if len(call.args) == 1:
        return ast.Constant(0), call.args[0]
    return call.args[0], call.args[1]


def _loop_map(tree: ast.FunctionDef, position: int, locals_: frozenset[str]) -> LoopMap | str:
    loop = tree.body[position]
    if not isinstance(loop, ast.For) or not isinstance(loop.target, ast.Name):
        return "its loop is not a for loop over one name"
    if loop.orelse:
        return "its loop has an else clause"
    bounds = _range_bounds(loop)
    if isinstance(bounds, str):
        return bounds
    check = _Iteration(loop.target.id, locals_)
    reason = check.run(loop.body)
    if reason:
        return reason
    after = tree.body[position + 1 :]
    carried = sorted(_names_read(after) & (check.assigned | {loop.target.id}))
    if carried:
        return f"the code after its loop reads {', '.join(carried)}, assigned in the loop"
    outside = [*tree.body[:position], *after, *bounds]
    # ``range`` is renamed in the code's names, which attribute names share; loops inside
    # this one become prange too, which Numba runs serially inside a parallel loop.
    prange_safe = not any(
        isinstance(n, ast.Name) and n.id == "range" for s in outside for n in ast.walk(s)
    ) and not any(isinstance(n, ast.Attribute) and n.attr == "range" for n in ast.walk(tree))
    return LoopMap(
        tree,
        position,
        loop,
        bounds[0],
        bounds[1],
        tuple(check.inputs),
        tuple(sorted(check.outputs)),
        prange_safe,
    )


def _names_read(statements: list) -> set[str]:
    return {
        n.id
        for s in statements
        for n in ast.walk(s)
        if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)
    }


class _Iteration:
    """The independence check of one loop body (see the module docstring)."""

    def __init__(self, index: str, locals_: frozenset[str]) -> None:
        self.index = index
        self.locals = locals_
        self.inputs: dict[str, None] = {}  # ordered set
        self.outputs: set[str] = set()
        self.assigned: set[str] = set()

    def run(self, body: list[ast.stmt]) -> str | None:
        for stmt in body:
            for node in ast.walk(stmt):
                if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                    self.assigned.add(node.id)
        if self.index in self.assigned:
            return f"its loop assigns its index {self.index}"
        try:
            self._block(body, {self.index}, inner=False)
            self.check_written_reads(body)
        except _NotMap as exc:
            return str(exc)
        if not self.outputs:
            return "its loop writes no array"
        written_and_assigned = self.outputs & self.assigned
        if written_and_assigned:
            return f"its loop assigns {sorted(written_and_assigned)[0]}, an array it writes"
        return None

    def _block(self, body: list[ast.stmt], defined: set[str], inner: bool) -> None:
        defined = set(defined)  # names a nested block defines do not leak out of it
        for stmt in body:
            self._statement(stmt, defined, inner)

    def _statement(self, stmt: ast.stmt, defined: set[str], inner: bool) -> None:
        if isinstance(stmt, (ast.Assign, ast.AnnAssign)):
            if stmt.value is not None:
                self._reads(stmt.value, defined)
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
            for target in targets:
                self._store(target, defined, stmt)
        elif isinstance(stmt, ast.AugAssign):
            self._reads(stmt.value, defined)
            self._reads(stmt.target, defined)  # x += y reads x first
            self._store(stmt.target, defined, stmt)
        elif isinstance(stmt, (ast.Expr, ast.Pass)):
            if isinstance(stmt, ast.Expr):
                self._reads(stmt.value, defined)
        elif isinstance(stmt, ast.If):
            self._reads(stmt.test, defined)
            self._block(stmt.body, defined, inner)
            self._block(stmt.orelse, defined, inner)
        elif isinstance(stmt, (ast.For, ast.While)):
            self._inner_loop(stmt, defined)
        elif isinstance(stmt, ast.Continue):
            pass  # ends this iteration only (a return in the kernel's device function)
        elif isinstance(stmt, ast.Break) and inner:
            pass
        else:
            raise _NotMap(f"line {stmt.lineno}: its loop contains {type(stmt).__name__}")

    def _inner_loop(self, stmt: ast.For | ast.While, defined: set[str]) -> None:
        if stmt.orelse:
            raise _NotMap(f"line {stmt.lineno}: an inner loop has an else clause")
        if isinstance(stmt, ast.While):
            self._reads(stmt.test, defined)
            self._block(stmt.body, defined, inner=True)
            return
        self._reads(stmt.iter, defined)
        if not isinstance(stmt.target, ast.Name):
            raise _NotMap(f"line {stmt.lineno}: an inner loop unpacks its items")
        self._block(stmt.body, {*defined, stmt.target.id}, inner=True)

    def _store(self, target: ast.expr, defined: set[str], stmt: ast.stmt) -> None:
        if isinstance(target, ast.Name):
            defined.add(target.id)
        elif isinstance(target, ast.Tuple) and all(isinstance(e, ast.Name) for e in target.elts):
            defined.update(e.id for e in target.elts)  # type: ignore[attr-defined]
        elif isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name):
            if target.value.id not in self.locals:
                raise _NotMap(f"line {stmt.lineno}: its loop writes global {target.value.id}")
            self._own_index(target, stmt)
            self.outputs.add(target.value.id)
            self._reads(target.slice, defined)
            self._reads(target.value, defined)
        else:
            raise _NotMap(
                f"line {stmt.lineno}: its loop assigns something other than names or items"
            )

    def _own_index(self, subscript: ast.Subscript, stmt: ast.AST) -> None:
        first = (
            subscript.slice.elts[0] if isinstance(subscript.slice, ast.Tuple) else subscript.slice
        )
        if not (isinstance(first, ast.Name) and first.id == self.index):
            name = subscript.value.id  # type: ignore[attr-defined]
            line = getattr(stmt, "lineno", "?")
            raise _NotMap(
                f"line {line}: {name} is written or read at an index other than [{self.index}, ...]"
            )

    def _reads(self, expr: ast.expr, defined: set[str]) -> None:
        for node in ast.walk(expr):
            if isinstance(node, _REFUSED_EXPRESSIONS):
                raise _NotMap(f"line {node.lineno}: its loop contains {type(node).__name__}")
            if isinstance(node, ast.Name) and node.id in self.locals and node.id not in defined:
                if node.id in self.assigned:
                    raise _NotMap(
                        f"line {node.lineno}: {node.id} may be read before it is assigned in "
                        "the same iteration (a value carried between iterations)"
                    )
                self.inputs.setdefault(node.id)

    def check_written_reads(self, body: list[ast.stmt]) -> None:
        """Every read of a written array must be at the iteration's own index too."""
        for stmt in body:
            for node in ast.walk(stmt):
                if (
                    isinstance(node, ast.Subscript)
                    and isinstance(node.value, ast.Name)
                    and node.value.id in self.outputs
                ):
                    self._own_index(node, node)
            for node in ast.walk(stmt):
                if (
                    isinstance(node, ast.Name)
                    and node.id in self.outputs
                    and not _is_subscripted(stmt, node)
                ):
                    raise _NotMap(
                        f"line {node.lineno}: {node.id}, which the loop writes, is used "
                        "other than by item"
                    )


def _is_subscripted(root: ast.AST, name: ast.Name) -> bool:
    return any(isinstance(n, ast.Subscript) and n.value is name for n in ast.walk(root))


class _NotMap(Exception):
    """A loop body breaks the elementwise shape; ``str(exc)`` is the reason."""
