"""autoaccel.report.text: the table on stderr, the JSON file, and the exit handler."""

from __future__ import annotations

import json
import re

from conftest import run_python

from autoaccel import __version__
from autoaccel.config import Config
from autoaccel.report.text import format_table, report_at_exit, write
from autoaccel.state import STATE


def test_a_modules_pattern_that_matched_nothing_is_named_at_exit(tmp_path):
    (tmp_path / "python_optimizer.toml").write_text('modules = ["__main__", "nosuchpkg.*"]\n')
    (tmp_path / "app.py").write_text("print('ok')\n")
    result = run_python("-m", "autoaccel", "--report", "app.py", cwd=tmp_path)
    assert result.stdout == "ok\n"
    assert "modules pattern 'nosuchpkg.*' matched no imported module" in result.stderr
    assert "modules pattern '__main__'" not in result.stderr


def test_a_forked_child_leaves_the_parents_report_alone(tmp_path):
    # A raw os.fork child that exits normally runs the atexit handlers it inherited.
    (tmp_path / "app.py").write_text(
        "import os\n"
        "def f(x):\n"
        "    return x + 1.0\n"
        "for _ in range(3):\n"
        "    f(1.0)\n"
        "pid = os.fork()\n"
        "if pid == 0:\n"
        "    for _ in range(7):\n"
        "        f(1.0)\n"
        "else:\n"
        "    os.waitpid(pid, 0)\n"
    )
    result = run_python(
        "-m", "autoaccel", "--report", "--report-json", "out.json", "app.py", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    rows = [line for line in result.stderr.splitlines() if line.startswith("__main__.f ")]
    assert len(rows) == 1, result.stderr
    (entry,) = json.loads((tmp_path / "out.json").read_text())["functions"]
    assert entry["calls"] == 3


def _entry(state, reason=None, variants=(), calls=10, name="m.f", explanation=None):
    return {"name": name, "calls": calls, "state": state, "reason": reason,
            "explanation": explanation, "variants": list(variants),
            "compile_seconds": 0.5, "trial_seconds": 0.25}  # fmt: skip


VARIANT = {
    "signature": "(float64)",
    "target": "parallel",
    "speedup": 3.0,
    "compile_seconds": 0.25,
    "from_cache": True,
    "saved_decision": True,
    "candidates": [
        {"target": "cpu", "speedup": 2.0, "outcome": "slower than parallel"},
        {"target": "parallel", "speedup": 3.0, "outcome": "promoted"},
        {"target": "cuda", "speedup": 0.0, "outcome": "skipped: no GPU"},
    ],
}


def test_the_table_lists_promoted_first_with_each_variant_and_candidate():
    data = {
        "autoaccel": "9.9",
        "functions": [
            _entry("interpreted", "not hot", calls=500, name="m.cold"),
            _entry("promoted", variants=[VARIANT], calls=5, name="m.hot"),
        ],
    }
    lines = format_table(data).splitlines()
    assert lines[0] == "autoaccel 9.9 report"
    assert lines[2].startswith("m.hot ") and lines[3].startswith("m.cold ")
    assert lines[2].endswith(
        "(float64) 3.00x on parallel (cpu 2.00x, parallel 3.00x, cuda skipped: no GPU), "
        "loaded in 0.25 s (saved decision)"
    )
    assert "0.50     0.25" in lines[2]  # the seconds compiling and in trial
    assert len(lines) == 4


def test_a_rejected_row_gives_the_explanation_with_what_to_do():
    reason = "calls hash() (differs for NaN) [22]"
    explanation = "calls hash() (differs for NaN); what to do: ... (see docs/reasons.md#row-22)"
    data = {"autoaccel": "9.9", "functions": [_entry("rejected", reason, explanation=explanation)]}
    assert format_table(data).splitlines()[2].endswith(explanation)


def test_loops_follow_the_functions_and_loops_that_never_ran_are_left_out():
    data = {
        "autoaccel": "9.9",
        "functions": [_entry("interpreted", "not hot", name="m.f")],
        "loops": [
            _entry("promoted", variants=[VARIANT], calls=2, name="m.f.<loop@3>"),
            _entry("interpreted", "not hot", calls=0, name="m.f.<loop@5>"),
        ],
    }
    lines = format_table(data).splitlines()
    assert lines[3].startswith("loop ") and "runs" in lines[3]
    assert lines[4].startswith("m.f.<loop@3> ")
    assert len(lines) == 5


def test_verbose_logs_each_compile_and_numbas_whole_error(tmp_path):
    (tmp_path / "app.py").write_text(
        "import numpy as np\n"
        "def f(a):\n"
        "    return a[0].foo\n"
        "def g(a):\n"
        "    return a[0] + 1.0\n"
        "x = np.ones(3)\n"
        "for _ in range(25):\n"
        "    g(x)\n"
        "    try:\n"
        "        f(x)\n"
        "    except AttributeError:\n"
        "        pass\n"
    )
    # g's calls are too short to pay for a compile at the default min_gain.
    (tmp_path / "python_optimizer.toml").write_text("min_gain = 0\nbackground_compile = false\n")
    result = run_python("-m", "autoaccel", "-v", "--report", "app.py", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    err = result.stderr
    assert "__main__.g(array(float64, 1d, C)): compiling" in err
    assert re.search(r"__main__\.g: compiled \(array\(float64, 1d, C\)\) in [\d.]+ s", err)
    # The whole error, over several lines, only in the log; the report keeps its first line.
    assert re.search(r"__main__\.f\(array\(float64, 1d, C\)\): compile failed after [\d.]+ s", err)
    log, _, report = err.partition(f"autoaccel {__version__} report")
    assert "During:" in log and "During:" not in report
    assert "Numba cannot compile it: Unknown attribute 'foo' of type float64" in report


def test_write_prints_the_table_and_writes_the_json_it_is_asked_for(tmp_path, capsys):
    report = tmp_path / "report.json"
    write(Config(report=True, report_json=str(report)))
    assert capsys.readouterr().err.startswith("autoaccel ")
    assert set(json.loads(report.read_text())) == {"autoaccel", "functions", "loops"}
    write(Config())
    assert capsys.readouterr() == ("", "")


def test_a_report_is_scheduled_once_per_destination(monkeypatch):
    scheduled = []
    monkeypatch.setattr("atexit.register", lambda *args: scheduled.append(args))
    report_at_exit(Config(report=True))
    report_at_exit(Config(report=True, min_calls=3))  # same destination
    report_at_exit(Config(report_json="r.json"))
    report_at_exit(Config())  # nothing asked for
    assert [args[1].report_json for args in scheduled] == [None, "r.json"]
    assert STATE.reports_scheduled == {(True, None, None), (False, "r.json", None)}
