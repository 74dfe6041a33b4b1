"""autoaccel.runtime.saved: where one function's decisions live, reading and applying them."""

from __future__ import annotations

import dataclasses
import importlib
import json
import sys

import pytest
from conftest import cache_at, run_python, write

from autoaccel import Config, install
from autoaccel.cache.decisions import Decision, read_all
from autoaccel.errors import Rejection
from autoaccel.runtime.registry import lookup

KERNEL = """
def f(x):
    s = 0.0
    for i in range(10):
        s += x * {factor}
    return s
"""

FORCED = {"min_calls": 1, "min_gain": 0.0, "validation_calls": 2, "compile_budget": 0.0}


def _import_from(directory, name: str = "kern"):
    """``import name`` from ``directory``, as a program started there would."""
    sys.modules.pop(name, None)
    sys.path.insert(0, str(directory))
    try:
        return importlib.import_module(name)
    finally:
        sys.path.remove(str(directory))


def test_same_named_modules_in_two_directories_keep_separate_decisions(
    tmp_path, private_cache, isolated_imports
):
    write(tmp_path / "a" / "kern.py", KERNEL.format(factor="2.0"))
    write(tmp_path / "b" / "kern.py", KERNEL.format(factor="3.0"))
    with install(Config(modules=("kern",), background_compile=False, **FORCED)):
        for directory, factor in (("a", 2.0), ("b", 3.0)):
            module = _import_from(tmp_path / directory)
            for _ in range(4):
                assert module.f(1.5) == sum(1.5 * factor for _ in range(10))
            assert lookup(module.f).promotions
    saved = read_all(cache_at(private_cache))
    assert len(saved) == 2, sorted(saved)  # one file per module and source path
    digests = set()
    for decisions in saved.values():
        ((key, decision),) = decisions.items()
        assert key.qualname == "f" and decision.promoted
        digests.add(decision.digest)
    assert len(digests) == 2  # each file holds its own module's variant


@pytest.fixture
def kern(accelerated):
    module = accelerated(KERNEL.format(factor="2.0"), **FORCED)
    for _ in range(4):
        module.f(1.5)
    return lookup(module.f)


def test_a_promotion_is_saved_where_the_next_run_looks(kern):
    saved = kern.promoter.saved
    store = saved.store()
    assert store is not None and saved.store() is store  # one per module, process-wide
    ((key, decision),) = store.decisions().items()
    assert key.qualname == "f" and key.types == "(float)" and key.signature == "(float64)"
    assert decision.promoted and decision.policy == saved.policy() == (0.0, 2)
    assert saved.promoted_before((float,)) and not saved.promoted_before((int,))
    saved_as, variant_store = saved.where((float,), "(float64)", kern.compiled)
    assert saved_as.key == key and saved_as.digest == decision.digest
    assert variant_store.digest == decision.digest
    assert saved.decision(saved_as) == decision


def test_a_decision_made_under_another_policy_is_not_applied(kern):
    saved = kern.promoter.saved
    saved_as, _ = saved.where((float,), "(float64)", kern.compiled)
    kern.config = dataclasses.replace(kern.config, validation_calls=5)
    assert saved.decision(saved_as) is None


def test_a_saved_rejection_is_raised_again(kern):
    saved = kern.promoter.saved
    saved_as, _ = saved.where((float,), "(float64)", kern.compiled)
    rejected = Decision(saved_as.digest, saved.policy(), False, "measured speed-up 0.50x")
    with pytest.raises(Rejection, match=r"^measured speed-up 0.50x \(saved decision\)$"):
        saved.apply(None, saved_as, rejected, (0.0, False))


def test_nothing_is_saved_or_read_with_the_cache_off(accelerated, private_cache):
    module = accelerated(KERNEL.format(factor="2.0"), cache=False, **FORCED)
    for _ in range(4):
        module.f(1.5)
    saved = lookup(module.f).promoter.saved
    assert saved.store() is None
    assert saved.where((float,), "(float64)", lookup(module.f).compiled) == (None, None)
    assert read_all(cache_at(private_cache)) == {}


UNTYPABLE = """
import sys
import numpy as np

def attribute(a):
    return a.no_such_attribute

for _ in range(8):
    try:
        attribute(np.zeros(3))
    except AttributeError as exc:
        print(exc)
print("numba imported:", "numba" in sys.modules, file=sys.stderr)
"""


def _run_twice(tmp_path, source: str, config: str, kind: str) -> list[tuple[str, str, dict]]:
    """Run ``source`` twice under autoaccel on one cache: ``(stdout, stderr, report entry)``
    per run, for its one unit of ``kind`` (``"functions"`` or ``"loops"``)."""
    write(tmp_path / "app.py", source)
    write(tmp_path / "python_optimizer.toml", config)
    runs = []
    for _ in range(2):
        result = run_python("-m", "autoaccel", "--report-json", "r.json", "app.py", cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        (unit,) = json.loads((tmp_path / "r.json").read_text())[kind]
        runs.append((result.stdout, result.stderr, unit))
    return runs


@pytest.mark.slow
def test_a_type_inference_failure_is_remembered_by_source(tmp_path):
    config = "min_calls = 4\nmin_gain = 0.0\nbackground_compile = false\n"
    runs = _run_twice(tmp_path, UNTYPABLE, config, "functions")
    (out1, err1, first), (out2, err2, second) = runs
    assert out1 == out2 == run_python("app.py", cwd=tmp_path).stdout
    assert "Numba cannot compile it: Unknown attribute 'no_such_attribute'" in first["reason"]
    assert "numba imported: True" in err1
    # The second run rejects it before compiling, says so, and never imports Numba.
    assert second["reason"] == first["reason"] + " (saved decision)"
    assert second["compile_seconds"] == 0.0
    assert "numba imported: False" in err2


def test_a_rejection_kept_by_source_is_found_without_a_variant(accelerated):
    module = accelerated(KERNEL.format(factor="2.0"), **FORCED)
    saved = lookup(module.f).promoter.saved
    saved_as = saved.by_source((float,), (1.5,))
    assert saved_as.key.signature == "source (float64)"
    assert saved.refused_before(saved_as) is None
    saved.save(saved_as, False, "measured speed-up 0.50x")
    assert saved.refused_before(saved_as) == "measured speed-up 0.50x (saved decision)"
    # Other argument types, or another policy, are decided afresh.
    assert saved.refused_before(saved.by_source((int,), (1,))) is None
    lookup(module.f).config = dataclasses.replace(lookup(module.f).config, validation_calls=9)
    assert saved.refused_before(saved_as) is None


def test_a_changed_helper_changes_the_source_key(accelerated):
    source = "def helper(x):\n    return x * {k}\n\ndef f(x):\n    return helper(x) + 1.0\n"
    one = accelerated(source.format(k="2.0"), name="aa_src_one", **FORCED)
    two = accelerated(source.format(k="3.0"), name="aa_src_two", **FORCED)
    digests = {lookup(m.f).promoter.saved.by_source((float,), (1.0,)).digest for m in (one, two)}
    assert len(digests) == 2


LOOP = """
import sys

def total(values, n):
    s = 0.0
    for i in range(n):
        s += values[i % 3] * 0.5
    return s

print(total([1.0, {second}, 3.5], 1000000))
print("numba imported:", "numba" in sys.modules, file=sys.stderr)
print("numpy imported:", "numpy" in sys.modules, file=sys.stderr)
"""


@pytest.mark.slow
@pytest.mark.parametrize(
    "second, min_gain, reason",
    [
        ("2", 0.0, ("takes a list holding float, int together",)),  # when compiled
        # by its trial (a slow machine may end the loop before the trial's last window)
        ("2.0", 1000.0, ("is below min_gain 1000", "ended before its validation windows")),
    ],
)
def test_a_rejected_loop_is_rejected_by_source_in_later_runs(tmp_path, second, min_gain, reason):
    config = f"loop_min_seconds = 0.001\nmin_gain = {min_gain}\nbackground_compile = false\n"
    runs = _run_twice(tmp_path, LOOP.format(second=second), config, "loops")
    (out1, err1, first), (out2, err2, second_run) = runs
    assert out1 == out2 == run_python("app.py", cwd=tmp_path).stdout
    assert any(part in first["reason"] for part in reason), first
    assert "numba imported: True" in err1
    # The second run rejects it at its first look, before converting anything: no Numba,
    # and no NumPy (autoaccel/lazy_numpy.py).
    assert second_run["reason"] == first["reason"] + " (saved decision)"
    assert "numba imported: False" in err2 and "numpy imported: False" in err2


MUTUAL = """
def even(n):
    return True if n == 0 else odd(n - 1)

def odd(n):
    return False if n == 0 else even(n - {step})
"""


def test_recursive_code_keeps_its_rejections_by_source(accelerated):
    # Helpers calling each other compile (divergences row 30), so a rejection of theirs is
    # kept by source too: a compile given up after compile_budget is not tried every run.
    one = accelerated(MUTUAL.format(step=1), name="aa_mutual_one", **FORCED)
    saved = lookup(one.even).promoter.saved
    saved_as = saved.by_source((int,), (3,))
    assert saved_as is not None
    saved.save(saved_as, False, "its compile took over 5 s and was given up (compile_budget)")
    assert saved.refused_before(saved_as).endswith("(compile_budget) (saved decision)")
    # The other function's code is part of the key.
    two = accelerated(MUTUAL.format(step=2), name="aa_mutual_two", **FORCED)
    assert lookup(two.even).promoter.saved.by_source((int,), (3,)).digest != saved_as.digest
