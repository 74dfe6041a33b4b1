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
import importlib
import importlib.util
import re
import sys
from pathlib import Path

import pytest
from conftest import REPO

PACKAGE = REPO / "autoaccel"

# Lowest first. A module's layer is its subpackage (or, for a top-level module, its name).
LAYERS = (
    ("_version", "errors", "state", "lazy_numpy"),
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
    # Integrations that install the hook where users run their code.
    ("notebook", "dask", "ray"),
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


# References to the layout ----------------------------------------------------------------

# ``autoaccel.x.y`` not inside a quoted name or a file name (``autoaccel.toml``, cache files).
_DOTTED = re.compile(r"(?<![\w\"'/-])autoaccel(?:\.[A-Za-z_]\w*)+")
_FILE_SUFFIXES = (".toml", ".json", ".md", ".py")
_PATH = re.compile(r"\bautoaccel/[\w/]+(?:\.py|\.c)?")


# Importing these acts on the process (installs the hook, runs the command line).
_NOT_IMPORTED = {"autoaccel.install", "autoaccel.__main__"}


def reference_resolves(reference: str) -> bool:
    """Whether ``autoaccel.x.y`` names a module, or something a module defines.

    A module is found without importing it; a name in one is looked up by importing the
    module, except for modules whose import acts on the process, whose top-level names are
    read from their source instead.
    """
    parts = reference.split(".")
    for split in range(len(parts), 0, -1):
        module = ".".join(parts[:split])
        if not is_module(module):
            continue
        names = parts[split:]
        if not names:
            return True
        if module in _NOT_IMPORTED:
            return len(names) == 1 and names[0] in top_level_names(module)
        found: object = importlib.import_module(module)
        for name in names:
            if not hasattr(found, name):
                return False
            found = getattr(found, name)
        return True
    return False


def is_module(name: str) -> bool:
    """Whether ``name`` is a module; only packages above it are imported, never a module."""
    parent = name.rpartition(".")[0]
    if parent and not is_package(parent):
        return False  # ``name`` is an attribute of a module
    return importlib.util.find_spec(name) is not None


def is_package(name: str) -> bool:
    """Whether ``name`` is a package (found as :func:`is_module` finds modules)."""
    if not is_module(name):
        return False
    spec = importlib.util.find_spec(name)
    return spec is not None and spec.submodule_search_locations is not None


def top_level_names(module: str) -> set[str]:
    """The names a module's source defines at its top level (functions, classes, assignments)."""
    origin = importlib.util.find_spec(module).origin  # type: ignore[union-attr]
    tree = ast.parse(Path(origin).read_text())
    names = {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
    for node in tree.body:
        targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
        names |= {target.id for target in targets if isinstance(target, ast.Name)}
    return names


def referring_files() -> list[Path]:
    """Where the layout is named: the package, the docs, README.md, the benchmarks."""
    return [
        *sorted(PACKAGE.rglob("*.py")),
        *sorted((REPO / "docs").glob("*.md")),
        REPO / "README.md",
        *sorted((REPO / "benchmarks").glob("*.py")),
    ]


def test_references_to_modules_resolve():
    stale = []
    for path in referring_files():
        text = path.read_text()
        for reference in sorted(set(_DOTTED.findall(text))):
            if not reference.endswith(_FILE_SUFFIXES) and not reference_resolves(reference):
                stale.append(f"{path.relative_to(REPO)}: {reference}")
        for reference in sorted(set(_PATH.findall(text))):
            if not (REPO / reference).exists():
                stale.append(f"{path.relative_to(REPO)}: {reference}")
    assert not stale, "names of modules that do not exist:\n" + "\n".join(stale)


def test_a_stale_reference_would_be_found():
    assert reference_resolves("autoaccel.runtime.promoter.Promoter.evict")
    assert reference_resolves("autoaccel.install.installation")
    assert not reference_resolves("autoaccel.install.no_such_name")
    assert "autoaccel.install" not in sys.modules  # importing it would install the hook
    assert not reference_resolves("autoaccel.policy.trial.Variant")
    assert not reference_resolves("autoaccel._trampoline")


_TABLE_ROW = re.compile(r"^\| (\d+) \| (.+?) \| .+ \|$", re.MULTILINE)


def documented_layers() -> dict[str, int]:
    """``autoaccel/x/y.py -> layer`` from docs/how-it-works.md's table of modules."""
    text = (REPO / "docs" / "how-it-works.md").read_text()
    return {
        path: int(rank)
        for rank, cell in _TABLE_ROW.findall(text)
        for path in re.findall(r"`(autoaccel/[\w/]+\.py)`", cell)
    }


def test_how_it_works_lists_every_module_in_its_layer():
    documented = documented_layers()
    expected = {
        str(path.relative_to(REPO)): RANK[layer(module)] for module, path in modules().items()
    }
    expected["autoaccel/hook/_bootstrap/sitecustomize.py"] = RANK["hook"]
    for path in PACKAGE.glob("*/__init__.py"):
        expected.pop(str(path.relative_to(REPO)))  # re-exports, described together
    assert documented == expected


# A test module per source module -----------------------------------------------------------


def expected_test_module(path: Path) -> str:
    """The test module of a source module (the rule of tests/README.md).

    ``autoaccel/<subpackage>/<module>.py`` -> ``tests/test_<subpackage>_<module>.py``,
    ``autoaccel/<module>.py`` -> ``tests/test_<module>.py``, leading underscores dropped
    from each part (``_version.py`` -> ``test_version.py``, ``hook/_bootstrap/
    sitecustomize.py`` -> ``test_hook_bootstrap_sitecustomize.py``); the package's own
    ``__init__.py`` -> ``tests/test_package.py``.
    """
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    if parts == ("__init__",):
        return "test_package.py"
    return "test_" + "_".join(part.lstrip("_") for part in parts) + ".py"


def only_reexports(path: Path) -> bool:
    """Whether a module is only a docstring, imports and ``__all__`` (nothing to test)."""
    for node in ast.parse(path.read_text()).body:
        docstring = isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
        names = [t.id for t in getattr(node, "targets", []) if isinstance(t, ast.Name)]
        if not (
            docstring or isinstance(node, (ast.Import, ast.ImportFrom)) or names == ["__all__"]
        ):
            return False
    return True


def test_every_source_module_has_its_test_module():
    sources = [
        path
        for path in sorted(PACKAGE.rglob("*.py"))
        if path.name != "__main__.py" and not (path.name == "__init__.py" and only_reexports(path))
    ]
    missing = [
        f"{path.relative_to(REPO)} -> tests/{expected_test_module(path)}"
        for path in sources
        if not (REPO / "tests" / expected_test_module(path)).is_file()
    ]
    assert not missing, "source modules without their test module:\n" + "\n".join(missing)


def test_the_mapping_rule():
    assert expected_test_module(PACKAGE / "runtime" / "promoter.py") == "test_runtime_promoter.py"
    assert expected_test_module(PACKAGE / "_version.py") == "test_version.py"
    assert expected_test_module(PACKAGE / "hook" / "_bootstrap" / "sitecustomize.py") == (
        "test_hook_bootstrap_sitecustomize.py"
    )
    assert expected_test_module(PACKAGE / "__init__.py") == "test_package.py"
    assert only_reexports(PACKAGE / "config" / "__init__.py")
    assert not only_reexports(PACKAGE / "__init__.py")
