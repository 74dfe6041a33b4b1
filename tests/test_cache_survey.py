"""autoaccel.cache.survey: what the cache holds, as ``cache info`` and get_cache_stats() show."""

from __future__ import annotations

import os

import pytest

from autoaccel.cache.decisions import Decision, DecisionKey, DecisionStore, store_name
from autoaccel.cache.directory import CacheDir
from autoaccel.cache.survey import cache_info, survey
from autoaccel.config import Config


def test_a_missing_directory_is_reported_and_not_created(tmp_path):
    info = cache_info(Config(cache_dir=str(tmp_path / "none")))
    assert info["status"] == "missing" and info["compiled_variants"] == 0
    assert not (tmp_path / "none").exists()


def test_a_directory_in_use_is_counted(tmp_path):
    cache = CacheDir(tmp_path)
    cache.write("variants", f"ab/{'ab' * 32}/outcome.pickle", b"1")
    cache.write("variants", f"cd/{'cd' * 32}/outcome.pickle", b"2")
    cache.write("code", "kern.1234.cpython-311-autoaccel.f00", b"code")
    decisions = DecisionStore(cache, store_name("kern", str(tmp_path / "kern.py")))
    decisions.put(DecisionKey("f", "(float)", "(float64)"), Decision("d", (), True, "ok"))
    decisions.put(DecisionKey("g", "(float)", "(float64)"), Decision("d", (), False, "no"))
    info, opened, saved = survey(Config(cache_dir=str(tmp_path)))
    assert opened is not None and opened.path == tmp_path
    assert info["status"] == "in use" and info["reason"] is None
    assert info["compiled_variants"] == 2 and info["rewritten_modules"] == 1
    name = store_name("kern", str(tmp_path / "kern.py"))
    assert info["decisions"] == {name: {"module": "kern", "promoted": 1, "rejected": 1}}
    assert info["bytes"] == opened.size() > 0
    assert set(saved[name]) == {DecisionKey("f", "(float)", "(float64)"),
                                DecisionKey("g", "(float)", "(float64)")}  # fmt: skip


def test_a_cache_turned_off_is_not_opened(tmp_path):
    info, opened, _ = survey(Config(cache=False, cache_dir=str(tmp_path)))
    assert info["status"] == "off" and opened is None


@pytest.mark.skipif(not hasattr(os, "getuid"), reason="POSIX permissions")
def test_an_unsafe_directory_says_why_and_is_not_read(tmp_path):
    os.chmod(tmp_path, 0o777)
    info, opened, saved = survey(Config(cache_dir=str(tmp_path)))
    assert info["status"] == "unsafe" and opened is None and saved == {}
    assert info["reason"] == "can be written by other users (mode 0o777)"
