"""autoaccel.cache.directory: where the cache lives, whether it is safe, atomic entries."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from autoaccel.cache import private
from autoaccel.cache.authentication import TAG_BYTES
from autoaccel.cache.directory import (
    SECTIONS,
    cache_path,
    default_cache_dir,
    open_cache,
    open_checked,
)
from autoaccel.config import Config
from autoaccel.errors import CacheWarning

POSIX = pytest.mark.skipif(not private.supported(), reason="POSIX descriptors")


def test_the_default_directory_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("AUTOACCEL_CACHE_DIR", str(tmp_path / "explicit"))
    assert default_cache_dir() == tmp_path / "explicit"
    monkeypatch.delenv("AUTOACCEL_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_dir() == tmp_path / "xdg" / "autoaccel"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert default_cache_dir() == Path(os.path.expanduser("~"), ".cache", "autoaccel")


def test_a_configured_directory_is_made_absolute(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    assert cache_path(Config(cache_dir="c")) == tmp_path / "c"


@POSIX
def test_entries_are_written_atomically_and_listed_without_temporary_files(tmp_path):
    cache = open_checked(tmp_path, create=True)
    assert cache.write("variants", "ab/entry", b"data") is True
    assert cache.read("variants", "ab/entry") == b"data"
    assert cache.read("variants", "missing") is None
    (tmp_path / "code").mkdir()
    (tmp_path / "code" / ".m.pyc.123.tmp").write_bytes(b"half")
    cache.write("code", "m.pyc", b"x" * 10)
    assert cache.entries("code") == ["m.pyc"]
    assert cache.entries("decisions") == []
    cache.remove("code", "m.pyc")
    cache.remove("code", "m.pyc")  # gone already: ignored
    assert cache.entries("code") == []


@POSIX
def test_a_write_the_disk_refuses_costs_only_the_entry(tmp_path):
    (tmp_path / "variants").write_text("a file where the section should be")
    cache = open_checked(tmp_path, create=True)
    assert cache.write("variants", "entry", b"data") is False
    assert cache.write("code", "entry", b"data") is True


@POSIX
def test_clear_removes_only_autoaccel_sections(tmp_path):
    cache = open_checked(tmp_path, create=True)
    for section in SECTIONS:
        cache.write(section, "entry", b"12345")
    (tmp_path / "notes.txt").write_text("someone else's")
    stored = (5 + TAG_BYTES) * len(SECTIONS)  # each file: its HMAC tag, then the data
    assert cache.size() == stored
    assert cache.clear() == stored
    assert cache.size() == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt", "secret"]


def test_a_cache_is_opened_once_per_process_and_not_at_all_when_off(tmp_path):
    config = Config(cache_dir=str(tmp_path / "new"))
    opened = open_cache(config)
    assert opened is not None and opened is open_cache(config)
    assert stat.S_IMODE((tmp_path / "new").stat().st_mode) == 0o700
    assert open_cache(Config(cache=False, cache_dir=str(tmp_path / "new"))) is None
    assert open_cache(Config(cache_dir=str(tmp_path / "absent")), create=False) is None


@POSIX
def test_a_directory_that_cannot_be_used_warns_once_and_runs_without_a_cache(tmp_path):
    (tmp_path / "file").write_text("a file where the cache directory should be")
    config = Config(cache_dir=str(tmp_path / "file"))
    with pytest.warns(CacheWarning, match="running without a cache") as record:
        assert open_cache(config) is None
        assert open_cache(config) is None
    assert len(record) == 1 and str(tmp_path / "file") in str(record[0].message)
