"""autoaccel.report.text: the table on stderr, the JSON file, and the exit handler."""

from __future__ import annotations

import json

from conftest import run_python

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


def _entry(state, reason=None, variants=(), calls=10, name="m.f", catalogue=None):
    return {"name": name, "calls": calls, "state": state, "reason": reason,
            "catalogue": catalogue, "variants": list(variants)}  # fmt: skip


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
        "compiled in 0.25 s (saved decision)"
    )
    assert len(lines) == 4  # no reason cites the catalogue: no legend


def test_a_reason_citing_the_catalogue_gets_a_legend_line():
    reason = "calls hash() (differs for NaN) [22]"
    data = {"autoaccel": "9.9", "functions": [
        _entry("rejected", reason, catalogue="docs/divergences.md#row-22")]}  # fmt: skip
    lines = format_table(data).splitlines()
    assert lines[2].endswith(reason)  # the reason as it is, its tag included
    assert (
        lines[-1] == "[N]: row N of docs/divergences.md, where Numba and CPython answer differently"
    )


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
    assert STATE.reports_scheduled == {(True, None), (False, "r.json")}
