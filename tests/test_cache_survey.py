"""autoaccel.cache.survey: what the cache holds, as ``cache info`` and get_cache_stats() show."""

from __future__ import annotations

import os

import pytest

from autoaccel.cache import private
from autoaccel.cache.decisions import Decision, DecisionKey, DecisionStore, store_name
from autoaccel.cache.directory import open_checked
from autoaccel.cache.survey import cache_info, surveyed
from autoaccel.config import Config

POSIX = pytest.mark.skipif(not private.supported(), reason="POSIX descriptors")


def test_a_missing_directory_is_reported_and_not_created(tmp_path):
    info = cache_info(Config(cache_dir=str(tmp_path / "none")))
    assert info["status"] == "missing" and info["compiled_variants"] == 0
    assert not (tmp_path / "none").exists()


@POSIX
def test_a_directory_in_use_is_counted(tmp_path):
    with open_checked(tmp_path, create=True) as cache:
        cache.write("variants", f"ab/{'ab' * 32}/outcome.json", b"1")
        cache.write("variants", f"cd/{'cd' * 32}/outcome.json", b"2")
        cache.write("code", "kern.1234.cpython-311-autoaccel.f00", b"code")
        decisions = DecisionStore(cache, store_name("kern", str(tmp_path / "kern.py")))
        decisions.put(DecisionKey("f", "(float)", "(float64)"), Decision("d", (), True, "ok"))
        decisions.put(DecisionKey("g", "(float)", "(float64)"), Decision("d", (), False, "no"))
    with surveyed(Config(cache_dir=str(tmp_path))) as (info, opened, saved):
        assert opened is not None and opened.path == tmp_path
        assert info["bytes"] == opened.size() > 0
    assert info["status"] == "in use" and info["reason"] is None
    assert info["compiled_variants"] == 2 and info["rewritten_modules"] == 1
    name = store_name("kern", str(tmp_path / "kern.py"))
    assert info["decisions"] == {name: {"module": "kern", "promoted": 1, "rejected": 1}}
    assert set(saved[name]) == {DecisionKey("f", "(float)", "(float64)"),
                                DecisionKey("g", "(float)", "(float64)")}  # fmt: skip


def test_a_cache_turned_off_is_not_opened(tmp_path):
    with surveyed(Config(cache=False, cache_dir=str(tmp_path))) as (info, opened, _):
        assert info["status"] == "off" and opened is None


@POSIX
def test_a_directory_that_cannot_be_checked_says_why_and_is_not_read(tmp_path):
    (tmp_path / "file").write_text("a file where the cache directory should be")
    with surveyed(Config(cache_dir=str(tmp_path / "file"))) as (info, opened, saved):
        assert info["status"] == "unsafe" and opened is None and saved == {}
    assert info["reason"]
    assert os.path.isfile(tmp_path / "file")
