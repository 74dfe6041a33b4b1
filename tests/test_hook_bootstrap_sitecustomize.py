"""autoaccel/hook/_bootstrap/sitecustomize.py: which child is re-run, decided without autoaccel.

Python imports the file at a child's start-up (tests/test_hook_children.py runs such
children). Here its functions are loaded without the statements at its end, which act on the
process (``sys.path``, ``sys.modules``, starting autoaccel), and called with the child's
``sys.argv``, ``sys.orig_argv``, flags and environment made up.
"""

from __future__ import annotations

import ast
import sys
import types
from importlib.util import MAGIC_NUMBER

import pytest
from conftest import REPO

BOOTSTRAP = REPO / "autoaccel" / "hook" / "_bootstrap" / "sitecustomize.py"


@pytest.fixture(scope="module")
def bootstrap() -> types.SimpleNamespace:
    """The file's imports, constants and functions, without its module-level actions."""
    tree = ast.parse(BOOTSTRAP.read_text())
    kept = [
        node
        for node in tree.body
        if isinstance(node, (ast.Import, ast.ImportFrom, ast.FunctionDef))
        or (isinstance(node, ast.Assign) and all(isinstance(t, ast.Name) for t in node.targets))
    ]
    namespace: dict = {"__file__": str(BOOTSTRAP)}
    exec(compile(ast.Module(body=kept, type_ignores=[]), str(BOOTSTRAP), "exec"), namespace)
    return types.SimpleNamespace(**namespace)


def test_only_a_python_source_file_is_re_run(bootstrap, tmp_path):
    script = tmp_path / "child.py"
    script.write_text("print('hi')\n")
    assert bootstrap._is_source_file(str(script))
    for path in ("", "-", "-c", "-m", str(tmp_path), str(tmp_path / "missing.py")):
        assert not bootstrap._is_source_file(path), path
    compiled = tmp_path / "child.pyc"
    compiled.write_bytes(MAGIC_NUMBER + b"\0" * 12)
    zipped = tmp_path / "app.pyz"
    zipped.write_bytes(b"#!python\n" + b"PK\x05\x06" + b"\0" * 18)
    assert not bootstrap._is_source_file(str(compiled))
    assert not bootstrap._is_source_file(str(zipped))


@pytest.fixture
def child(bootstrap, tmp_path, monkeypatch):
    """A child started as ``python -O child.py a b`` by a parent that selects ``__main__``."""
    script = tmp_path / "child.py"
    script.write_text("")
    monkeypatch.setenv("AUTOACCEL_CHILD_RERUN", "1")
    monkeypatch.delenv("AUTOACCEL_DISABLE", raising=False)
    monkeypatch.setattr(sys, "argv", [str(script), "a", "b"])
    monkeypatch.setattr(sys, "orig_argv", [sys.executable, "-O", str(script), "a", "b"])
    monkeypatch.setattr(sys, "flags", types.SimpleNamespace(inspect=0, safe_path=False))
    return str(script)


def test_a_selected_script_is_re_run_through_autoaccel_with_its_options(bootstrap, child):
    assert bootstrap._rerun_command() == [
        sys.executable, "-O", "-m", "autoaccel", "--child", child, "a", "b",
    ]  # fmt: skip


@pytest.mark.parametrize(
    "change",
    [
        lambda patch: patch.delenv("AUTOACCEL_CHILD_RERUN"),  # __main__ not selected
        lambda patch: patch.setenv("AUTOACCEL_DISABLE", "1"),
        lambda patch: patch.setattr(sys, "flags", types.SimpleNamespace(inspect=1)),  # -i
        lambda patch: patch.setattr(sys, "orig_argv", [sys.executable, "-x", *sys.argv]),
        lambda patch: patch.setattr(sys, "argv", ["-c"]),  # python -c
        lambda patch: patch.setattr(sys, "orig_argv", ["other"]),  # argv not at the end
    ],
    ids=["not-selected", "disabled", "interactive", "skip-first-line", "dash-c", "argv"],
)
def test_children_that_cannot_be_re_run_unchanged_are_not(bootstrap, child, monkeypatch, change):
    change(monkeypatch)
    assert bootstrap._rerun_command() is None


def test_the_disable_words_that_leave_it_on(bootstrap, child, monkeypatch):
    for word in ("0", "false", "Off", " "):
        monkeypatch.setenv("AUTOACCEL_DISABLE", word)
        assert bootstrap._rerun_command() is not None, word
