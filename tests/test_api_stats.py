"""autoaccel.api.stats: one function's decisions and variants, and the caches' statistics."""

from __future__ import annotations

import pytest
from test_api_optimize import KERNELS, A  # noqa: F401 (KERNELS: the ``decorated`` default)

import autoaccel


def test_specialization_stats_of_one_function(decorated):
    mod = decorated()
    for _ in range(4):
        mod.total(A)
    by_object = autoaccel.get_specialization_stats(mod.total)
    by_name = autoaccel.get_specialization_stats(f"{mod.__name__}.total")
    assert by_object["name"] == by_name["name"] == f"{mod.__name__}.total"
    (variant,) = by_name["variants"]
    assert variant["held"] and variant["code_bytes"] >= 0 and variant["saved_seconds"] >= 0
    mod.total(A)
    assert (
        autoaccel.get_specialization_stats(mod.total)["variants"][0]["uses"] == variant["uses"] + 1
    )
    assert by_name["evictions"] == [] and by_name["specializations"] == []


def test_unknown_functions_raise_key_error_with_a_hint(decorated):
    mod = decorated()
    with pytest.raises(KeyError, match=f"did you mean '{mod.__name__}.total'"):
        autoaccel.get_specialization_stats(f"{mod.__name__}.totl")
    with pytest.raises(KeyError, match=r"decorate it with @autoaccel\.optimize"):
        autoaccel.get_specialization_stats(mod.undecorated)


def test_clearing_the_cache_drops_variants_and_keeps_answers(decorated):
    mod = decorated()
    expected = mod.total.__wrapped__(A)
    for _ in range(4):
        mod.total(A)
    assert autoaccel.get_cache_stats()["memory"]["variants"] == 1
    assert autoaccel.clear_specialization_cache() == 1
    memory = autoaccel.get_cache_stats()["memory"]
    assert (memory["variants"], memory["memory_bytes"], memory["evictions"]) == (0, 0, 1)
    assert [mod.total(A) for _ in range(4)] == [expected] * 4
    stats = autoaccel.get_specialization_stats(mod.total)
    assert stats["variants"] == [] and "cache was cleared" in stats["evictions"][0]["reason"]
    assert autoaccel.clear_specialization_cache() == 0


def test_cache_stats_report_the_disk_cache(decorated, private_cache, tmp_path, monkeypatch):
    mod = decorated()
    for _ in range(4):
        mod.total(A)
    disk = autoaccel.get_cache_stats()["disk"]
    assert disk["path"] == str(private_cache) and disk["status"] == "in use"
    assert disk["bytes"] > 0 and disk["compiled_variants"] == 1
    assert [d["promoted"] for d in disk["decisions"].values()] == [1]
    (tmp_path / "python_optimizer.toml").write_text("cache = false\n")
    assert autoaccel.get_cache_stats()["disk"]["status"] == "off"
    monkeypatch.delenv("AUTOACCEL_CACHE_DIR")  # it would win over the file's cache_dir
    (tmp_path / "python_optimizer.toml").write_text(f'cache_dir = "{tmp_path / "none"}"\n')
    assert autoaccel.get_cache_stats()["disk"]["status"] == "missing"
