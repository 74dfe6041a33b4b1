"""autoaccel.cache.variants: one directory per compiled variant, with the compiler's outcome."""

from __future__ import annotations

import pickle

import pytest
from conftest import cache_at, write_entry

from autoaccel.backends.typed_checks import Inspection
from autoaccel.cache import plain
from autoaccel.cache.variants import VariantStore

DIGEST = "0f" * 32


def test_an_outcome_is_read_back(tmp_path):
    store = VariantStore(cache_at(tmp_path), DIGEST)
    assert store.outcome() is None
    inspection = Inspection(written={0}, ambiguous_constants=[0])
    store.save_outcome(inspection.as_plain())
    again = VariantStore(cache_at(tmp_path), DIGEST).outcome()
    assert Inspection.from_plain(again) == inspection
    assert store.path == tmp_path / "variants" / "0f" / DIGEST


def test_a_saved_refusal_is_an_outcome_too(tmp_path):
    store = VariantStore(cache_at(tmp_path), DIGEST)
    store.save_outcome(Inspection(refusal="calls .sum() on a float array [16]").as_plain())
    assert store.outcome()["refusal"] == "calls .sum() on a float array [16]"


def test_an_authentic_entry_of_another_format_is_a_miss_and_is_dropped_whole(tmp_path):
    store = VariantStore(cache_at(tmp_path), DIGEST)
    store.save_outcome(Inspection().as_plain())
    store.write("variant.nbi", b"Numba's index")
    older = (pickle.dumps((1, Inspection())), plain.dumps({"format": 1, "outcome": {}}))
    for document in (*older, plain.dumps([1, 2])):
        write_entry(tmp_path, f"variants/0f/{DIGEST}/outcome.json", document)
        assert store.outcome() is None
        assert not store.path.exists()
        store.save_outcome(Inspection().as_plain())


def test_a_constant_the_cache_cannot_store_is_refused_before_writing():
    with pytest.raises(TypeError):
        Inspection(ambiguous_constants=[lambda: 0]).as_plain()


def test_another_targets_entry_is_derived_from_this_one(tmp_path):
    store = VariantStore(cache_at(tmp_path), DIGEST)
    parallel = store.derived("parallel")
    assert parallel.digest != DIGEST and parallel.digest != store.derived("cuda").digest
    assert VariantStore(cache_at(tmp_path), DIGEST).derived("parallel").digest == parallel.digest
