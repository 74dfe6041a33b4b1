"""autoaccel.cli.cache: ``python -m autoaccel cache info`` and ``cache clear``, in-process."""

from __future__ import annotations

import os

import pytest
from conftest import cache_at

from autoaccel.cache.decisions import Decision, DecisionKey, DecisionStore, store_name
from autoaccel.cli.cache import main


@pytest.fixture
def filled(private_cache, monkeypatch, tmp_path):
    """The test's cache with one variant and two decisions of module ``kern``."""
    monkeypatch.chdir(tmp_path)
    cache = cache_at(private_cache)
    cache.write("variants", f"ab/{'ab' * 32}/outcome.pickle", b"x" * 1000)
    store = DecisionStore(cache, store_name("kern", "/src/kern.py"))
    store.put(DecisionKey("f", "(float)", "(float64)"), Decision("d", (), True, "measured 2.00x"))
    store.put(DecisionKey("g", "(int)", "(int64)"), Decision("d", (), False, "below min_gain"))
    return private_cache


def test_info_counts_what_the_cache_holds(filled, capsys):
    assert main(["info"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(f"autoaccel cache: {filled} (")
    assert out[1:] == [
        "  compiled variants: 1",
        "  rewritten modules: 0",
        "  kern: 1 promoted, 1 rejected",
    ]


def test_info_verbose_lists_every_decision(filled, capsys):
    assert main(["info", "-v"]) == 0
    out = capsys.readouterr().out
    assert "    promoted f(float64): measured 2.00x\n" in out
    assert "    rejected g(int64): below min_gain\n" in out


def test_clear_empties_it(filled, capsys):
    assert main(["clear"]) == 0
    assert capsys.readouterr().out == f"autoaccel cache: removed 0.0 MB from {filled}\n"
    assert cache_at(filled).size() == 0


def test_a_missing_or_disabled_cache_is_said_so(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AUTOACCEL_CACHE_DIR", str(tmp_path / "none"))
    assert main(["info"]) == 0
    assert capsys.readouterr().out.endswith("none (does not exist yet)\n")
    (tmp_path / "python_optimizer.toml").write_text("cache = false\n")
    monkeypatch.setenv("AUTOACCEL_CACHE_DIR", str(tmp_path))
    assert main(["clear"]) == 0
    assert capsys.readouterr().out.endswith("is not used (cache = false)\n")


@pytest.mark.skipif(not hasattr(os, "getuid"), reason="POSIX permissions")
def test_an_unsafe_cache_is_exit_status_1(filled, capsys):
    os.chmod(filled, 0o777)
    assert main(["clear"]) == 1
    assert "can be written by other users" in capsys.readouterr().out
    os.chmod(filled, 0o700)
    assert cache_at(filled).size() > 0  # not touched


def test_a_bad_configuration_is_exit_status_2(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "python_optimizer.toml").write_text("cache = 3\n")
    assert main(["info"]) == 2
    assert "key 'cache' must be bool" in capsys.readouterr().err
