"""The finder and loader: what they claim, where they sit, and that imports never break."""

from __future__ import annotations

import importlib
import importlib.machinery
import sys
import textwrap

import pytest
from conftest import run_python

from autoaccel import Config, install
from autoaccel.backends.cpu import compiling
from autoaccel.hook.finder import AccelFinder, AccelLoader
from autoaccel.runtime.registry import lookup


def test_finder_claims_only_selected_source_modules(tmp_path, isolated_imports):
    (tmp_path / "selected_mod.py").write_text("def f(x):\n    return x\n")
    sys.path.insert(0, str(tmp_path))
    finder = AccelFinder(Config(modules=("selected_mod",)))
    spec = finder.find_spec("selected_mod")
    assert isinstance(spec.loader, AccelLoader)
    assert finder.find_spec("json") is None
    assert finder.find_spec("not_there_at_all") is None
    assert finder.matched == {"selected_mod"}


def test_finder_claims_nothing_while_compiling(tmp_path, isolated_imports):
    (tmp_path / "selected_mod2.py").write_text("x = 1\n")
    sys.path.insert(0, str(tmp_path))
    finder = AccelFinder(Config(modules=("selected_mod2",)))
    with compiling():
        assert finder.find_spec("selected_mod2") is None


def test_installed_before_path_finder_and_uninstall_is_idempotent(isolated_imports):
    installation = install(Config(modules=("nothing",)))
    position = sys.meta_path.index(installation.finder)
    assert sys.meta_path[position + 1] is importlib.machinery.PathFinder
    installation.uninstall()
    installation.uninstall()
    assert installation.finder not in sys.meta_path


def test_context_manager_uninstalls(isolated_imports):
    with install(Config(modules=("nothing",))) as installation:
        assert installation.finder in sys.meta_path
    assert installation.finder not in sys.meta_path


def test_disabled_config_installs_nothing(isolated_imports):
    before = list(sys.meta_path)
    install(Config(enabled=False))
    assert sys.meta_path == before


def test_package_submodules_selected_by_glob(tmp_path, isolated_imports):
    package = tmp_path / "accpkg"
    (package / "sim").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "sim" / "__init__.py").write_text("")
    (package / "sim" / "kern.py").write_text("def f(x):\n    return x + 1\n")
    (package / "other.py").write_text("def g(x):\n    return x\n")
    sys.path.insert(0, str(tmp_path))
    with install(Config(modules=("accpkg.sim.*",))):
        kern = importlib.import_module("accpkg.sim.kern")
        other = importlib.import_module("accpkg.other")
    assert lookup(kern.f) is not None
    assert lookup(other.g) is None


def test_a_rewriting_failure_never_breaks_the_import(tmp_path, isolated_imports, monkeypatch):
    import autoaccel.hook.finder as hook

    def broken(*args, **kwargs):
        raise RuntimeError("simulated bug")

    monkeypatch.setattr(hook, "rewrite_source", broken)
    monkeypatch.setattr(hook, "rewrite_module", broken)
    (tmp_path / "fragile_mod.py").write_text("def f(x):\n    return x * 2\n")
    sys.path.insert(0, str(tmp_path))
    with (
        install(Config(modules=("fragile_mod",))),
        pytest.warns(UserWarning, match="fragile_mod runs unaccelerated"),
    ):
        mod = importlib.import_module("fragile_mod")
    assert mod.f(2) == 4


def test_a_loop_rewriting_failure_leaves_the_functions_accelerated(
    tmp_path, isolated_imports, monkeypatch
):
    import autoaccel.hook.finder as hook

    def broken(*args, **kwargs):
        raise RuntimeError("simulated bug")

    monkeypatch.setattr(hook, "rewrite_source", broken)
    (tmp_path / "fragile_loops.py").write_text("def f(x):\n    return x * 2\n")
    sys.path.insert(0, str(tmp_path))
    with (
        install(Config(modules=("fragile_loops",))),
        pytest.warns(UserWarning, match="fragile_loops: its loops run unaccelerated"),
    ):
        mod = importlib.import_module("fragile_loops")
    assert mod.f(2) == 4
    assert lookup(mod.f) is not None


def test_pytest_assertion_rewriting_still_works_with_the_hook(tmp_path):
    """A test module that autoaccel selects keeps pytest's assertion introspection."""
    (tmp_path / "conftest.py").write_text(
        "import autoaccel\n"
        "from autoaccel import Config\n"
        "autoaccel.install(Config(modules=('test_target', 'kern'), min_calls=1, min_gain=0.0))\n"
    )
    (tmp_path / "kern.py").write_text(
        "def total(a):\n    s = 0.0\n    for i in range(a.shape[0]):\n        s += a[i]\n    return s\n"
    )
    (tmp_path / "test_target.py").write_text(
        textwrap.dedent(
            """
            import numpy as np
            import kern
            from autoaccel.runtime.registry import lookup

            def test_kernel_promoted():
                for _ in range(5):
                    assert kern.total(np.ones(10)) == 10.0
                assert lookup(kern.total).promotions

            def test_introspection():
                values = [1, 2]
                assert values[0] == values[1]
            """
        )
    )
    result = run_python(
        "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_target.py", cwd=tmp_path
    )
    assert "1 failed, 1 passed" in result.stdout, result.stdout + result.stderr
    assert "assert 1 == 2" in result.stdout, "pytest's assertion rewriting was bypassed"
