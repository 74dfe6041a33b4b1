"""The report: states, reasons, the table, and the documented config example."""

from __future__ import annotations

import json
import re

import numpy as np
from conftest import REPO, run_python

from autoaccel import __version__
from autoaccel.config import options
from autoaccel.errors import with_article
from autoaccel.report.reasons import readable
from autoaccel.report.stats import stats
from autoaccel.report.text import format_table


def test_stats_and_table_name_each_state_and_reason(accelerated):
    mod = accelerated(
        """
        def total(a):
            s = 0.0
            for i in range(a.shape[0]):
                s += a[i]
            return s

        def words(n):
            yield n

        def cold(x):
            return x
        """,
        min_calls=2,
    )
    for _ in range(5):
        mod.total(np.ones(8))
    mod.cold(1)
    entries = {
        f["name"].split(".")[-1]: f
        for f in stats()["functions"]
        if f["name"].startswith(mod.__name__)
    }
    assert entries["total"]["state"] == "promoted" and entries["total"]["calls"] == 5
    assert entries["total"]["variants"][0]["signature"] == "(array(float64, 1d, C))"
    assert entries["words"]["state"] == "rejected" and "generator" in entries["words"]["reason"]
    assert entries["cold"]["state"] == "interpreted"
    assert "at most 1 call with one signature (min_calls 2)" in entries["cold"]["reason"]
    assert entries["total"]["compile_seconds"] > 0 and entries["total"]["trial_seconds"] > 0
    table = format_table(stats())
    assert re.search(
        rf"{mod.__name__}\.total\s+5\s+promoted\s+[\d.]+\s+[\d.]+\s+\(array\(float64, 1d, C\)\)",
        table,
    )
    # The generator's reason, with what to do and where the docs explain it.
    assert (
        "is a generator or coroutine (Numba builds a different kind of object); what to do: "
        "return an array instead of yielding (see docs/reasons.md#row-31)"
    ) in table


def test_reasons_name_the_line_and_what_to_do():
    assert readable("builds a dict (Numba returns a typed Dict) [25] (line 7)") == (
        "builds a dict (Numba returns a typed Dict) (line 7); what to do: return arrays or "
        "tuples instead of a dict or set (see docs/reasons.md#row-25)"
    )
    assert readable("(float64): calls h, a Python function outside the accelerated modules") == (
        "(float64): calls h, a Python function outside the accelerated modules; what to do: "
        "add its module to `modules`"
    )
    assert readable("something new") == "something new"


def test_every_catalogue_row_a_reason_links_to_is_documented():
    text = (REPO / "docs" / "reasons.md").read_text()
    rows = set(re.findall(r" \[(\d+)\]", "".join(_reason_sources())))
    assert rows, "no reasons found"
    for row in rows:
        assert f'<a id="row-{row}"></a>' in text, f"docs/reasons.md lacks row {row}"


def _reason_sources():
    for path in (REPO / "autoaccel").rglob("*.py"):
        yield from re.findall(r'"[^"\n]*\[\d+\][^"\n]*"', path.read_text())


def test_articles_follow_the_sound_of_the_type_name():
    assert [with_article(w) for w in ("Array2D", "ndarray", "int64", "uint8", "float64")] == [
        "an Array2D",
        "an ndarray",
        "an int64",
        "a uint8",
        "a float64",
    ]


def test_rejections_write_signatures_in_numbas_notation(accelerated):
    mod = accelerated(
        """
        class Array2D:
            pass

        def first(a, grid):
            return a[0]
        """
    )
    mod.first(np.ones(3), mod.Array2D())
    (entry,) = [f for f in stats()["functions"] if f["name"] == f"{mod.__name__}.first"]
    assert entry["reason"] == (
        "(array(float64, 1d, C), Array2D): takes an Array2D argument, which Numba cannot use "
        "exactly"
    )
    assert entry["explanation"].endswith("what to do: pass NumPy arrays and numbers")


def test_the_config_example_documents_every_key():
    text = (REPO / "python_optimizer.toml.example").read_text()
    keys = [key for key, _, _ in options.OPTIONS]
    keys += [key for key, _ in options.JIT_OPTIONS] + [key for key, _ in options.FUNCTION_OPTIONS]
    keys += [key for key, _ in options.SPECIALIZATION_OPTIONS]
    for key in keys:
        assert re.search(rf"^#? ?{key} = ", text, re.MULTILINE), f"{key} is not documented"


def test_a_modules_pattern_that_matched_nothing_is_named_at_exit(tmp_path):
    (tmp_path / "python_optimizer.toml").write_text('modules = ["__main__", "nosuchpkg.*"]\n')
    (tmp_path / "app.py").write_text("print('ok')\n")
    result = run_python("-m", "autoaccel", "--report", "app.py", cwd=tmp_path)
    assert result.stdout == "ok\n"
    assert "modules pattern 'nosuchpkg.*' matched no imported module" in result.stderr
    assert "modules pattern '__main__'" not in result.stderr


def test_a_compiled_signature_still_in_trial_is_reported_as_such(accelerated):
    from autoaccel.report.stats import function_stats
    from autoaccel.runtime.registry import lookup

    mod = accelerated(
        """
        def cube(x):
            return x * x * x
        """,
        validation_calls=3,
    )
    for _ in range(2):
        mod.cube(2.0)
    entry = function_stats(lookup(mod.cube))
    assert entry["state"] == "interpreted"
    assert entry["reason"] == "compiled, still being validated: (float64)"


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
