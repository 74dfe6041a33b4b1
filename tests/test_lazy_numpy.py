"""NumPy imported on first use (autoaccel/lazy_numpy.py).

A program that never imports NumPy, run where nothing gets compiled, never has it imported
by autoaccel (the start-up cost it removes is measured in docs/performance.md, not here); a
program that imports it after autoaccel started has its arrays keyed by the C path as
before.
"""

from __future__ import annotations

import sys

import numpy as np
import pytest
from conftest import run_python, write

from autoaccel import lazy_numpy
from autoaccel.lazy_numpy import LazyModule
from autoaccel.runtime import fastpath, variant
from autoaccel.runtime.registry import lookup


def test_the_stand_in_imports_its_module_at_the_first_attribute_read(tmp_path, isolated_imports):
    write(tmp_path / "aa_lazy_target.py", "VALUE = 42\n")
    sys.path.insert(0, str(tmp_path))
    stand_in = LazyModule("aa_lazy_target")
    assert "aa_lazy_target" not in sys.modules
    assert stand_in.VALUE == 42
    module = sys.modules["aa_lazy_target"]
    assert module is not stand_in, "the program's import sees the module itself"
    assert stand_in.__dict__["VALUE"] == 42, "kept: later reads are plain attribute reads"
    with pytest.raises(AttributeError):
        _ = stand_in.no_such_name


def test_an_absent_module_raises_at_the_first_read():
    stand_in = LazyModule("aa_no_such_module_anywhere")
    with pytest.raises(ImportError):
        _ = stand_in.anything


def test_loaded_tells_whether_numpy_is_imported():
    assert lazy_numpy.loaded() is ("numpy" in sys.modules) is True
    assert lazy_numpy.np.ndarray is np.ndarray


def test_numpy_is_handed_to_the_c_path_once_a_counted_call_finds_it(accelerated, monkeypatch):
    handed = []
    monkeypatch.setattr(variant, "_numpy_used", [False])  # as in a process started without it
    real = fastpath.configure_numpy
    monkeypatch.setattr(
        fastpath, "configure_numpy", lambda **objects: handed.append(objects) or real(**objects)
    )
    module = accelerated("def first(a):\n    return a[0] * 2.0\n", min_calls=1000)
    for _ in range(3):
        assert module.first(np.ones(3)) == 2.0
    assert len(handed) == 1, "handed over once"
    assert handed[0]["ndarray"] is np.ndarray and handed[0]["float64"] is np.float64
    assert lookup(module.first)._counts == {(np.ndarray,): 3}


PURE = """
import sys

def sq(x):
    return x * x

def words(text):
    return len(text.split())

def size(table):
    return len(table)

total = 0.0
for i in range(300):
    total += sq(i * 0.5) + words("a b c") + size({"a": i})
print(total)
print("numpy imported:", "numpy" in sys.modules, file=sys.stderr)
"""


@pytest.mark.slow
def test_a_program_that_never_imports_numpy_runs_without_it(tmp_path):
    # Refusals that no timing changes (under coverage, calls are slow enough to compile):
    # a str and a dict argument, and a gain no call of sq can reach.
    config = "min_calls = 20\nmin_gain = 1e6\nloops = false\nbackground_compile = false\n"
    write(tmp_path / "app.py", PURE)
    write(tmp_path / "python_optimizer.toml", config)
    result = run_python("-m", "autoaccel", "--report-json", "r.json", "app.py", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == run_python("app.py", cwd=tmp_path).stdout
    assert "numpy imported: False" in result.stderr
    report = (tmp_path / "r.json").read_text()
    for reason in ("too short", "takes a str argument", "takes a dict argument"):
        assert reason in report, report
