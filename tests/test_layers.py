"""The package's architecture: subpackages in layers, imports only pointing downward.

Every module of ``autoaccel/`` is parsed with ``ast`` and every import of another autoaccel
module is counted, wherever it stands: at the top, inside a function (deferred imports) or
under ``if TYPE_CHECKING:``. Two rules follow from docs/how-it-works.md's layer table:

* a module imports only modules of its own layer or of layers below it;
* no group of modules imports each other in a cycle, inside a layer either.

Also the size limits the layout keeps: no module over 500 lines, no class over 300.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from conftest import REPO

PACKAGE = REPO / "autoaccel"

# Lowest first. A module's layer is its subpackage (or, for a top-level module, its name).
LAYERS = (
    ("_version", "errors", "state"),
    ("config",),
    ("analysis",),
    ("rewrite",),
    ("cache",),
    ("backends",),
    ("boundary",),
    ("policy",),
    ("runtime",),
    ("report",),
    ("hook",),
    ("api",),
    ("cli",),
    ("__init__", "install", "__main__"),
)
RANK = {name: rank for rank, names in enumerate(LAYERS) for name in names}


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    if parts[-1] == "__init__" and len(parts) > 2:
        parts = parts[:-1]
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {
        module_name(path): path
        for path in sorted(PACKAGE.rglob("*.py"))
        if "_bootstrap" not in path.parts  # run by a child's interpreter, not imported
    }


def layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def resolve(target: str, known: dict[str, Path]) -> str | None:
    """The autoaccel module that ``target`` (a dotted name) is, or lives in."""
    while target:
        if target in known:
            return target
        target = target.rpartition(".")[0]
    return None


def imports_of(module: str, path: Path, known: dict[str, Path]) -> set[str]:
    """Every autoaccel module ``module`` imports, at any depth of its code."""
    found: set[str] = set()
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            # ``from autoaccel.x import y``: the module x.y, else what x defines.
            targets = [
                f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base
                for alias in node.names
            ]
        else:
            continue
        for target in targets:
            if target == "autoaccel" or target.startswith("autoaccel."):
                resolved = resolve(target, known)
                if resolved is not None and resolved != module:
                    found.add(resolved)
    return found


def import_graph() -> dict[str, set[str]]:
    known = modules()
    return {module: imports_of(module, path, known) for module, path in known.items()}


def test_every_module_belongs_to_a_layer():
    unknown = sorted({layer(m) for m in modules()} - set(RANK))
    assert not unknown, (
        f"add these to LAYERS in tests/test_layers.py and how-it-works.md: {unknown}"
    )


def test_imports_point_only_downward():
    upward = [
        f"{module} ({layer(module)}) imports {target} ({layer(target)})"
        for module, targets in import_graph().items()
        for target in sorted(targets)
        if RANK[layer(target)] > RANK[layer(module)]
    ]
    assert not upward, "imports pointing up a layer:\n" + "\n".join(upward)


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` as a list of modules, or ``None``."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                return [*path[path.index(target) :], target]
            if target not in state:
                cycle = visit(target)
                if cycle:
                    return cycle
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            cycle = visit(node)
            if cycle:
                return cycle
    return None


def test_no_import_cycles():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_find_cycle_finds_one():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


@pytest.mark.parametrize("module", sorted(modules()))
def test_module_and_class_sizes(module):
    path = modules()[module]
    text = path.read_text()
    assert len(text.splitlines()) <= 500, f"{path} has more than 500 lines"
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.ClassDef):
            length = (node.end_lineno or node.lineno) - node.lineno + 1
            assert length <= 300, f"{path}: class {node.name} has {length} lines"
