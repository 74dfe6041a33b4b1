"""autoaccel.api.specialization: configure_specialization() and its keywords."""

from __future__ import annotations

import pytest

import autoaccel
from autoaccel import ConfigError
from autoaccel.runtime.table import variant_table


def test_configure_specialization_maps_the_seed_names(private_cache, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    options = autoaccel.configure_specialization(
        min_calls_for_specialization=3,
        min_performance_gain=1.5,
        enable_adaptive_learning=False,
        max_cache_size=2,
        max_memory_mb=64,
    )
    assert variant_table().options is options
    assert (options.min_calls, options.min_gain, options.policy) == (3, 1.5, "lru")
    assert (options.max_variants, options.max_memory_mb) == (2, 64.0)
    memory = autoaccel.get_cache_stats()["memory"]
    assert (memory["policy"], memory["max_variants"]) == ("lru", 2)
    assert autoaccel.configure_specialization(enable_adaptive_learning=True).policy == "adaptive"
    assert autoaccel.configure_specialization().max_variants == 2, "None keeps what is set"


@pytest.mark.parametrize(
    ("keywords", "message"),
    [
        ({"max_cache_size": 0}, "keyword 'max_cache_size' must be >= 1"),
        ({"min_performance_gain": "x"}, "keyword 'min_performance_gain' must be float"),
        ({"policy": "mru"}, "keyword 'policy' must be one of"),
        ({"enable_adaptive_learning": True, "policy": "lru"}, "contradicts policy='lru'"),
    ],
)
def test_bad_specialization_settings_name_the_keyword(keywords, message, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match=message):
        autoaccel.configure_specialization(**keywords)


def test_the_configuration_file_is_the_starting_point(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "python_optimizer.toml").write_text("[specialization]\nmax_variants = 5\n")
    options = autoaccel.configure_specialization(max_memory_mb=32)
    assert (options.max_variants, options.max_memory_mb) == (5, 32.0)
