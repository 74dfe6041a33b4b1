"""autoaccel.hook.runner: a script or module run as ``__main__``, rewritten when selected.

The command line's tests (tests/test_cli_main.py) run these through ``python -m autoaccel``
in subprocesses; here they run in this process, with ``sys.argv``, ``sys.path`` and
``sys.modules`` restored afterwards.
"""

from __future__ import annotations

import os
import sys

import pytest
from conftest import write

from autoaccel.config import Config
from autoaccel.hook.finder import AccelFinder
from autoaccel.hook.runner import run_module, run_path, user_exception, user_traceback
from autoaccel.runtime.registry import lookup

SHOW = """
import sys

def f(x):
    return x + 1.0

seen = {"name": __name__, "file": __file__, "argv": list(sys.argv), "path0": sys.path[0]}
"""


@pytest.fixture
def main(isolated_imports, monkeypatch):
    """Run as ``__main__`` here; ``main()`` is the module that ran."""
    monkeypatch.setattr(sys, "argv", ["pytest"])
    return lambda: sys.modules["__main__"]


def _finder(config: Config) -> AccelFinder:
    return AccelFinder(config)


def test_a_script_runs_as_plain_python_would_start_it(tmp_path, main, monkeypatch):
    write(tmp_path / "app.py", SHOW)
    monkeypatch.chdir(tmp_path)
    finder = _finder(Config(modules=("__main__",)))
    run_path("app.py", ["x", "--y"], finder.config, finder)
    seen = main().seen
    assert seen == {
        "name": "__main__",
        "file": str(tmp_path / "app.py"),  # absolute, as CPython 3.9+ sets it
        "argv": ["app.py", "x", "--y"],
        "path0": str(tmp_path),
    }
    assert lookup(main().f) is not None and finder.matched == {"__main__"}


def test_a_script_not_selected_runs_unchanged(tmp_path, main):
    script = write(tmp_path / "app.py", SHOW)
    finder = _finder(Config(modules=("other",)))
    run_path(str(script), [], finder.config, finder)
    assert main().f(1.0) == 2.0 and lookup(main().f) is None
    assert finder.matched == set()


def test_a_package_runs_its_main_module(tmp_path, main, monkeypatch):
    write(tmp_path / "pkg" / "__init__.py", "")
    write(tmp_path / "pkg" / "__main__.py", SHOW)
    monkeypatch.chdir(tmp_path)
    finder = _finder(Config(modules=("pkg.__main__",)))
    run_module("pkg", ["a"], finder.config, finder)
    module = main()
    assert module.__spec__.name == "pkg.__main__" and module.__package__ == "pkg"
    assert module.seen["argv"] == [str(tmp_path / "pkg" / "__main__.py"), "a"]
    assert module.seen["path0"] == os.getcwd()
    assert lookup(module.f) is not None  # selected by its real name


def test_a_missing_module_is_an_import_error(tmp_path, main, monkeypatch):
    monkeypatch.chdir(tmp_path)
    finder = _finder(Config())
    with pytest.raises(ImportError, match="No module named aa_no_such_module"):
        run_module("aa_no_such_module", [], finder.config, finder)


def test_tracebacks_lose_autoaccel_frames_and_prologue_frames(tmp_path, main):
    script = write(
        tmp_path / "app.py",
        """
        def f(x):
            return 1.0 / x

        f(1.0)
        f(0.0)
        """,
    )
    config = Config(
        modules=("__main__",), min_calls=1, min_gain=0.0, validation_calls=3, compile_budget=0.0
    )
    finder = _finder(config)
    with pytest.raises(ZeroDivisionError) as info:
        run_path(str(script), [], config, finder)  # the second call raises in its trial
    raw = info.value.__traceback__
    assert _frames(raw) != _frames(user_traceback(raw))  # autoaccel frames were there
    shown = _frames(user_traceback(raw))
    assert [name for name, _, _ in shown] == [
        "test_tracebacks_lose_autoaccel_frames_and_prologue_frames",
        "<module>",
        "f",
    ]
    assert shown[-1][1:] == (str(script), 3)  # the line that raised, not the def line
    assert user_traceback(None) is None


def _frames(tb) -> list[tuple[str, str, int]]:
    frames = []
    while tb is not None:
        frames.append((tb.tb_frame.f_code.co_name, tb.tb_frame.f_code.co_filename, tb.tb_lineno))
        tb = tb.tb_next
    return frames


def test_an_error_raised_by_autoaccel_alone_keeps_no_frame(tmp_path, main, monkeypatch):
    # ``python -m autoaccel -m missing``: only autoaccel's frames; before, this raised a
    # ValueError from zip() while printing the ImportError.
    monkeypatch.chdir(tmp_path)
    finder = _finder(Config())
    with pytest.raises(ImportError) as info:
        run_module("aa_no_such_module", [], finder.config, finder)
    assert user_traceback(info.value.__traceback__.tb_next) is None  # past this test's frame


def _defined(source: str, filename: str, namespace: dict) -> None:
    exec(compile(source, filename, "exec"), namespace)


def test_an_exception_autoaccel_handled_is_not_shown_with_a_ctrl_c(tmp_path):
    # A Ctrl-C landing while a library function that autoaccel called handles an exception of
    # its own (pathlib's hash on first use): plain Python shows the KeyboardInterrupt alone.
    import sysconfig

    import numba

    namespace: dict = {}
    library = os.path.join(sysconfig.get_path("stdlib"), "aa_library.py")
    _defined(
        "def lazy():\n    try:\n        {}['hash']\n    except KeyError:\n"
        "        raise KeyboardInterrupt\n",
        library,
        namespace,
    )
    # Code that runs only for autoaccel: Numba's (a file in autoaccel's own directory would
    # be measured by the CI's coverage, which then finds no source for it).
    ours = os.path.join(os.path.dirname(numba.__file__), "aa_helper.py")
    _defined("def enter():\n    lazy()\n", ours, namespace)
    program = str(tmp_path / "app.py")
    _defined("def main():\n    enter()\n", program, namespace)
    _defined(
        "def handled():\n    try:\n        {}[0]\n    except KeyError:\n        main()\n",
        program,
        namespace,
    )
    for run, context in ((namespace["main"], None), (namespace["handled"], KeyError)):
        with pytest.raises(KeyboardInterrupt) as info:
            run()
        assert isinstance(info.value.__context__, KeyError)
        shown = user_exception(info.value)
        assert shown is info.value
        assert type(shown.__context__) is (context or type(None)), "the program's own stays"
        assert [name for name, _, _ in _frames(shown.__traceback__)][1:] == [
            *(["handled"] if context else []),
            "main",
        ]


def test_code_made_at_run_time_that_autoaccel_called_is_not_shown_with_a_ctrl_c(tmp_path):
    # A NamedTuple's __new__ is made from a string: a Ctrl-C landing in one that autoaccel's
    # loop boundary was building (seen on the CI) shows the program's frames only; the
    # program's own calls of code made from a string stay.
    import numba

    namespace: dict = {}
    _defined("def new():\n    raise KeyboardInterrupt\n", "<string>", namespace)
    ours = os.path.join(os.path.dirname(numba.__file__), "aa_helper.py")
    _defined("def enter():\n    new()\n", ours, namespace)
    program = str(tmp_path / "app.py")
    _defined("def main():\n    enter()\n\ndef mine():\n    new()\n", program, namespace)
    for run, names in ((namespace["main"], ["main"]), (namespace["mine"], ["mine", "new"])):
        with pytest.raises(KeyboardInterrupt) as info:
            run()
        shown = user_exception(info.value)
        assert [name for name, _, _ in _frames(shown.__traceback__)][1:] == names
