"""autoaccel.cache.authentication: every cache file tagged (HMAC-SHA256 of its name and bytes)
with a private secret; a moved entry or an exposed secret does not authenticate."""

from __future__ import annotations

import shutil
import stat

import pytest

from autoaccel.cache import authentication, private
from autoaccel.cache.directory import open_checked

pytestmark = pytest.mark.skipif(not private.supported(), reason="POSIX descriptors")


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
