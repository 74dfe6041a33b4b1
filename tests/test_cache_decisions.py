"""autoaccel.cache.decisions: one file of saved decisions per module and source path."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from conftest import cache_at

from autoaccel.cache import plain
from autoaccel.cache.decisions import (
    Decision,
    DecisionKey,
    DecisionStore,
    read_all,
    store_name,
)

KEY = DecisionKey("kernel", "(ndarray)", "(array(float64, 1d, C))")
OTHER = DecisionKey("other", "(float)", "(float64)")
PROMOTED = Decision("d1", (1.2, 3), True, "measured speed-up 3.10x", 3.1, 0.05, float, np.float64)
REJECTED = Decision("d2", (1.2, 3), False, "measured speed-up 0.90x is below min_gain 1.2")


@pytest.fixture
def cache(tmp_path):
    return cache_at(tmp_path)


def test_a_decision_is_read_back_by_a_later_store(cache):
    DecisionStore(cache, "m.json").put(KEY, PROMOTED)
    later = DecisionStore(cache, "m.json")
    assert later.get(KEY) == PROMOTED
    assert later.get(OTHER) is None
    assert later.promoted_types("kernel") == {"(ndarray)"}
    assert later.promoted_types("other") == set()


def test_writers_merge_with_what_is_on_disk(cache):
    first, second = DecisionStore(cache, "m.json"), DecisionStore(cache, "m.json")
    first.decisions(), second.decisions()  # both read the empty file first
    first.put(KEY, PROMOTED)
    second.put(OTHER, REJECTED)  # another process: it must not drop the first's record
    assert DecisionStore(cache, "m.json").decisions() == {KEY: PROMOTED, OTHER: REJECTED}
    assert second.decisions() == {KEY: PROMOTED, OTHER: REJECTED}


def test_a_record_that_does_not_check_is_ignored_and_the_others_kept(cache):
    DecisionStore(cache, "m.json").put(KEY, PROMOTED)
    data = cache.read("decisions", "m.json")
    damaged = data.replace(b'"decisions":[', b'"decisions":[[["k","t","s"],"not one"],', 1)
    assert damaged != data
    cache.write("decisions", "m.json", damaged)
    assert DecisionStore(cache, "m.json").decisions() == {KEY: PROMOTED}


@pytest.mark.parametrize(
    "damage",
    [
        b"\x80junk",
        pickle.dumps((1, {})),  # the old format, authentic
        b'{"format": 99, "decisions": []}',  # another format
        b'{"format": 2, "decisions": "not a list"}',
        # The previous format, whose adapters could come from a returned constant that shares
        # its place with computed values (it gave later results the constant's type).
        plain.dumps({"format": 2, "decisions": [[list(KEY), PROMOTED.as_plain()]]}),
    ],
)
def test_a_damaged_or_foreign_file_is_a_miss_and_is_removed(cache, damage):
    cache.write("decisions", "m.json", damage)
    assert DecisionStore(cache, "m.json").decisions() == {}
    assert cache.read("decisions", "m.json") is None
    store = DecisionStore(cache, "m.json")
    store.put(KEY, PROMOTED)  # and it is written afresh
    assert DecisionStore(cache, "m.json").get(KEY) == PROMOTED


def test_a_decision_that_cannot_be_pickled_is_kept_for_this_process_only(cache):
    store = DecisionStore(cache, "m.json")
    unpicklable = PROMOTED._replace(adapter=lambda x: x)
    store.put(KEY, unpicklable)
    assert cache.read("decisions", "m.json") is None
    assert DecisionStore(cache, "m.json").get(KEY) is None


def test_modules_of_one_name_in_different_places_get_different_files():
    here, there = store_name("kern", "/a/kern.py"), store_name("kern", "/b/kern.py")
    assert here != there
    assert here.startswith("kern-") and here.endswith(".json")
    assert store_name("kern", "/a/kern.py") == here


def test_read_all_lists_every_module_file(cache):
    DecisionStore(cache, store_name("a", "/a.py")).put(KEY, PROMOTED)
    DecisionStore(cache, store_name("b", "/b.py")).put(OTHER, REJECTED)
    assert read_all(cache) == {
        store_name("a", "/a.py"): {KEY: PROMOTED},
        store_name("b", "/b.py"): {OTHER: REJECTED},
    }


def test_a_loops_site_types_are_read_back(cache):
    # A loop's adapter: the Python type each assignment site leaves (SiteTypes.plain).
    loop = PROMOTED._replace(adapter=(("s", 2, float), ("x", 5, np.float64)))
    DecisionStore(cache, "m.json").put(KEY, loop)
    assert DecisionStore(cache, "m.json").get(KEY) == loop
