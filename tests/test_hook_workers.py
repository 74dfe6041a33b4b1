"""autoaccel.hook.workers: the client's configuration as a table, installed once per worker."""

from __future__ import annotations

import os
import sys

import pytest

from autoaccel.config import Config
from autoaccel.errors import ConfigError
from autoaccel.hook.workers import install_worker, uninstall_worker, worker_stats, worker_table


def test_the_table_leaves_the_report_to_the_client_and_names_a_set_cache(tmp_path):
    table = worker_table(Config(modules=("kern",), report=True, report_json="r.json"))
    assert table["modules"] == ["kern"]
    assert "report" not in table and "report_json" not in table
    assert "cache_dir" not in table  # each worker's own default directory
    table = worker_table(Config(modules=("kern",), cache_dir=str(tmp_path / "c")))
    assert table["cache_dir"] == str(tmp_path / "c")


def test_a_worker_installs_the_hook_once_and_uninstalls_it(isolated_imports):
    table = worker_table(Config(modules=("kern",), min_calls=4))
    first = install_worker(table, "the client")
    try:
        assert first is not None and first.finder in sys.meta_path
        assert first.config.min_calls == 4
        assert install_worker(table, "the client") is first
    finally:
        uninstall_worker()
    assert first.finder not in sys.meta_path
    uninstall_worker()  # nothing installed: nothing to do


def test_autoaccel_disable_in_the_worker_leaves_it_plain(monkeypatch, isolated_imports):
    monkeypatch.setenv("AUTOACCEL_DISABLE", "1")
    assert install_worker({"modules": ["kern"]}, "the client") is None


def test_a_bad_table_names_its_source(isolated_imports):
    with pytest.raises(ConfigError, match="the client"):
        install_worker({"min_calls": "many"}, "the client")


def test_worker_stats_say_which_process_answered():
    answer = worker_stats()
    assert answer["pid"] == os.getpid() and answer["host"]
    assert answer["functions"] == [] and "autoaccel" in answer
