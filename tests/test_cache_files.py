"""The cache's files: private, reached without following links, authenticated, plain data.

In-process checks of :mod:`autoaccel.cache.private`, :mod:`~autoaccel.cache.authentication`
and :mod:`~autoaccel.cache.plain` through the cache directory's own interface; the
subprocess runs on a damaged cache are in ``test_cache_faults.py``.
"""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import numpy as np
import pytest
from conftest import run_python

from autoaccel.cache import authentication, plain, private
from autoaccel.cache.decisions import Decision, DecisionKey, DecisionStore
from autoaccel.cache.directory import open_checked
from autoaccel.policy.compare import TupleAdapter, adapter_from_plain, plain_adapter

pytestmark = pytest.mark.skipif(not private.supported(), reason="POSIX descriptors")


def _modes(root: Path) -> dict[str, int]:
    return {str(p.relative_to(root)): stat.S_IMODE(p.lstat().st_mode) for p in root.rglob("*")}


def test_a_new_cache_is_private_whatever_the_umask(tmp_path):
    previous = os.umask(0)
    try:
        with open_checked(tmp_path / "a" / "cache", create=True) as cache:
            assert cache.write("variants", "ab/abcdef/outcome.json", b"{}")
    finally:
        os.umask(previous)
    root = tmp_path / "a" / "cache"
    assert stat.S_IMODE(root.stat().st_mode) == 0o700
    assert _modes(root) == {
        "secret": 0o600,
        "variants": 0o700,
        "variants/ab": 0o700,
        "variants/ab/abcdef": 0o700,
        "variants/ab/abcdef/outcome.json": 0o600,
    }


def test_entries_round_trip_and_a_moved_entry_does_not_authenticate(tmp_path):
    with open_checked(tmp_path, create=True) as cache:
        cache.write("decisions", "a.json", b"first")
        cache.write("decisions", "b.json", b"second")
        assert cache.read("decisions", "a.json") == b"first"
        shutil.copy(tmp_path / "decisions" / "b.json", tmp_path / "decisions" / "a.json")
        assert cache.read("decisions", "a.json") is None, "b's tag does not hold for a"
        assert not (tmp_path / "decisions" / "a.json").exists(), "removed"
        assert cache.read("decisions", "b.json") == b"second"


def test_a_secret_that_others_could_read_is_replaced(tmp_path):
    with open_checked(tmp_path, create=True) as cache:
        cache.write("code", "entry", b"data")
    secret = tmp_path / authentication.SECRET_NAME
    old = secret.read_bytes()
    secret.chmod(0o644)
    with open_checked(tmp_path, create=False) as cache:
        assert cache.read("code", "entry") is None, "signed with a key others could read"
    assert secret.read_bytes() != old and stat.S_IMODE(secret.stat().st_mode) == 0o600


@pytest.mark.parametrize("kind", ["FIFO", "directory", "link to /dev/zero", "link outside"])
def test_special_files_are_refused_and_removed_without_blocking(tmp_path, kind):
    root, outside = tmp_path / "cache", tmp_path / "outside"
    outside.mkdir()
    with open_checked(root, create=True) as cache:
        cache.write("code", "entry", b"data")
        entry = root / "code" / "entry"
        (outside / "entry").write_bytes(entry.read_bytes())  # authentic, but elsewhere
        entry.unlink()
        if kind == "FIFO":
            os.mkfifo(entry)
        elif kind == "directory":
            entry.mkdir()
        else:
            entry.symlink_to("/dev/zero" if kind == "link to /dev/zero" else outside / "entry")
        assert cache.read("code", "entry") is None
        assert not os.path.lexists(entry)
        assert cache.write("code", "entry", b"again") and cache.read("code", "entry") == b"again"
    assert (outside / "entry").exists(), "a link's target is never touched"


def test_a_directory_deleted_during_a_run_is_made_again_privately(tmp_path):
    root = tmp_path / "cache"
    with open_checked(root, create=True) as cache:
        assert cache.write("variants", "ab/abc/outcome.json", b"1")
        shutil.rmtree(root / "variants")
        previous = os.umask(0)
        try:
            assert cache.write("variants", "ab/abc/outcome.json", b"2")
            shutil.rmtree(root)  # the root too: made again, with a new secret
            assert cache.write("variants", "ab/abc/outcome.json", b"3")
        finally:
            os.umask(previous)
        assert cache.read("variants", "ab/abc/outcome.json") == b"3"
    assert set(_modes(root).values()) | {stat.S_IMODE(root.stat().st_mode)} == {0o700, 0o600}


def test_a_symlinked_root_must_be_the_users_and_private(tmp_path):
    target = tmp_path / "target"
    target.mkdir(mode=0o700)
    link = tmp_path / "link"
    link.symlink_to(target)
    with open_checked(link, create=False) as cache:
        assert cache.write("code", "entry", b"x")
    assert (target / "code" / "entry").exists()
    target.chmod(0o755)  # readable by others: what /etc looks like to root
    with pytest.raises(private.Unsafe, match="is not private"):
        open_checked(link, create=False)
    etc = tmp_path / "etc"
    etc.symlink_to("/etc")
    with pytest.raises(private.Unsafe):
        open_checked(etc, create=True)
    assert not Path("/etc/code").exists() and not Path("/etc/variants").exists()


@pytest.mark.skipif(os.getuid() != 0, reason="needs root to give a link to another user")
def test_a_symlinked_root_made_by_someone_else_is_refused(tmp_path):
    target = tmp_path / "target"
    target.mkdir(mode=0o700)
    link = tmp_path / "link"
    link.symlink_to(target)
    os.lchown(link, 65534, 65534)
    with pytest.raises(private.Unsafe, match="is a symbolic link owned by uid 65534"):
        open_checked(link, create=False)


def test_cache_info_and_clear_neither_hang_nor_leave_the_cache(tmp_path):
    cache, outside = tmp_path / "cache", tmp_path / "outside"
    outside.mkdir()
    (outside / "keep").write_text("not the cache's")
    with open_checked(cache, create=True) as opened:
        opened.write("decisions", "m-0123.json", b"{}")
    (cache / "decisions" / "m-0123.json").unlink()
    os.mkfifo(cache / "decisions" / "m-0123.json")
    (cache / "variants").mkdir()
    (cache / "variants" / "ab").symlink_to(outside)
    (cache / "code").symlink_to(outside)
    env = {"AUTOACCEL_CACHE_DIR": str(cache)}
    for action in ("info", "clear"):
        result = run_python("-m", "autoaccel", "cache", action, env=env, timeout=60)
        assert result.returncode == 0, result.stderr
    assert (outside / "keep").read_text() == "not the cache's"
    assert sorted(p.name for p in cache.iterdir()) == [authentication.SECRET_NAME]


def test_plain_values_round_trip_with_their_types():
    values = (1.0, -0.0, float("nan"), 3, True, None, "s", 1 + 2j, np.float32(1.5))
    values += (np.int64(-3), np.bool_(True), float, np.float64, type(None), (1, (2.0,)))
    decoded = plain.decode(plain.loads(plain.dumps(plain.encode(values))))
    assert [type(v) for v in decoded] == [type(v) for v in values]
    assert repr(decoded) == repr(values)
    for refused in ([1], {"a": 1}, object(), type("Local", (), {})):
        with pytest.raises(TypeError):
            plain.encode(refused)
    for forged in ({"type": "os:system"}, {"type": "nosuchmodule:X"}, {"pickle": "x"}):
        with pytest.raises(ValueError):
            plain.decode(forged)


def test_decisions_are_stored_as_json_and_read_back_equal(tmp_path):
    adapter = TupleAdapter((None, np.float64))
    decision = Decision(
        "d" * 64,
        (1.2, 5, ("cpu", "parallel"), 1e-9, 0.0, None),
        True,
        "measured speed-up 3.10x",
        speedup=3.1,
        raw_type=tuple,
        adapter=plain_adapter(adapter),
        candidates=(("cpu", 3.1, "promoted"),),
    )
    key = DecisionKey("f", "(ndarray)", "(array(float64, 1d, C))")
    with open_checked(tmp_path, create=True) as cache:
        DecisionStore(cache, "m-1.json").put(key, decision)
        assert DecisionStore(cache, "m-1.json").get(key) == decision
        assert cache.read("decisions", "m-1.json").startswith(b'{"format":2')
    assert adapter_from_plain(decision.adapter) == adapter
