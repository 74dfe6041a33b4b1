"""benchmarks/compare.py: which changes between two results files are regressions.

The inputs are fabricated results files (the shape benchmarks/run.py writes); nothing here
runs or times a benchmark.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import sys

import pytest
from conftest import REPO

_spec = importlib.util.spec_from_file_location("bench_compare", REPO / "benchmarks" / "compare.py")
assert _spec is not None and _spec.loader is not None
compare = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = compare  # dataclasses look their module up there
_spec.loader.exec_module(compare)


def _modes(plain: float, autoaccel: float, same: bool = True) -> dict:
    return {
        "plain": {"steady_s": plain, "whole_s": plain * 10, "same_output": True},
        "autoaccel": {"steady_s": autoaccel, "whole_s": autoaccel * 10, "same_output": same},
    }


def _results(**programs: dict) -> dict:
    return {
        "programs": {name: {"kind": "pyperformance", "modes": m} for name, m in programs.items()},
        "overhead": [
            {"case": "call after rejection", "unit": "ns", "autoaccel": 30.0, "baseline": 25.0}
        ],
    }


OLD = _results(fannkuch=_modes(1.0, 0.5), nbody=_modes(2.0, 2.0))


def _changed(**programs: dict) -> dict:
    new = copy.deepcopy(OLD)
    for name, modes in programs.items():
        new["programs"][name]["modes"] = modes
    return new


def test_identical_results_do_not_regress():
    text, regressed = compare.report(OLD, copy.deepcopy(OLD), threshold=0.1)
    assert not regressed
    assert "no regression" in text


def test_slower_autoaccel_beyond_the_threshold_regresses():
    new = _changed(fannkuch=_modes(1.0, 0.6))  # autoaccel / plain 0.5 -> 0.6: +20%
    text, regressed = compare.report(OLD, new, threshold=0.1)
    assert regressed
    assert "fannkuch, steady state: autoaccel / plain" in text
    assert "REGRESSION" in text
    _, regressed = compare.report(OLD, new, threshold=0.25)
    assert not regressed


def test_ratios_cancel_the_machine_speed():
    # Everything twice as slow (another machine): autoaccel / plain is unchanged.
    new = _changed(fannkuch=_modes(2.0, 1.0), nbody=_modes(4.0, 4.0))
    _, regressed = compare.report(OLD, new, threshold=0.05)
    assert not regressed


def test_faster_is_reported_but_never_a_regression():
    new = _changed(nbody=_modes(2.0, 1.0))
    text, regressed = compare.report(OLD, new, threshold=0.1)
    assert not regressed
    assert "faster" in text


def test_lost_identical_output_regresses_whatever_the_threshold():
    new = _changed(nbody=_modes(2.0, 2.0, same=False))
    text, regressed = compare.report(OLD, new, threshold=10.0)
    assert regressed
    assert "nbody (autoaccel)" in text


def test_overhead_rows_compare_autoaccel_with_their_baseline():
    new = copy.deepcopy(OLD)
    new["overhead"][0]["autoaccel"] = 45.0  # 1.2x -> 1.8x of the plain call
    changes, _ = compare.compare(OLD, new)
    (change,) = [c for c in changes if c.name.startswith("call after rejection")]
    assert change.factor == pytest.approx(1.5)
    assert change.regressed(0.25)


def test_programs_in_one_file_only_are_skipped():
    new = copy.deepcopy(OLD)
    del new["programs"]["nbody"]
    new["programs"]["chaos"] = {"kind": "pyperformance", "modes": _modes(1.0, 3.0)}
    text, regressed = compare.report(OLD, new, threshold=0.1)
    assert not regressed
    assert "skipped (in one file only): chaos, steady state: autoaccel / plain" in text
    assert "skipped (in one file only): nbody, whole process: autoaccel / plain" in text


def test_command_line_exit_status(tmp_path, capsys):
    old, new = tmp_path / "old.json", tmp_path / "new.json"
    old.write_text(json.dumps(OLD))
    new.write_text(json.dumps(_changed(fannkuch=_modes(1.0, 0.75))))  # +50%
    assert compare.main([str(old), str(new)]) == 1
    assert compare.main([str(old), str(old)]) == 0
    assert compare.main([str(old), str(new), "--threshold", "0.6"]) == 0
    assert "REGRESSION" in capsys.readouterr().out
