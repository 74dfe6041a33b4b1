"""The cache directory: where it lives, whether it is safe to load from, its entries.

Why this design: the cache holds marshalled code and Numba's pickled object code, and loading
either can run code. So autoaccel uses a directory only when the current user owns it and
nobody else can write to it (the check Python's own ``tempfile`` and SSH make of their
private directories), creates its own with mode ``0o700``, and then reaches every entry
through a descriptor of it, without following links, each step checked
(:mod:`autoaccel.cache.private`); every file is authenticated with a secret key before it is
parsed (:mod:`autoaccel.cache.authentication`). Every write goes to a temporary file in the
same directory and is moved into place with ``os.replace``, so a reader sees the old file or
the new one, never a torn one (pytest writes its rewritten ``.pyc`` files the same way). A
missing, unreadable, unsafe or unauthentic file is a cache miss, never an error: the cache
can only save time, so no failure of it may stop the program.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Iterator
from pathlib import Path

from autoaccel.cache import authentication, private
from autoaccel.config import Config
from autoaccel.errors import CacheWarning, warn
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


class CacheDir:
    """An opened, checked cache directory, reached through a descriptor of its root.

    Every entry is stored as ``section/name`` (``name`` may hold ``/`` for
    subdirectories), authenticated (:mod:`autoaccel.cache.authentication`) and reached
    without following links, each step checked (:mod:`autoaccel.cache.private`).

    Args:
        path: the directory (absolute).
        root: an open descriptor of it, already checked; the object owns it.

    Raises:
        OSError: the secret key cannot be read or made.
    """

    def __init__(self, path: Path, root: int) -> None:
        self.path = path
        self._root = root
        self._lock = threading.Lock()
        self._secret = authentication.load_secret(root)

    def _current_root(self) -> int:
        """The root's descriptor; if the root was deleted, a new one, made and checked anew.

        Raises:
            OSError: the root cannot be made again, or fails its checks now.
        """
        with self._lock:
            if os.fstat(self._root).st_nlink == 0:  # removed (`rm -rf`) while in use
                root = private.open_root(self.path, create=True)
                secret = authentication.load_secret(root)
                os.close(self._root)
                self._root, self._secret = root, secret
            return self._root

    @contextlib.contextmanager
    def _directory(self, section: str, name: str, create: bool) -> Iterator[tuple[int, str]]:
        """``(descriptor of the entry's directory, the entry's file name)``."""
        *parents, leaf = f"{section}/{name}".split("/")
        with private.directory(self._current_root(), parents, create) as fd:
            yield fd, leaf

    def read(self, section: str, name: str) -> bytes | None:
        """The authenticated bytes of an entry, or ``None`` (a miss).

        A file that fails a check or its authentication is removed, and its path and the
        reason are logged; a missing one is just a miss.
        """
        relative = f"{section}/{name}"
        try:
            with self._directory(section, name, create=False) as (fd, leaf):
                try:
                    return authentication.unseal(
                        self._secret, relative, private.read_file(fd, leaf)
                    )
                except (private.Unsafe, ValueError) as exc:
                    logger.info("cache: removing %s: %s", self.path / relative, exc)
                    with contextlib.suppress(OSError):
                        private.remove(fd, leaf)
        except FileNotFoundError:
            pass
        except OSError as exc:  # a directory on the way fails its checks, or the disk errs
            logger.info("cache: cannot read %s: %s", self.path / relative, exc)
        return None

    def write(self, section: str, name: str, data: bytes) -> bool:
        """Store an entry atomically and authenticated; ``False`` (logged) when refused.

        Directories on the way are made private (``0o700``), the file ``0o600``. A
        read-only or full disk, or a removed directory, only costs the entry.
        """
        relative = f"{section}/{name}"
        try:
            with self._directory(section, name, create=True) as (fd, leaf):
                private.write_file(fd, leaf, authentication.seal(self._secret, relative, data))
            return True
        except OSError as exc:
            logger.info("cache: could not write %s: %s", self.path / relative, exc)
            return False

    def remove(self, section: str, name: str) -> None:
        """Delete an entry (a file, or a directory with its contents) if it exists.

        Errors are ignored: a failure to remove only leaves a file that will not load.
        """
        with contextlib.suppress(OSError), self._directory(section, name, False) as (fd, leaf):
            private.remove(fd, leaf)

    def entries(self, section: str) -> list[str]:
        """Names in ``section``, temporary files excluded; empty if there is none."""
        try:
            with private.directory(self._current_root(), [section], create=False) as fd:
                return private.names(fd)
        except OSError:
            return []

    def clear(self) -> int:
        """Remove every entry autoaccel made; returns the bytes freed.

        Only :data:`SECTIONS` are removed (no link followed), so a directory shared with
        other files (a mistyped ``cache_dir``, say) keeps them.
        """
        freed = self.size()
        for section in SECTIONS:
            with contextlib.suppress(OSError):
                private.remove(self._current_root(), section)
        return freed

    def size(self) -> int:
        """Bytes held in regular files of :data:`SECTIONS` (no link followed)."""
        total = 0
        for section in SECTIONS:
            with (
                contextlib.suppress(OSError),
                private.directory(self._current_root(), [section], create=False) as fd,
            ):
                total += private.usage(fd)
        return total

    def count_directories(self, section: str, depth: int) -> int:
        """How many directories lie ``depth`` levels below ``section`` (no link followed)."""
        try:
            with private.directory(self._current_root(), [section], create=False) as fd:
                return private.count_directories(fd, depth)
        except OSError:
            return 0

    def close(self) -> None:
        """Close the root's descriptor (a cache that ``cache info`` opened for a moment)."""
        os.close(self._root)

    def __enter__(self) -> CacheDir:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def open_cache(config: Config, create: bool = True) -> CacheDir | None:
    """The cache directory ``config`` uses, checked once per process; ``None`` when off.

    Args:
        config: ``cache`` turns the cache off; ``cache_dir`` names the directory.
        create: make the directory (mode ``0o700``) when it does not exist.

    Returns:
        ``None`` when the cache is off, missing (``create`` false), cannot be created, or
        is refused as unsafe; the last two are reported once with a
        :class:`~autoaccel.errors.CacheWarning` that names the directory and what to do,
        and the program runs without a cache.
    """
    if not config.cache:
        return None
    path = cache_path(config)
    with STATE.lock:
        if path not in STATE.cache_dirs:
            STATE.cache_dirs[path] = _open(path, create)
        return STATE.cache_dirs[path]


def open_checked(path: Path, create: bool) -> CacheDir:
    """The cache directory at ``path``, opened and checked (:mod:`autoaccel.cache.private`).

    Args:
        path: the directory (absolute).
        create: make it (mode ``0o700``, with its parents) when it does not exist.

    Raises:
        FileNotFoundError: it does not exist and ``create`` is false.
        autoaccel.cache.private.Unsafe: it fails a check (the message says which), or the
            platform lacks ``O_NOFOLLOW`` or ``dir_fd``.
        OSError: it cannot be made or opened, or its secret key cannot be read or made.
    """
    if not private.supported():
        raise private.Unsafe(f"{path} cannot be checked on this platform (no O_NOFOLLOW)")
    root = private.open_root(path, create)
    try:
        return CacheDir(path, root)
    except BaseException:
        os.close(root)
        raise


def _open(path: Path, create: bool) -> CacheDir | None:
    try:
        return open_checked(path, create)
    except FileNotFoundError:
        if create:
            _warn(f"cache directory {path} cannot be made; running without a cache.")
        return None
    except private.Unsafe as exc:
        _warn(
            f"cache directory {exc}, so autoaccel does not load from it: the files there "
            f"could run someone else's code. Run `chmod 700 {path}` if it is yours, or set "
            "cache_dir (AUTOACCEL_CACHE_DIR) to a private directory. Running without a cache."
        )
    except OSError as exc:
        _warn(f"cache directory {path} cannot be used ({exc}); running without a cache.")
    return None


def _warn(message: str) -> None:
    warn(f"autoaccel: {message}", CacheWarning)
