"""Warm starts (autoaccel/runtime/warm_start.py): a script whose loaded promotions saved less
than starting Numba and loading them took runs its next runs without loading them."""

from __future__ import annotations

import json

import pytest
from conftest import cache_at, run_python, write

from autoaccel.cache.ledger import RunRecord, read_record, write_record
from autoaccel.config import Config
from autoaccel.runtime import warm_start
from autoaccel.state import STATE

SCRIPT = "/work/app.py"


@pytest.fixture
def script(monkeypatch, private_cache):
    monkeypatch.setattr(warm_start, "_script", lambda: SCRIPT)
    return cache_at(private_cache)


def _refusal(**settings) -> str | None:
    STATE.warm_start = None
    return warm_start.load_refusal(Config(**settings))


def test_without_a_record_the_saved_promotions_load(script):
    assert _refusal() is None


def test_promotions_that_saved_less_than_their_start_are_not_loaded(script):
    write_record(script, SCRIPT, RunRecord(0.6, 0.05))
    reason = _refusal()
    assert reason is not None and reason.endswith("(saved decision)")
    assert "saved 0.050 s, less than the 0.600 s of starting Numba" in reason
    assert read_record(script, SCRIPT) == RunRecord(0.6, 0.05, 1), "the plain run is counted"
    STATE.warm_start = (None,)
    assert warm_start.load_refusal(Config()) is None, "decided once per process"


def test_every_eighth_run_loads_again_to_measure(script):
    for plain_runs in range(warm_start.RETRY_AFTER):
        write_record(script, SCRIPT, RunRecord(0.6, 0.05, plain_runs))
        loads = plain_runs + 1 == warm_start.RETRY_AFTER
        assert (_refusal() is None) is loads, plain_runs


@pytest.mark.parametrize(
    ("record", "payback"), [(RunRecord(0.6, 0.7), 1.0), (RunRecord(0.6, 0.05), 0.0)]
)
def test_promotions_that_pay_or_start_payback_0_load(script, record, payback):
    write_record(script, SCRIPT, record)
    assert _refusal(start_payback=payback) is None


def test_without_a_cache_or_a_script_there_is_no_ledger(script, monkeypatch):
    write_record(script, SCRIPT, RunRecord(0.6, 0.05))
    assert _refusal(cache=False) is None
    monkeypatch.setattr(warm_start, "_script", lambda: None)
    assert _refusal() is None


FUNCTION = """
import sys

def scaled(x):
    return x * 2.5 + 1.0

print(sum(scaled(float(i)) for i in range(400)))
print("numba imported:", "numba" in sys.modules, file=sys.stderr)
"""

LOOP = """
import sys

def total(n):
    s = 0.0
    for i in range(n):
        s += (i % 7) * 0.5
    return s

print(total(300000))
print("numba imported:", "numba" in sys.modules, file=sys.stderr)
"""


@pytest.mark.slow
@pytest.mark.parametrize(
    ("source", "kind", "config"),
    [
        (FUNCTION, "functions", "min_calls = 20\nmin_gain = 0.0\nmin_seconds = 0.0\n"),
        (LOOP, "loops", "loop_min_seconds = 0.001\nmin_gain = 0.0\n"),
    ],
)
def test_a_script_whose_promotions_do_not_pay_runs_plain_from_its_third_run(
    tmp_path, source, kind, config
):
    write(tmp_path / "app.py", source)
    write(tmp_path / "python_optimizer.toml", config + "background_compile = false\n")
    plain = run_python("app.py", cwd=tmp_path).stdout
    runs = []
    for _ in range(3):
        result = run_python("-m", "autoaccel", "--report-json", "r.json", "app.py", cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        assert result.stdout == plain
        (unit,) = json.loads((tmp_path / "r.json").read_text())[kind]
        runs.append((result.stderr, unit))
    (_, first), (err2, second), (err3, third) = runs
    assert first["state"] == second["state"] == "promoted", (first, second)
    # The second run loaded the variant and found that it saved less than the start took.
    assert "numba imported: True" in err2
    assert third["state"] == "rejected", third
    assert "not loaded or compiled: the promotions of this script's last run" in third["reason"]
    assert "numba imported: False" in err3
