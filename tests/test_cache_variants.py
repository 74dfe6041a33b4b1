"""autoaccel.cache.variants: one directory per compiled variant, with the compiler's outcome."""

from __future__ import annotations

import pickle

from autoaccel.backends.typed_checks import Inspection
from autoaccel.cache.directory import CacheDir
from autoaccel.cache.variants import VariantStore

DIGEST = "0f" * 32


def test_an_outcome_is_read_back(tmp_path):
    store = VariantStore(CacheDir(tmp_path), DIGEST)
    assert store.outcome() is None
    inspection = Inspection(written={0}, ambiguous_constants=[0])
    store.save_outcome(inspection)
    again = VariantStore(CacheDir(tmp_path), DIGEST).outcome()
    assert again == inspection
    assert store.path == tmp_path / "variants" / "0f" / DIGEST


def test_a_saved_refusal_is_an_outcome_too(tmp_path):
    store = VariantStore(CacheDir(tmp_path), DIGEST)
    store.save_outcome(Inspection(refusal="calls .sum() on a float array [16]"))
    assert store.outcome().refusal == "calls .sum() on a float array [16]"


def test_an_unreadable_entry_is_a_miss_and_is_dropped_whole(tmp_path):
    store = VariantStore(CacheDir(tmp_path), DIGEST)
    store.save_outcome(Inspection())
    (store.path / "variant.nbi").write_bytes(b"Numba's index")
    for damage in (b"\x80junk", pickle.dumps((2, Inspection())), pickle.dumps((1, "other"))):
        (store.path / "outcome.pickle").write_bytes(damage)
        assert store.outcome() is None
        assert not store.path.exists()
        store.save_outcome(Inspection())


def test_an_outcome_that_cannot_be_pickled_is_not_saved(tmp_path):
    store = VariantStore(CacheDir(tmp_path), DIGEST)
    store.save_outcome(Inspection(ambiguous_constants=[lambda: 0]))
    assert store.outcome() is None


def test_another_targets_entry_is_derived_from_this_one(tmp_path):
    store = VariantStore(CacheDir(tmp_path), DIGEST)
    parallel = store.derived("parallel")
    assert parallel.digest != DIGEST and parallel.digest != store.derived("cuda").digest
    assert VariantStore(CacheDir(tmp_path), DIGEST).derived("parallel").digest == parallel.digest
