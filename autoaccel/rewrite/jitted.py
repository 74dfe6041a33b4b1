"""Functions a module compiles with Numba's own decorators, left as written.

Why this design: a selected module may already use ``@numba.njit`` (or ``jit``, ``vectorize``,
``cfunc``, ``stencil``, ``cuda.jit``, ``jitclass`` ...) on some functions. Numba compiles the
code it finds in ``func.__code__``; with a prologue in it, that code calls autoaccel's
trampoline, which Numba cannot type ("Cannot determine Numba type of Trampoline"), so the
program would fail where plain Python runs. Such functions, and every function nested in them
or defined in a class so decorated, get neither a prologue nor loop instrumentation: the
user already chose how they run. A decorator counts as Numba's when its root name is the
``numba`` module (or a submodule) under any alias, or a name imported from them.
"""

from __future__ import annotations

import ast

Position = tuple[str, int]  # a function's name and first line (its first decorator's)


def jitted_positions(tree: ast.Module) -> frozenset[Position]:
    """The functions of ``tree`` that Numba's own decorators compile, and those inside them.

    Args:
        tree: the module's syntax tree.

    Returns:
        ``(name, first line)`` of each such function: the first line is that of its first
        decorator, as in ``co_firstlineno``.
    """
    names = _numba_names(tree)
    if not names:
        return frozenset()
    found: set[Position] = set()
    for node in ast.walk(tree):
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue
        if any(_root(d) in names for d in node.decorator_list):
            found.update(
                position(inner)
                for inner in ast.walk(node)
                if isinstance(inner, (ast.FunctionDef, ast.AsyncFunctionDef))
            )
    return frozenset(found)


def position(node: ast.FunctionDef | ast.AsyncFunctionDef) -> Position:
    """``(name, first line)`` of a function definition, as its code object has them."""
    first = node.decorator_list[0].lineno if node.decorator_list else node.lineno
    return node.name, first


def _numba_names(tree: ast.Module) -> set[str]:
    """Names the module binds to Numba's modules or to what it imports from them."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if _numba(alias.name):
                    names.add(alias.asname or alias.name.split(".")[0])
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and _numba(node.module):
            names.update(alias.asname or alias.name for alias in node.names)
    return names


def _numba(module: str | None) -> bool:
    return module is not None and (module == "numba" or module.startswith("numba."))


def _root(decorator: ast.expr) -> str | None:
    """The name a decorator expression starts from (``numba`` in ``@numba.njit(cache=True)``)."""
    node = decorator.func if isinstance(decorator, ast.Call) else decorator
    while isinstance(node, ast.Attribute):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None
