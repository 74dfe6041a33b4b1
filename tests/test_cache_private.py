"""autoaccel.cache.private: the cache reached by descriptor, private whatever the umask,
without following links or opening special files; the subprocess runs on a damaged cache are in
``test_cache_faults.py``."""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import pytest
from conftest import run_python

from autoaccel.cache import authentication, private
from autoaccel.cache.directory import open_checked

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


@pytest.mark.skipif(os.getuid() != 0, reason="needs root to make another user's files")
def test_a_loosened_section_is_repaired_whole_where_this_run_never_looks(tmp_path):
    root = tmp_path / "cache"
    with open_checked(root, create=True) as cache:
        assert cache.write("variants", "ab/used/outcome.json", b"1")
        assert cache.write("variants", "cd/unused/outcome.json", b"2")
    for path in [root / "variants", *(root / "variants").rglob("*")]:
        if path.is_dir():  # as an older autoaccel left them under umask 000
            path.chmod(0o777)
    planted = [root / "variants/cd/unused/variant.nbi", root / "variants/cd/planted.lock"]
    (root / "variants/cd/theirs").mkdir()
    for path in [*planted, root / "variants/cd/theirs/x"]:
        path.write_bytes(b"planted")
        os.lchown(path, 65534, 65534)
    os.lchown(root / "variants/cd/theirs", 65534, 65534)
    with open_checked(root, create=False) as cache:
        assert cache.read("variants", "ab/used/outcome.json") == b"1"
    assert not any(p.lstat().st_uid != 0 for p in root.rglob("*")), "all planted removed"
    assert (root / "variants/cd/unused/outcome.json").exists(), "the user's own files stay"
    modes = _modes(root / "variants")
    assert {m for name, m in modes.items() if (root / "variants" / name).is_dir()} == {0o700}


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
