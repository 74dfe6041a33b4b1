"""``import autoaccel.install``: the hook installed at import, and one name both a module and
the function :func:`autoaccel.install` (autoaccel/install.py explains how).

Each test runs in a fresh interpreter: importing the module installs a hook for the rest of
the process.
"""

from __future__ import annotations

import json

from conftest import run_python, write


def test_import_autoaccel_install_accelerates_imported_module(tmp_path):
    write(
        tmp_path / "kern.py",
        """
        def f(a):
            total = 0.0
            for i in range(a.shape[0]):
                total += a[i] * a[i]
            return total
        """,
    )
    write(tmp_path / "python_optimizer.toml", 'modules = ["kern"]\nmin_calls = 3\n')
    script = write(
        tmp_path / "main.py",
        """
        import autoaccel.install
        import json
        import sys

        import numpy as np

        import autoaccel
        import kern

        a = np.arange(20_000, dtype=np.float64)
        results = {kern.f(a) for _ in range(20)}
        hook_installed = autoaccel.install.installation.finder in sys.meta_path
        handle = autoaccel.install()
        installed_again = handle.finder in sys.meta_path
        handle.uninstall()
        handle.uninstall()
        states = {e["name"]: e["state"] for e in autoaccel.stats()["functions"]}
        print(json.dumps({
            "states": states,
            "results": len(results),
            "hook_installed": hook_installed,
            "callable": callable(autoaccel.install),
            "handle": type(handle).__name__,
            "installed_again": installed_again,
            "removed": handle.finder not in sys.meta_path,
        }))
        """,
    )
    proc = run_python(str(script), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    seen = json.loads(proc.stdout)
    assert seen == {
        "states": {"kern.f": "promoted"},
        "results": 1,
        "hook_installed": True,
        "callable": True,
        "handle": "Installation",
        "installed_again": True,
        "removed": True,
    }


def test_the_name_is_the_function_until_the_module_is_imported(tmp_path):
    write(tmp_path / "python_optimizer.toml", 'modules = ["nothing_here"]\n')
    script = write(
        tmp_path / "main.py",
        """
        import json
        import sys
        import types

        import autoaccel
        from autoaccel import install as early
        from autoaccel.hook.finder import AccelFinder

        function = autoaccel.install
        assert not any(isinstance(f, AccelFinder) for f in sys.meta_path)
        import autoaccel.install

        module = sys.modules["autoaccel.install"]
        handle = autoaccel.install(autoaccel.Config(modules=("x",)))
        by_keyword = autoaccel.install(min_calls=9)
        print(json.dumps({
            "before": isinstance(function, types.FunctionType),
            "early_is_the_function": early is function,
            "after_is_the_module": autoaccel.install is module,
            "hooks_installed_by_the_import": sum(
                f is module.installation.finder for f in sys.meta_path
            ),
            "called_through_the_module": type(handle).__name__,
            "config_passed_on": handle.config.modules,
            "keywords_passed_on": by_keyword.config.min_calls,
            "discovered": list(module.installation.config.modules),
            "documented": module.__doc__.count("One name, a module and a function"),
        }))
        """,
    )
    proc = run_python(str(script), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == {
        "before": True,
        "early_is_the_function": True,
        "after_is_the_module": True,
        "hooks_installed_by_the_import": 1,
        "called_through_the_module": "Installation",
        "config_passed_on": ["x"],
        "keywords_passed_on": 9,
        "discovered": ["nothing_here"],
        "documented": 1,
    }


def test_calling_the_module_raises_what_the_function_raises(tmp_path):
    script = write(
        tmp_path / "main.py",
        """
        import autoaccel.install
        from autoaccel import ConfigError

        try:
            autoaccel.install(min_calls=0)
        except ConfigError as exc:
            print(type(exc).__name__, "min_calls" in str(exc))
        """,
    )
    proc = run_python(str(script), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "ConfigError True\n"
