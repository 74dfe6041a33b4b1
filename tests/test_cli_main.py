"""Subprocess tests of ``python -m autoaccel``: a program runs as under plain Python, faster."""

from __future__ import annotations

import json
import os

import pytest
from conftest import run_python, write

from autoaccel._version import __version__

# A loop-heavy kernel Numba speeds up by two orders of magnitude, called 30 times.
HOT_SCRIPT = """
import numpy as np

def f(a):
    total = 0.0
    for i in range(a.shape[0]):
        total += a[i] * a[i]
    return total

a = np.arange(20_000, dtype=np.float64) / 7.0
results = [f(a) for _ in range(30)]
print(repr(results[0]), repr(results[-1]), repr(sum(results)))
"""

# Prints what a script can see of how it was started.
SHOW_SCRIPT = """
import json, os, sys
print(json.dumps({
    "argv": sys.argv,
    "name": __name__,
    "file": __file__,
    "path0": sys.path[0],
    "cwd": os.getcwd(),
}))
"""


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    """No ``AUTOACCEL_*`` variable of the caller's environment reaches the subprocesses.

    The test's private cache directory (conftest's ``private_cache``) is kept.
    """
    for name in list(os.environ):
        if name.startswith("AUTOACCEL_") and name != "AUTOACCEL_CACHE_DIR":
            monkeypatch.delenv(name)


def autoaccel(*args: str, **kwargs):
    return run_python("-m", "autoaccel", *args, **kwargs)


# Options -------------------------------------------------------------------------------------


def test_version():
    proc = autoaccel("--version")
    assert proc.returncode == 0
    assert proc.stdout.strip() == f"autoaccel {__version__}"


def test_help_mentions_options():
    proc = autoaccel("--help")
    assert proc.returncode == 0
    assert "--report-json" in proc.stdout
    assert "--config" in proc.stdout
    assert "-m MODULE" in proc.stdout


def test_no_program_is_a_usage_error():
    proc = autoaccel()
    assert proc.returncode == 2
    assert "give exactly one of" in proc.stderr


# A script runs as under plain Python -----------------------------------------------------------


def test_script_sees_what_plain_python_shows(tmp_path):
    script = write(tmp_path / "prog" / "show.py", SHOW_SCRIPT)
    args = ["a b", "--report", "-v", "--config", "x.toml", "-m", "mod", "--", "last"]
    plain = run_python(str(script), *args, cwd=tmp_path)
    accelerated = autoaccel(str(script), *args, cwd=tmp_path)
    assert plain.returncode == 0, plain.stderr
    assert accelerated.returncode == 0, accelerated.stderr
    assert accelerated.stdout == plain.stdout
    seen = json.loads(accelerated.stdout)
    assert seen["argv"] == [str(script), *args]
    assert seen["name"] == "__main__"
    assert seen["file"] == str(script)
    assert seen["path0"] == str(script.parent)
    assert seen["cwd"] == str(tmp_path)


def test_autoaccel_options_before_the_script_are_not_passed_on(tmp_path):
    script = write(tmp_path / "show.py", SHOW_SCRIPT)
    proc = autoaccel("-v", "--report-json", "r.json", str(script), "x", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["argv"] == [str(script), "x"]


def test_relative_script_path_argv_and_path0(tmp_path):
    write(tmp_path / "show.py", SHOW_SCRIPT)
    proc = autoaccel("show.py", "--report", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    seen = json.loads(proc.stdout)
    assert seen["argv"] == ["show.py", "--report"]
    assert seen["path0"] == str(tmp_path)


def test_relative_script_path_file_is_absolute_as_in_plain_python(tmp_path):
    write(tmp_path / "show.py", SHOW_SCRIPT)
    plain = run_python("show.py", cwd=tmp_path)
    accelerated = autoaccel("show.py", cwd=tmp_path)
    assert json.loads(accelerated.stdout)["file"] == json.loads(plain.stdout)["file"]


def test_stdout_identical_to_plain_python(tmp_path):
    script = write(
        tmp_path / "out.py",
        """
        import sys

        def fib(n):
            return n if n < 2 else fib(n - 1) + fib(n - 2)

        def scaled_sum(n, scale):
            total = 0.0
            for i in range(n):
                total += i * scale
            return total

        for i in range(15):
            print(i, fib(i), repr(scaled_sum(i * 100, 0.1)), sep="\\t")
        print("to stderr", file=sys.stderr)
        """,
    )
    # Promotion forced, so the output compared is the promoted variant's (no timing involved).
    forced = {"AUTOACCEL_MIN_CALLS": "2", "AUTOACCEL_MIN_GAIN": "0"}
    plain = run_python(str(script), cwd=tmp_path, env=forced)
    accelerated = autoaccel("--report-json", "report.json", str(script), cwd=tmp_path, env=forced)
    assert accelerated.returncode == plain.returncode == 0
    assert accelerated.stdout == plain.stdout
    assert "to stderr" in accelerated.stderr
    states = {
        f["name"]: f["state"]
        for f in json.loads((tmp_path / "report.json").read_text())["functions"]
    }
    # fib recurses: compiled with a depth budget (docs/divergences.md, row 30).
    assert states == {"__main__.fib": "promoted", "__main__.scaled_sum": "promoted"}


def test_stdin_is_passed_through(tmp_path):
    script = write(
        tmp_path / "echo.py",
        """
        first = input()
        rest = input()
        print(first[::-1], int(rest) * 2)
        """,
    )
    proc = autoaccel(str(script), cwd=tmp_path, stdin="hello\n21\n")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "olleh 42\n"


# Exit codes and errors -----------------------------------------------------------------------


def test_sys_exit_code(tmp_path):
    script = write(tmp_path / "ex.py", "import sys\nprint('before')\nsys.exit(3)\n")
    proc = autoaccel(str(script), cwd=tmp_path)
    assert proc.returncode == 3
    assert proc.stdout == "before\n"


def test_system_exit_message(tmp_path):
    script = write(tmp_path / "ex.py", 'raise SystemExit("goodbye, world")\n')
    proc = autoaccel(str(script), cwd=tmp_path)
    assert proc.returncode == 1
    assert "goodbye, world" in proc.stderr
    assert "Traceback" not in proc.stderr


UNCAUGHT = """
def g(x):
    raise ValueError("boom %d" % x)

print("before")
g(3)
"""


def test_uncaught_exception_exit_1_with_script_traceback(tmp_path):
    script = write(tmp_path / "err.py", UNCAUGHT)
    proc = autoaccel(str(script), cwd=tmp_path)
    assert proc.returncode == 1
    assert proc.stdout == "before\n"
    assert proc.stderr.startswith("Traceback (most recent call last):")
    assert f'File "{script}", line 6, in <module>' in proc.stderr
    assert f'File "{script}", line 3, in g' in proc.stderr
    assert 'raise ValueError("boom %d" % x)' in proc.stderr
    assert proc.stderr.rstrip().endswith("ValueError: boom 3")


def test_uncaught_exception_traceback_has_no_autoaccel_frames(tmp_path):
    script = write(tmp_path / "err.py", UNCAUGHT)
    plain = run_python(str(script), cwd=tmp_path)
    proc = autoaccel(str(script), cwd=tmp_path)
    assert proc.returncode == 1
    assert "_cli.py" not in proc.stderr
    assert "_runner.py" not in proc.stderr
    assert proc.stderr == plain.stderr


def test_exception_during_validation_has_no_autoaccel_frames(tmp_path):
    script = write(
        tmp_path / "trial.py",
        """
        import numpy as np

        def f(a, k):
            s = 0.0
            for i in range(a.shape[0]):
                s += a[i]
            if k == 9:
                raise ValueError("k is 9")
            return s

        a = np.ones(1000)
        for k in range(10):
            f(a, k)
        """,
    )
    env = {"AUTOACCEL_MIN_CALLS": "8"}
    plain = run_python(str(script), cwd=tmp_path, env=env)
    proc = autoaccel(str(script), cwd=tmp_path, env=env)
    assert proc.returncode == plain.returncode == 1
    assert proc.stderr.rstrip().endswith("ValueError: k is 9")
    assert "_trampoline.py" not in proc.stderr
    assert "_promotion.py" not in proc.stderr


def test_missing_script(tmp_path):
    proc = autoaccel("missing.py", cwd=tmp_path)
    assert proc.returncode == 2
    assert "can't open file" in proc.stderr
    assert "missing.py" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_missing_script_with_dot_slash(tmp_path):
    proc = autoaccel("./missing.py", cwd=tmp_path)
    assert proc.returncode == 2
    assert "can't open file" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_file_not_found_inside_the_script_is_an_ordinary_error(tmp_path):
    script = write(tmp_path / "opener.py", "open('no-such-data.txt')\n")
    proc = autoaccel(str(script), cwd=tmp_path)
    assert proc.returncode == 1
    assert "can't open file" not in proc.stderr
    assert "FileNotFoundError" in proc.stderr
    assert "no-such-data.txt" in proc.stderr


# -m module -----------------------------------------------------------------------------------


def test_run_module(tmp_path):
    module = write(tmp_path / "aa_cli_mod.py", SHOW_SCRIPT)
    plain = run_python("-m", "aa_cli_mod", "x", "--report", cwd=tmp_path)
    proc = autoaccel("-m", "aa_cli_mod", "x", "--report", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == plain.stdout
    seen = json.loads(proc.stdout)
    assert seen["argv"] == [str(module), "x", "--report"]
    assert seen["name"] == "__main__"
    assert seen["file"] == str(module)
    assert seen["path0"] == str(tmp_path)


def test_run_package_main(tmp_path):
    write(tmp_path / "aa_cli_pkg" / "__init__.py", "")
    write(tmp_path / "aa_cli_pkg" / "helper.py", "VALUE = 7\n")
    main = write(
        tmp_path / "aa_cli_pkg" / "__main__.py",
        """
        import json, sys
        from . import helper
        print(json.dumps({"argv": sys.argv, "name": __name__, "package": __package__,
                          "value": helper.VALUE}))
        """,
    )
    plain = run_python("-m", "aa_cli_pkg", "arg", cwd=tmp_path)
    proc = autoaccel("-m", "aa_cli_pkg", "arg", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == plain.stdout
    assert json.loads(proc.stdout) == {
        "argv": [str(main), "arg"],
        "name": "__main__",
        "package": "aa_cli_pkg",
        "value": 7,
    }


def test_run_module_exit_code(tmp_path):
    write(tmp_path / "aa_cli_exit.py", "import sys\nsys.exit(len(sys.argv))\n")
    proc = autoaccel("-m", "aa_cli_exit", "a", "b", cwd=tmp_path)
    assert proc.returncode == 3


def test_missing_module_exit_1(tmp_path):
    proc = autoaccel("-m", "aa_no_such_module_here", cwd=tmp_path)
    assert proc.returncode == 1
    assert "aa_no_such_module_here" in proc.stderr


# Acceleration and the report -----------------------------------------------------------------


def test_hot_function_is_promoted_and_reported_as_json(tmp_path):
    script = write(tmp_path / "hot.py", HOT_SCRIPT)
    write(tmp_path / "python_optimizer.toml", "min_calls = 5\n")
    plain = run_python(str(script), cwd=tmp_path)
    proc = autoaccel("--report-json", "out.json", str(script), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == plain.stdout

    report = json.loads((tmp_path / "out.json").read_text())
    assert set(report) == {"autoaccel", "functions", "loops"}
    assert report["autoaccel"] == __version__
    assert len(report["functions"]) == 1
    entry = report["functions"][0]
    assert {"name", "calls", "state", "reason", "variants"} <= set(entry)
    assert entry["name"] == "__main__.f"
    assert entry["calls"] == 30
    assert entry["state"] == "promoted"
    assert entry["reason"] is None
    assert len(entry["variants"]) == 1
    variant = entry["variants"][0]
    assert {"signature", "target", "speedup", "compile_seconds", "from_cache"} <= set(variant)
    assert isinstance(variant["signature"], str)
    assert "float64" in variant["signature"]
    assert variant["target"] == "cpu"
    assert isinstance(variant["speedup"], float)
    assert variant["speedup"] > 0
    assert isinstance(variant["compile_seconds"], float)
    assert variant["compile_seconds"] >= 0
    assert variant["from_cache"] is False


def test_report_table_on_stderr(tmp_path):
    script = write(tmp_path / "hot.py", HOT_SCRIPT)
    write(tmp_path / "python_optimizer.toml", "min_calls = 5\n")
    plain = run_python(str(script), cwd=tmp_path)
    proc = autoaccel("--report", str(script), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == plain.stdout
    assert "report" in proc.stderr
    rows = [line for line in proc.stderr.splitlines() if line.startswith("__main__.f ")]
    assert len(rows) == 1
    assert "promoted" in rows[0]
    assert "30" in rows[0].split()


def test_without_config_file_the_script_is_accelerated(tmp_path):
    script = write(tmp_path / "hot.py", HOT_SCRIPT)
    proc = autoaccel(
        "--report-json",
        "out.json",
        str(script),
        cwd=tmp_path,
        env={"AUTOACCEL_MIN_CALLS": "5"},
    )
    assert proc.returncode == 0, proc.stderr
    report = json.loads((tmp_path / "out.json").read_text())
    assert [(f["name"], f["state"]) for f in report["functions"]] == [("__main__.f", "promoted")]


def test_config_file_next_to_script_is_found_from_another_cwd(tmp_path):
    script = write(tmp_path / "app" / "hot.py", HOT_SCRIPT)
    write(tmp_path / "app" / "python_optimizer.toml", 'min_calls = 5\nreport_json = "r.json"\n')
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    proc = autoaccel(str(script), cwd=elsewhere)
    assert proc.returncode == 0, proc.stderr
    # report_json is relative to the working directory.
    report = json.loads((elsewhere / "r.json").read_text())
    assert report["functions"][0]["state"] == "promoted"


def test_disable_runs_plain_python(tmp_path):
    script = write(tmp_path / "hot.py", HOT_SCRIPT)
    write(tmp_path / "python_optimizer.toml", "min_calls = 5\n")
    plain = run_python(str(script), cwd=tmp_path)
    proc = autoaccel(
        "--report-json",
        "out.json",
        "--report",
        str(script),
        cwd=tmp_path,
        env={"AUTOACCEL_DISABLE": "1"},
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == plain.stdout
    assert not (tmp_path / "out.json").exists()
    assert "promoted" not in proc.stderr


def test_disable_ignores_a_broken_config(tmp_path):
    script = write(tmp_path / "s.py", "print('ran')\n")
    write(tmp_path / "python_optimizer.toml", "min_calls = [\n")
    proc = autoaccel(str(script), cwd=tmp_path, env={"AUTOACCEL_DISABLE": "1"})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "ran\n"


def test_verbose_logs_decisions(tmp_path):
    script = write(tmp_path / "hot.py", HOT_SCRIPT)
    proc = autoaccel("-v", str(script), cwd=tmp_path, env={"AUTOACCEL_MIN_CALLS": "5"})
    assert proc.returncode == 0, proc.stderr
    assert "__main__.f" in proc.stderr
    assert "promoted" in proc.stderr or "compiled" in proc.stderr


def test_quiet_without_verbose(tmp_path):
    script = write(tmp_path / "hot.py", HOT_SCRIPT)
    proc = autoaccel(str(script), cwd=tmp_path, env={"AUTOACCEL_MIN_CALLS": "5"})
    assert proc.returncode == 0, proc.stderr
    assert "promoted" not in proc.stderr
    assert "compiled" not in proc.stderr


# Broken configuration ------------------------------------------------------------------------


def test_invalid_toml_config_is_exit_2(tmp_path):
    script = write(tmp_path / "s.py", "print('ran')\n")
    write(tmp_path / "bad.toml", "min_calls = [\n")
    proc = autoaccel("--config", "bad.toml", str(script), cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert "bad.toml" in proc.stderr
    assert "not valid TOML" in proc.stderr


def test_wrong_type_config_is_exit_2(tmp_path):
    script = write(tmp_path / "s.py", "print('ran')\n")
    write(tmp_path / "bad.toml", 'min_calls = "ten"\n')
    proc = autoaccel("--config", "bad.toml", str(script), cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert "bad.toml" in proc.stderr
    assert "'min_calls'" in proc.stderr
    assert "'ten'" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_discovered_broken_config_is_exit_2(tmp_path):
    script = write(tmp_path / "s.py", "print('ran')\n")
    write(tmp_path / "python_optimizer.toml", "min_gain = -1\n")
    proc = autoaccel(str(script), cwd=tmp_path)
    assert proc.returncode == 2
    assert "python_optimizer.toml" in proc.stderr
    assert "'min_gain'" in proc.stderr


def test_missing_config_file_is_exit_2(tmp_path):
    script = write(tmp_path / "s.py", "print('ran')\n")
    proc = autoaccel("--config", "absent.toml", str(script), cwd=tmp_path)
    assert proc.returncode == 2
    assert "absent.toml" in proc.stderr


def test_bad_environment_value_is_exit_2(tmp_path):
    script = write(tmp_path / "s.py", "print('ran')\n")
    proc = autoaccel(str(script), cwd=tmp_path, env={"AUTOACCEL_MIN_CALLS": "abc"})
    assert proc.returncode == 2
    assert "AUTOACCEL_MIN_CALLS" in proc.stderr


def test_abbreviated_option_is_handled_consistently(tmp_path):
    script = write(tmp_path / "s.py", "print('ran')\n")
    write(tmp_path / "cfg.toml", "min_calls = 5\n")
    proc = autoaccel("--conf", "cfg.toml", str(script), cwd=tmp_path)
    # Either run with the configuration, or reject the abbreviation by name.
    ran = proc.returncode == 0 and proc.stdout == "ran\n"
    rejected = proc.returncode == 2 and "unrecognized arguments: --conf" in proc.stderr
    assert ran or rejected, proc.stderr


def test_attached_module_option(tmp_path):
    write(tmp_path / "aa_cli_attached.py", "import sys\nprint(sys.argv[1:])\n")
    proc = autoaccel("-maa_cli_attached", "x", "y", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "['x', 'y']\n"
