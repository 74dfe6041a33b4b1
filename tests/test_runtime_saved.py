"""autoaccel.runtime.saved: where one function's decisions live, reading and applying them."""

from __future__ import annotations

import dataclasses
import importlib
import sys

import pytest
from conftest import cache_at, write

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

FORCED = {"min_calls": 1, "min_gain": 0.0, "validation_calls": 2}


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
    with install(Config(modules=("kern",), **FORCED)):
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
