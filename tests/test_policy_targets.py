"""autoaccel.policy.targets: candidates per target, selection by measured gain, CUDA, saved choices."""

from __future__ import annotations

import dataclasses
import json
import re
import sys
import textwrap

import numpy as np
import pytest
from conftest import run_autoaccel, run_python

from autoaccel.backends import cpu, cuda
from autoaccel.config import config_from_table
from autoaccel.errors import Rejection
from autoaccel.policy import targets
from autoaccel.policy.trial import Trial
from autoaccel.runtime.registry import lookup

# --- selection with controlled timings --------------------------------------------------------


class _Fake:
    """Stands for a compiled variant whose timings the test sets."""

    entry = staticmethod(lambda *args: 0.0)


def _timed(target: str, variant: float, original: float = 1.0, failure: str | None = None):
    trial = Trial(_Fake(), "(float64)", 0.1, target=target)
    trial.variant_seconds = [variant] * 3
    trial.original_seconds = [original] * 3
    trial.calls = 3
    trial.failure = failure
    return trial


def test_the_fastest_passing_target_wins_and_every_gain_is_reported():
    trials = {"cpu": _timed("cpu", 0.5), "parallel": _timed("parallel", 0.2)}
    trials["cuda"] = _timed("cuda", 0.05, failure="answered differently")
    selection = targets.Selection(trials, {}, saved_as="cpu-entry")
    promote, reason = selection.verdict(3, 1.2)
    assert (
        promote
        and selection.winner == "parallel"
        and selection.compiled is trials["parallel"].compiled
    )
    assert reason.startswith("target parallel, measured speed-up 5.00x")
    assert "cpu 2.00x" in reason and "cuda 20.00x: answered differently" in reason
    assert selection.saved_as == "cpu-entry", "the decision is saved whichever target won"
    rows = {t: (round(s, 2), o) for t, s, o in selection.promotion().candidates}
    assert rows == {
        "cpu": (2.0, "slower than parallel"),
        "parallel": (5.0, "promoted"),
        "cuda": (20.0, "answered differently"),
    }


def test_min_gain_applies_to_every_target_and_skips_are_reasons():
    trials = {"cpu": _timed("cpu", 0.9), "parallel": _timed("parallel", 0.7)}
    selection = targets.Selection(trials, {"cuda": "no CUDA GPU"}, saved_as="cpu-entry")
    promote, reason = selection.verdict(3, 1.5)
    assert not promote and selection.winner is None and selection.saved_as == "cpu-entry"
    assert "no target passed" in reason and "cuda skipped: no CUDA GPU" in reason


def test_the_verdict_waits_for_every_candidate():
    pending = _timed("parallel", 0.1)
    pending.variant_seconds = [0.1]
    selection = targets.Selection({"cpu": _timed("cpu", 0.5), "parallel": pending}, {}, None)
    assert selection.verdict(3, 1.2) is None


# --- real targets ----------------------------------------------------------------------------

KERNEL = """
import math
import numpy as np

def roots(a, b):
    n = a.shape[0]
    out = np.empty(n)
    for i in range(n):
        out[i] = math.sqrt(a[i]) * b[i]
    return out
"""


def test_parallel_competes_with_cpu_on_real_calls(accelerated):
    mod = accelerated(KERNEL, targets=("cpu", "parallel"), rtol=1e-12)
    a, b = np.linspace(0.0, 4.0, 5000), np.linspace(1.0, 2.0, 5000)
    expected = np.sqrt(a) * b
    for _ in range(6):
        np.testing.assert_array_equal(mod.roots(a, b), expected)
    (promotion,) = lookup(mod.roots).promotions
    rows = {target: outcome for target, _, outcome in promotion.candidates}
    assert set(rows) == {"cpu", "parallel"} and promotion.target in rows
    assert rows[promotion.target] == "promoted"
    assert all(speedup > 0 for _, speedup, _ in promotion.candidates), "both were timed"


def test_missing_cuda_is_a_skipped_candidate_never_an_error(accelerated, monkeypatch):
    def no_numba_cuda():
        raise ImportError("No module named 'numba_cuda'")

    monkeypatch.setattr(cuda, "_load", no_numba_cuda)
    cuda.unavailable_reason.cache_clear()
    try:
        mod = accelerated(KERNEL, targets=("cpu", "cuda"))
        a = np.linspace(0.0, 4.0, 100)
        for _ in range(6):
            np.testing.assert_array_equal(mod.roots(a, a), np.sqrt(a) * a)
    finally:
        cuda.unavailable_reason.cache_clear()
    (promotion,) = lookup(mod.roots).promotions
    assert promotion.target == "cpu"
    outcome = dict((t, o) for t, _, o in promotion.candidates)["cuda"]
    assert outcome.startswith("skipped: numba-cuda is not installed")


def test_only_unavailable_targets_listed_rejects_with_the_reasons(accelerated, monkeypatch):
    monkeypatch.setattr(
        cuda, "_load", lambda: type("NoGpu", (), {"is_available": staticmethod(lambda: False)})
    )
    cuda.unavailable_reason.cache_clear()
    try:
        mod = accelerated(KERNEL, targets=("cuda",))
        a = np.ones(10)
        for _ in range(3):
            mod.roots(a, a)
    finally:
        cuda.unavailable_reason.cache_clear()
    trampoline = lookup(mod.roots)
    assert not trampoline.promotions and not trampoline.armed
    (_, reason) = next(iter(trampoline.failures.values()))
    assert "cuda skipped: no CUDA GPU and driver were found" in reason


SIMULATED = """
import math
import numpy as np

def price(s, k, v):
    d = (np.log(s / k) + 0.5 * v * v) / v
    return s * d - k

def roots(a, b):
    n = a.shape[0]
    out = np.zeros(n)
    for i in range(n):
        if a[i] < 0.5:
            continue
        out[i] = math.sqrt(a[i]) * b[i]
    return out

a = np.linspace(0.0, 2.0, 40)
b = np.linspace(1.0, 3.0, 40)
for _ in range(5):
    p = price(a + 1.0, b, 0.3)
    r = roots(a, b)
print(repr(p.sum()), repr(r.sum()), r.dtype, p.shape)
"""


@pytest.mark.slow
def test_cuda_kernels_are_validated_and_promoted_in_the_simulator(tmp_path):
    (tmp_path / "app.py").write_text(textwrap.dedent(SIMULATED))
    config = tmp_path / "python_optimizer.toml"
    config.write_text(
        'modules = ["__main__"]\nmin_calls = 2\nmin_gain = 0.0\nvalidation_calls = 2\n'
        "background_compile = false\n"
        'targets = ["cuda"]\nrtol = 1e-12\n'
    )
    plain = run_python("app.py", cwd=tmp_path)
    report = tmp_path / "report.json"
    result = run_python(
        "-m",
        "autoaccel",
        "--report-json",
        str(report),
        "app.py",
        cwd=tmp_path,
        env={"NUMBA_ENABLE_CUDASIM": "1"},
    )
    assert result.returncode == 0, result.stderr
    functions = {f["name"]: f for f in json.loads(report.read_text())["functions"]}
    reasons = " ".join(str(f["reason"]) for f in functions.values())
    if "cannot be imported" in reasons or "not installed" in reasons:
        pytest.skip(f"the CUDA simulator cannot run here: {reasons}")
    assert result.stdout == plain.stdout
    for name in ("__main__.price", "__main__.roots"):
        entry = functions[name]
        assert entry["state"] == "promoted", entry["reason"]
        (variant,) = entry["variants"]
        assert variant["target"] == "cuda" and variant["candidates"][0]["outcome"] == "promoted"


# --- saved decisions -------------------------------------------------------------------------


def test_a_decision_holds_only_under_the_same_targets_tolerance_and_gpu(monkeypatch):
    config = config_from_table("t", {"targets": ["cpu", "cuda"], "rtol": 1e-12})
    monkeypatch.setattr(cuda, "identity", lambda: "GPU A")
    policies = [
        targets.policy(config),
        targets.policy(dataclasses.replace(config, rtol=1e-9)),
        targets.policy(dataclasses.replace(config, atol=1e-12)),
        targets.policy(dataclasses.replace(config, targets=("cpu", "parallel"))),
    ]
    for gpu in ("GPU B", "no CUDA GPU and driver were found"):
        monkeypatch.setattr(cuda, "identity", lambda gpu=gpu: gpu)
        policies.append(targets.policy(config))
    assert len(set(policies)) == len(policies)
    assert targets.policy(config_from_table("t", {})) == (), "cpu-only decisions stay as they were"


def test_the_policy_names_targets_tolerances_and_the_gpu_only_when_cuda_is_listed(monkeypatch):
    monkeypatch.setattr(cuda, "identity", lambda: "GPU A")
    with_cuda = config_from_table("t", {"targets": ["cpu", "cuda"], "rtol": 1e-12})
    assert targets.policy(with_cuda) == (("cpu", "cuda"), 1e-12, 0.0, "GPU A")
    without = config_from_table("t", {"targets": ["parallel", "cpu"], "atol": 1e-9})
    assert targets.policy(without) == (("parallel", "cpu"), 0.0, 1e-9, None)


def _import_again(accelerated, source, **settings):
    """The module imported afresh under the same name and file, as a later run imports it."""
    sys.modules.pop("aa_saved_targets", None)
    return accelerated(source, name="aa_saved_targets", validation_calls=2, **settings)


def _promoted_once(module):
    a, b = np.linspace(0.0, 4.0, 500), np.linspace(1.0, 2.0, 500)
    for _ in range(4):
        np.testing.assert_array_equal(module.roots(a, b), np.sqrt(a) * b)
    trampoline = lookup(module.roots)
    (promotion,) = trampoline.promotions
    return promotion, trampoline


@pytest.mark.parametrize(
    "change",
    [{"rtol": 1e-9}, {"atol": 1e-300}, {"targets": ("cpu", "parallel")}],
    ids=["rtol", "atol", "targets"],
)
def test_changing_targets_or_tolerance_trials_the_signature_again(accelerated, change):
    settings = {"targets": ("parallel",), "rtol": 1e-12}
    first, _ = _promoted_once(_import_again(accelerated, KERNEL, **settings))
    again, _ = _promoted_once(_import_again(accelerated, KERNEL, **settings))
    assert not first.saved_decision and again.saved_decision and again.target == "parallel"
    changed, _ = _promoted_once(_import_again(accelerated, KERNEL, **{**settings, **change}))
    assert not changed.saved_decision, "decided under another policy: trialled again"


def test_a_saved_winner_that_cannot_be_built_any_more_is_trialled_again(accelerated, monkeypatch):
    settings = {"targets": ("parallel",), "rtol": 1e-12}
    _promoted_once(_import_again(accelerated, KERNEL, **settings))

    def refuse(*args, **kwargs):
        raise Rejection("Numba cannot compile it: (refused by the test)")

    monkeypatch.setattr(cpu, "compile_derived", refuse)
    module = _import_again(accelerated, KERNEL, **settings)
    a = np.linspace(0.0, 4.0, 500)
    for _ in range(4):
        np.testing.assert_array_equal(module.roots(a, a), np.sqrt(a) * a)
    trampoline = lookup(module.roots)
    assert not trampoline.promotions
    (_, reason) = next(iter(trampoline.failures.values()))
    assert "parallel skipped: Numba cannot compile it: (refused by the test)" in reason
    assert "saved decision" not in reason


class _Recorder:
    """Stands in for the cpu entry dispatcher and records the dtypes it was called with."""

    def __init__(self, dispatcher):
        self.dispatcher = dispatcher
        self.seen = []

    def __call__(self, *args):
        self.seen.append(args[0].dtype)
        return self.dispatcher(*args)

    def __getattr__(self, name):
        return getattr(self.dispatcher, name)


def test_a_losing_cpu_candidate_is_never_reached_by_the_fast_path(accelerated, monkeypatch):
    # cpu wins the int64 signature, then parallel wins the float64 one: the cpu entry
    # dispatcher now holds float64 code that lost (unvalidated). Calls with float64 arrays
    # have the same Python types as the cpu variant's int64 calls, and Numba's C dispatch
    # would run that code if the fast path sent them to the cpu dispatcher.
    def speedup(trial):
        return 10.0 if (trial.target == "parallel") == ("float64" in trial.signature) else 2.0

    monkeypatch.setattr(Trial, "speedup", speedup)
    module = accelerated(KERNEL, targets=("cpu", "parallel"), rtol=1e-12, validation_calls=2)
    ints, floats = np.arange(100), np.linspace(0.0, 4.0, 100)
    for values in (ints, floats):
        for _ in range(3):
            np.testing.assert_array_equal(module.roots(values, values), np.sqrt(values) * values)
    trampoline = lookup(module.roots)
    targets = {p.signature: p.target for p in trampoline.promotions}
    assert targets == {
        "(array(int64, 1d, C), array(int64, 1d, C))": "cpu",
        "(array(float64, 1d, C), array(float64, 1d, C))": "parallel",
    }
    cpu = trampoline.compiled
    recorder = cpu.entry = _Recorder(cpu.entry)
    for _ in range(3):
        for values in (floats, ints):
            np.testing.assert_array_equal(module.roots(values, values), np.sqrt(values) * values)
    assert recorder.seen == [np.dtype(np.int64)] * 3, "float64 calls went to the parallel variant"


SAVED_APP = """
import math
import sys
import numpy as np

def roots(a, b):
    n = a.shape[0]
    out = np.empty(n)
    for i in range(n):
        out[i] = math.sqrt(a[i]) * b[i]
    return out

def total(a):
    s = 0.0
    for i in range(a.shape[0]):
        s += math.sqrt(a[i])
    return s

a = np.linspace(0.0, 4.0, 3000)
b = np.linspace(1.0, 2.0, 3000)
roots(a, b)
print("first call done", file=sys.stderr, flush=True)
for _ in range(6):
    r, t = roots(a, b), total(a)
print(repr(r.sum()), repr(t))
"""

SAVED_CONFIG = """
modules = ["__main__"]
min_calls = 2
min_gain = 0.0
validation_calls = 2
rtol = 1e-12
background_compile = false
"""


def _run_saved(tmp_path, targets: str, env: dict) -> tuple[str, str, dict]:
    """stdout, stderr (-v) and the report's functions by name of one run of the app."""
    (tmp_path / "app.py").write_text(SAVED_APP)
    config = tmp_path / "python_optimizer.toml"
    config.write_text(SAVED_CONFIG + f"targets = {targets}\n")
    report = tmp_path / "report.json"
    result = run_autoaccel(config, report, "-v", "app.py", cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    functions = json.loads(report.read_text())["functions"]
    return result.stdout, result.stderr, {f["name"].split(".")[-1]: f for f in functions}


@pytest.mark.slow
def test_a_parallel_winner_is_saved_and_promoted_from_the_first_call_of_the_next_run(tmp_path):
    # cuda is listed but disabled, so parallel wins on any machine and cuda is a skip.
    env = {"NUMBA_DISABLE_CUDA": "1"}
    out1, err1, first = _run_saved(tmp_path, '["parallel", "cuda"]', env)
    out2, err2, second = _run_saved(tmp_path, '["parallel", "cuda"]', env)
    assert out1 == out2 == run_python("app.py", cwd=tmp_path).stdout
    assert "roots: compiled" in err1 and "total: compiled" in err1
    assert ": compiled" not in err2 and "trialled again" not in err2, "no trial"
    assert err2.index("roots(array(float64, 1d, C), array(float64, 1d, C)): promoted") < (
        err2.index("first call done")
    )
    for name in ("roots", "total"):
        (before,) = first[name]["variants"]
        (after,) = second[name]["variants"]
        assert before["target"] == after["target"] == "parallel"
        assert not before["saved_decision"] and after["saved_decision"] and after["from_cache"]
        assert after["candidates"] == before["candidates"], "the gains measured when decided"
        assert after["candidates"][1]["outcome"].startswith("skipped: no CUDA GPU")
    # the log prints the saved gain to 2 decimals, the report keeps 3: compare the numbers
    logged = re.search(r"total\(.*target parallel, measured speed-up ([\d.]+)x", err2)
    assert logged is not None, err2
    assert float(logged[1]) == pytest.approx(second["total"]["variants"][0]["speedup"], abs=0.01)
    assert "(saved decision)" in err2


@pytest.mark.slow
def test_a_cuda_winner_is_decided_afresh_without_a_gpu_and_the_rejection_is_saved(tmp_path):
    out1, _, first = _run_saved(tmp_path, '["cuda"]', {"NUMBA_ENABLE_CUDASIM": "1"})
    reasons = " ".join(str(f["reason"]) for f in first.values())
    if "cannot be imported" in reasons or "not installed" in reasons:
        pytest.skip(f"the CUDA simulator cannot run here: {reasons}")
    assert first["roots"]["variants"][0]["target"] == "cuda"
    no_gpu = {"NUMBA_DISABLE_CUDA": "1"}
    out2, err2, second = _run_saved(tmp_path, '["cuda"]', no_gpu)
    out3, err3, third = _run_saved(tmp_path, '["cuda"]', no_gpu)
    assert out1 == out2 == out3 == run_python("app.py", cwd=tmp_path).stdout
    assert "'CUDA simulator'), now" in err2 and "trialled again" in err2
    assert second["roots"]["state"] == third["roots"]["state"] == "rejected"
    assert "cuda skipped: no CUDA GPU and driver were found" in second["roots"]["reason"]
    assert third["roots"]["reason"].endswith("(saved decision)"), "all candidates failed: saved"
    assert ": compiled" not in err3
