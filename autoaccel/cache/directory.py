"""The cache directory: where it lives, whether it is safe to load from, atomic file access.

Why this design: the cache holds pickled and marshalled data, and loading either can run
code, so autoaccel uses a directory only when the current user owns it and nobody else can
write to it (the check Python's own ``tempfile`` and SSH make of their private directories),
and creates its own with mode ``0o700``. Every write goes to a temporary file in the same
directory and is moved into place with ``os.replace``, so a reader sees the old file or the
new one, never a torn one (pytest writes its rewritten ``.pyc`` files the same way). A
missing, unreadable or unwritable file is a cache miss, never an error: the cache can only
save time, so no failure of it may stop the program.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import stat
import tempfile
import warnings
from pathlib import Path

from autoaccel.config import Config
from autoaccel.errors import CacheWarning
from autoaccel.state import STATE

logger = logging.getLogger("autoaccel")

# The kinds of entries, one subdirectory each; ``cache clear`` removes exactly these.
SECTIONS = ("code", "decisions", "variants")


def default_cache_dir() -> Path:
    """``$AUTOACCEL_CACHE_DIR``, else ``$XDG_CACHE_HOME/autoaccel``, else ``~/.cache/autoaccel``."""
    explicit = os.environ.get("AUTOACCEL_CACHE_DIR")
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "autoaccel"


def cache_path(config: Config) -> Path:
    """The directory ``config`` names (``cache_dir``), or the default one; absolute."""
    path = Path(config.cache_dir).expanduser() if config.cache_dir else default_cache_dir()
    return path.absolute()


def unsafe_reason(path: Path) -> str | None:
    """Why ``path`` (an existing directory) must not be loaded from, or ``None``.

    Refused: a directory owned by another user, or one that its group or other users can
    write to (anyone who can write there could plant a pickle that runs their code in this
    process). Only the owner's own uid passes; root's directories are refused for others.

    Raises:
        OSError: ``path`` cannot be examined.
    """
    status = os.stat(path)
    if not stat.S_ISDIR(status.st_mode):
        return "is not a directory"
    if hasattr(os, "getuid") and status.st_uid != os.getuid():
        return f"is owned by uid {status.st_uid}, not by you (uid {os.getuid()})"
    if status.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        return f"can be written by other users (mode {stat.S_IMODE(status.st_mode):#o})"
    return None


class CacheDir:
    """An opened, checked cache directory.

    Attributes:
        path: the directory (absolute).
    """

    def __init__(self, path: Path) -> None:
        self.path = path

    def file(self, section: str, name: str) -> Path:
        """The path of entry ``name`` in ``section`` (one of :data:`SECTIONS`)."""
        return self.path / section / name

    def read(self, section: str, name: str) -> bytes | None:
        """The bytes of an entry, or ``None`` when it is missing or unreadable."""
        try:
            return self.file(section, name).read_bytes()
        except OSError:
            return None

    def write(self, section: str, name: str, data: bytes) -> bool:
        """Store an entry atomically; ``False`` (logged) when the disk refuses.

        ``name`` may contain ``/`` for subdirectories, which are created private.

        A read-only or full disk, or a removed directory, only costs the entry.
        """
        target = self.file(section, name)
        temporary = None
        try:
            target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(
                dir=target.parent, prefix=f".{target.name}.", suffix=".tmp"
            )
            with os.fdopen(handle, "wb") as stream:
                stream.write(data)
            os.replace(temporary, target)
            return True
        except OSError as exc:
            logger.info("cache: could not write %s/%s: %s", section, name, exc)
            if temporary is not None:
                with contextlib.suppress(OSError):
                    os.unlink(temporary)
            return False

    def remove(self, section: str, name: str) -> None:
        """Delete an entry if it exists (a corrupt one, say); errors are ignored."""
        with contextlib.suppress(OSError):
            self.file(section, name).unlink()

    def entries(self, section: str) -> list[Path]:
        """Files of ``section``, temporary files excluded; empty if there is none."""
        try:
            return sorted(p for p in (self.path / section).iterdir() if not p.name.startswith("."))
        except OSError:
            return []

    def clear(self) -> int:
        """Remove every entry autoaccel made; returns the bytes freed.

        Only :data:`SECTIONS` are removed, so a directory shared with other files (a
        mistyped ``cache_dir``, say) keeps them.
        """
        freed = self.size()
        for section in SECTIONS:
            shutil.rmtree(self.path / section, ignore_errors=True)
        return freed

    def size(self) -> int:
        """Bytes held in :data:`SECTIONS`."""
        total = 0
        for section in SECTIONS:
            for root, _, files in os.walk(self.path / section):
                for name in files:
                    with contextlib.suppress(OSError):
                        total += os.stat(os.path.join(root, name)).st_size
        return total


def open_cache(config: Config, create: bool = True) -> CacheDir | None:
    """The cache directory ``config`` uses, checked once per process; ``None`` when off.

    Args:
        config: ``cache`` turns the cache off; ``cache_dir`` names the directory.
        create: make the directory (mode ``0o700``) when it does not exist.

    Returns:
        ``None`` when the cache is off, cannot be created, or is refused as unsafe; the
        last two are reported once with a :class:`~autoaccel.errors.CacheWarning` that
        names the directory and what to do, and the program runs without a cache.
    """
    if not config.cache:
        return None
    path = cache_path(config)
    with STATE.lock:
        if path not in STATE.cache_dirs:
            STATE.cache_dirs[path] = _open(path, create)
        return STATE.cache_dirs[path]


def _open(path: Path, create: bool) -> CacheDir | None:
    try:
        if create and not path.exists():
            path.mkdir(mode=0o700, parents=True, exist_ok=True)
            os.chmod(path, 0o700)  # mkdir's mode is reduced by the umask; make sure
        elif not path.exists():
            return None
        reason = unsafe_reason(path)
    except OSError as exc:
        _warn(f"cache directory {path} cannot be used ({exc}); running without a cache.")
        return None
    if reason:
        _warn(
            f"cache directory {path} {reason}, so autoaccel does not load from it: the "
            "pickled files there could run someone else's code. Run `chmod 700 "
            f"{path}` if it is yours, or set cache_dir (AUTOACCEL_CACHE_DIR) to a private "
            "directory. Running without a cache."
        )
        return None
    return CacheDir(path)


def _warn(message: str) -> None:
    warnings.warn(f"autoaccel: {message}", CacheWarning, stacklevel=3)
