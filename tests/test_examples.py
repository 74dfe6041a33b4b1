"""Every example prints the same under autoaccel as under plain Python, with kernels promoted.

These run real programs in subprocesses (reduced sizes), so they are marked slow. Promotion
is forced (``min_gain = 0``, a low ``min_calls``, through the environment, over each example's
own file), so what is checked does not depend on timings: the kernels are promoted and the
output stays the same. How much faster they run is measured in benchmarks/.
"""

from __future__ import annotations

import json
import re

import pytest
from conftest import REPO, run_autoaccel, run_python

from autoaccel.config import load_config

# Over the examples' files: every hot signature is promoted, whatever it measures.
FORCED = {"AUTOACCEL_MIN_GAIN": "0", "AUTOACCEL_MIN_CALLS": "3"}

# (example, reduced-size arguments, functions that must be promoted)
EXAMPLES = [
    (
        "indicators",
        ["--n", "60000", "--chunk", "3000"],
        {"__main__.ema", "__main__.kama", "__main__.rsi"},
    ),
    (
        "mlkernels",
        ["--datasets", "6", "--points", "400", "--iters", "8"],
        {"__main__.pairwise_distances", "__main__.kmeans_assign"},
    ),
    (
        "montecarlo",
        ["--L", "16", "--sweeps", "60", "--paths", "200"],
        {"__main__.ising_sweep", "__main__.price_paths"},
    ),
    (
        "signals",
        ["--n", "60000", "--chunk", "2000"],
        # These three value specializations run loops of their own.
        {f"__main__.moving_average[ma_type='{t}']" for t in ("DEMA", "HMA", "KAMA")},
    ),
    (
        "mixed",
        ["--skus", "30", "--days", "400", "--sim_days", "120"],
        {"__main__.holt_forecast", "__main__.simulate_policy"},
    ),
]


@pytest.mark.slow
@pytest.mark.parametrize(("example", "args", "hot"), EXAMPLES, ids=[e[0] for e in EXAMPLES])
def test_example_output_is_identical_and_kernels_are_promoted(example, args, hot, tmp_path):
    script = REPO / "examples" / example / f"{example}.py"
    plain = run_python(str(script), *args)
    assert plain.returncode == 0, plain.stderr
    report = tmp_path / "report.json"
    accelerated = run_python(
        "-m", "autoaccel", "--report-json", str(report), str(script), *args, env=FORCED
    )
    assert accelerated.returncode == 0, accelerated.stderr
    assert accelerated.stdout == plain.stdout
    functions = {f["name"]: f for f in json.loads(report.read_text())["functions"]}
    promoted = {name for name, f in functions.items() if f["state"] == "promoted"}
    assert hot <= promoted, {name: functions[name]["reason"] for name in hot - promoted}
    rejected = [f for f in functions.values() if f["state"] == "rejected"]
    assert all(f["reason"] for f in rejected), "every rejection names its reason"


def _opted_in(config: str) -> str:
    """An example's configuration with its commented-out ``targets``/``rtol`` lines active."""
    return re.sub(r"^# (targets|rtol) = ", r"\1 = ", config, flags=re.MULTILINE)


@pytest.mark.slow
def test_an_example_opts_in_to_parallel_through_its_config(tmp_path):
    # The lines docs/targets.md tells users to uncomment: output stays identical, every
    # promoted kernel was chosen among the listed targets, and the next run reuses each
    # choice (the target included) without a trial.
    example, args, hot = EXAMPLES[1]
    script = REPO / "examples" / example / f"{example}.py"
    config = tmp_path / "python_optimizer.toml"
    config.write_text(_opted_in((script.parent / "python_optimizer.toml").read_text()))
    assert load_config(config_file=config).targets == ("cpu", "parallel", "cuda")
    plain = run_python(str(script), *args)
    runs = []
    for _ in range(2):
        report = tmp_path / "report.json"
        result = run_autoaccel(config, report, str(script), *args, env=FORCED)
        assert result.returncode == 0, result.stderr
        assert result.stdout == plain.stdout
        functions = json.loads(report.read_text())["functions"]
        runs.append({f["name"]: f["variants"] for f in functions if f["state"] == "promoted"})
    first, second = runs
    # A helper promoted in the first run may not be called from Python at all in the
    # second, once its callers are promoted from their first call.
    assert hot <= set(second) <= set(first)
    for name, variants in first.items():
        for variant in variants:
            competed = {c["target"] for c in variant["candidates"]}
            assert competed == {"cpu", "parallel", "cuda"}, (name, competed)
    for name, variants in second.items():
        targets = [(v["signature"], v["target"]) for v in first[name]]
        assert [(v["signature"], v["target"]) for v in variants] == targets
        assert all(v["saved_decision"] for v in variants), name


# (script, reduced-size arguments, loops that must be promoted with loops forced)
SCRIPTS = [
    ("heat", ["40", "40"], {"__main__.<module>.<loop@24>"}),
    ("fit", ["300", "6", "30"], {"__main__.fit.<loop@32>"}),
    ("peaks", ["60000", "2"], {"__main__.analyse.<loop@43>"}),
]


@pytest.mark.slow
@pytest.mark.parametrize(("script", "args", "hot"), SCRIPTS, ids=[s[0] for s in SCRIPTS])
def test_script_output_is_identical_and_its_hot_loop_is_promoted(script, args, hot, tmp_path):
    path = REPO / "examples" / "scripts" / f"{script}.py"
    plain = run_python(str(path), *args)
    assert plain.returncode == 0, plain.stderr
    # The script's own configuration, then loops forced: promoted whatever their speed.
    for forced in ({}, {"AUTOACCEL_LOOP_MIN_SECONDS": "0", "AUTOACCEL_MIN_GAIN": "0"}):
        report = tmp_path / "report.json"
        result = run_python(
            "-m", "autoaccel", "--report-json", str(report), str(path), *args, env=forced
        )
        assert result.returncode == 0, result.stderr
        assert result.stdout == plain.stdout
    loops = {e["name"]: e for e in json.loads(report.read_text())["loops"]}
    promoted = {name for name, e in loops.items() if e["state"] == "promoted"}
    assert hot <= promoted, {name: loops[name]["reason"] for name in hot - promoted}
