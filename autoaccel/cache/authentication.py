"""Authenticated cache files: an HMAC-SHA256 tag, keyed by a secret only the user can read.

Why this design: the cache holds marshalled code and Numba's pickled object code, and
loading either can run code; a checksum (CRC-32) stops a damaged file but not a forged one,
since anyone can recompute it. So every file the cache stores starts with an HMAC-SHA256
tag (RFC 2104, Python's :mod:`hmac`) of its name in the cache and its exact bytes, keyed by
a 32-byte secret kept in the cache root (mode ``0o600``, created once, atomically). A file
is parsed only after its tag checks (``hmac.compare_digest``, constant time): a truncated,
flipped, foreign or planted file, or a valid file moved to another entry's name, is refused.
Only someone who can read the secret (the user, or root) can make a file that passes. This
is how Django signs what it hands out (``django.core.signing``): a keyed MAC over the exact
bytes, checked before they are deserialized.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import logging

from autoaccel.cache import private

logger = logging.getLogger("autoaccel")

SECRET_NAME = "secret"  # in the cache root, beside the sections; `cache clear` keeps it
_SECRET_BYTES = 32  # HMAC-SHA256's block-size-safe key length (RFC 2104: at least L = 32)
TAG_BYTES = hashlib.sha256().digest_size


def load_secret(root: int) -> bytes:
    """The cache's secret key, read from the root (descriptor ``root``), made if missing.

    A secret that fails a check (a link, not a regular file, not the user's, readable or
    writable by others, of the wrong size) is replaced by a new one, which makes every
    existing entry a miss: whoever could read or change it could forge entries.

    Raises:
        OSError: no secret can be read or made (the cache is then not used).
    """
    for _ in range(3):  # another process may replace a bad secret at the same time
        try:
            secret = private.read_file(root, SECRET_NAME, private=True)
            if len(secret) == _SECRET_BYTES:
                return secret
            reason = f"{SECRET_NAME} holds {len(secret)} bytes, not {_SECRET_BYTES}"
        except FileNotFoundError:
            reason = None
        except private.Unsafe as exc:
            reason = str(exc)
        if reason:
            logger.info("cache: replacing the secret key: %s", reason)
            private.remove(root, SECRET_NAME)
        with contextlib.suppress(FileExistsError):
            private.make_secret(root, SECRET_NAME, _SECRET_BYTES)
    raise OSError(f"cannot make a usable {SECRET_NAME} file")


def _tag(secret: bytes, name: str, data: bytes | memoryview) -> bytes:
    mac = hmac.new(secret, name.encode("utf-8", "surrogateescape"), hashlib.sha256)
    mac.update(b"\0")  # a name cannot contain NUL, so name and bytes never run together
    mac.update(data)
    return mac.digest()


def seal(secret: bytes, name: str, data: bytes) -> bytes:
    """The file's bytes: the tag of ``name`` and ``data``, then ``data``.

    Args:
        secret: the key from :func:`load_secret`.
        name: where the file lives in the cache (``"decisions/m-1a2b.json"``).
        data: what it holds.
    """
    return _tag(secret, name, data) + data


def unseal(secret: bytes, name: str, blob: bytes) -> bytes:
    """The data of file bytes ``blob`` stored as ``name``, after its tag checked.

    Raises:
        ValueError: the tag does not match (damaged, truncated, foreign, or not written
            under this name with this secret).
    """
    data = memoryview(blob)[TAG_BYTES:]
    if len(blob) < TAG_BYTES or not hmac.compare_digest(blob[:TAG_BYTES], _tag(secret, name, data)):
        raise ValueError("authentication failed (damaged, foreign or forged)")
    return bytes(data)
