"""Private files under one directory descriptor: no link followed, every open checked.

Why this design: a path is looked up again each time it is used, so a check made on a path
(``os.stat``) says nothing about the file a later ``open`` of the same path reaches; another
user who can change any directory on the way can swap it in between (time of check to time
of use). So the cache root is opened once, and everything under it is reached from that
descriptor one component at a time with the ``*at`` system calls (``dir_fd=``) and
``O_NOFOLLOW``, which refuses a symbolic link instead of following it, and each descriptor
is checked with ``fstat`` on what was actually opened: its owner, its type (a directory, or
a regular file: a FIFO, a device or a directory in a file's place is refused), its mode
(nobody but the owner may write) and, for a file, its size. Files are opened with
``O_NONBLOCK``, so a FIFO cannot block the ``open`` before ``fstat`` sees what it is. This is
the discipline of Python's own ``shutil.rmtree`` (``_rmtree_safe_fd``) and of OpenSSH's
checks of ``~/.ssh``. Everything is created ``0o700`` (directories) or ``0o600`` (files)
and set so with ``fchmod`` on the descriptor, whatever the umask.

Every function raises :class:`Unsafe` for what fails a check and ``OSError`` for what the
system refuses; the callers (:mod:`autoaccel.cache.directory`) turn both into cache misses.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import stat
import sys
from collections.abc import Iterator
from pathlib import Path

# The largest file the cache reads (bytes): a compiled variant's object code is well below.
MAX_FILE_BYTES = 256 * 1024 * 1024

_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_DIRECTORY = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | _CLOEXEC
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_READ = os.O_RDONLY | _NOFOLLOW | getattr(os, "O_NONBLOCK", 0) | _CLOEXEC
_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC
_OTHERS_WRITE = stat.S_IWGRP | stat.S_IWOTH


class Unsafe(OSError):
    """A path under (or of) the cache fails a check; ``str(exc)`` says which."""


def supported() -> bool:
    """Whether this platform has what this module needs (``dir_fd``, ``O_NOFOLLOW``, uids)."""
    return bool(_NOFOLLOW) and os.open in os.supports_dir_fd and hasattr(os, "getuid")


def _owner_reason(status: os.stat_result) -> str | None:
    if status.st_uid != os.getuid():
        return f"is owned by uid {status.st_uid}, not by you (uid {os.getuid()})"
    return None


def _checked(fd: int, what: str, directory: bool, private: bool = False) -> os.stat_result:
    """``fstat(fd)`` after checking type, owner and mode; closes ``fd`` and raises if not.

    Args:
        fd: the open descriptor.
        what: the path, for the message.
        directory: a directory is expected, else a regular file.
        private: no group or other permission at all, rather than only no write.

    Raises:
        Unsafe: the descriptor fails a check (message: ``what`` and why).
    """
    status = os.fstat(fd)
    reason = _owner_reason(status)
    mode = stat.S_IMODE(status.st_mode)
    if directory and not stat.S_ISDIR(status.st_mode):
        reason = "is not a directory"
    elif not directory and not stat.S_ISREG(status.st_mode):
        reason = "is not a regular file"
    elif reason is None and private and mode & 0o077:
        reason = f"is not private (mode {mode:#o})"
    elif reason is None and mode & _OTHERS_WRITE:
        reason = f"can be written by other users (mode {mode:#o})"
    elif not directory and status.st_size > MAX_FILE_BYTES:
        reason = f"is larger than {MAX_FILE_BYTES} bytes"
    if reason:
        os.close(fd)
        raise Unsafe(f"{what} {reason}")
    return status


def open_root(path: Path, create: bool) -> int:
    """A descriptor of the cache root ``path``, checked; made (``0o700``) if ``create``.

    A root that is not a link must be a directory of the user's that nobody else can
    write. A root that is a symbolic link is followed only if the link is the user's and
    sits in a directory nobody else can change (or a sticky one, such as ``/tmp``), and
    then the directory it reaches must be the user's and private (``0o700``): a link
    pointing at ``/etc`` is refused even for root.

    Raises:
        FileNotFoundError: ``path`` does not exist and ``create`` is false.
        Unsafe: ``path`` fails a check.
        OSError: it cannot be made or opened.
    """
    created = False
    if create:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        with contextlib.suppress(FileExistsError):
            os.mkdir(path, 0o700)
            created = True
    if stat.S_ISLNK(os.lstat(path).st_mode):
        _check_link(path)
        fd = os.open(path, _DIRECTORY)
        _checked(fd, f"{path} (a symbolic link) leads to a directory that", True, private=True)
    else:
        fd = os.open(path, _DIRECTORY | _NOFOLLOW)
        _checked(fd, str(path), True)
    if created:
        os.fchmod(fd, 0o700)  # mkdir's mode was reduced by the umask
    return fd


def _check_link(path: Path) -> None:
    """Refuse a link that someone else made, or could replace."""
    reason = _owner_reason(os.lstat(path))
    if reason:
        raise Unsafe(f"{path} is a symbolic link {reason.removeprefix('is ')}")
    parent = os.stat(path.parent)
    replaceable = parent.st_mode & _OTHERS_WRITE and not parent.st_mode & stat.S_ISVTX
    if parent.st_uid not in (os.getuid(), 0) or replaceable:
        raise Unsafe(f"{path} is a symbolic link in {path.parent}, which others can change")


def open_directory(parent: int, name: str, create: bool) -> int:
    """Subdirectory ``name`` of descriptor ``parent``, not followed if a link; made if missing.

    A directory of the user's that others may read or write (an older autoaccel let Numba
    make them with the umask's mode) is made private again, and whatever others made in it
    meanwhile is removed; its own files are checked one by one when opened.

    Raises:
        FileNotFoundError: it does not exist and ``create`` is false.
        Unsafe: it is a link, not a directory, or someone else's.
    """
    try:
        fd = os.open(name, _DIRECTORY | _NOFOLLOW, dir_fd=parent)
    except FileNotFoundError:
        if not create:
            raise
        with contextlib.suppress(FileExistsError):  # another process made it meanwhile
            os.mkdir(name, 0o700, dir_fd=parent)
        fd = os.open(name, _DIRECTORY | _NOFOLLOW, dir_fd=parent)
    except OSError as exc:  # ELOOP: a symbolic link; ENOTDIR: a file
        raise Unsafe(f"{name} is not a directory ({exc.strerror})") from None
    try:
        status = os.fstat(fd)
        mine = stat.S_ISDIR(status.st_mode) and _owner_reason(status) is None
        if mine and stat.S_IMODE(status.st_mode) != 0o700:
            _repair(fd)
    except OSError:
        os.close(fd)
        raise
    _checked(fd, name, True, private=True)
    return fd


def _repair(top: int) -> None:
    """Make the user's directory ``top`` and every directory below it private again, and
    remove what another user made anywhere in them (files, links, directories).

    Done once, where a loosened directory is found: entries below it that this run never
    opens (a variant no longer used) would otherwise keep what others planted for good.
    """
    for _, folders, files, fd in os.fwalk(dir_fd=top):  # links listed, never followed
        os.fchmod(fd, 0o700)
        foreign = [name for name in [*folders, *files] if not _owned(fd, name)]
        for name in foreign:  # what cannot be removed is refused when opened, as before
            with contextlib.suppress(OSError):
                remove(fd, name)
        folders[:] = [name for name in folders if name not in foreign]


def _owned(parent: int, name: str) -> bool:
    """Whether entry ``name`` of ``parent`` is the user's (a vanished one counts as theirs)."""
    try:
        return os.stat(name, dir_fd=parent, follow_symlinks=False).st_uid == os.getuid()
    except FileNotFoundError:
        return True


@contextlib.contextmanager
def directory(root: int, parts: list[str], create: bool) -> Iterator[int]:
    """The descriptor of ``root/parts[0]/parts[1]/...``, each step checked; closed after.

    Raises:
        FileNotFoundError: a step does not exist and ``create`` is false.
        Unsafe: a step is a link, not a directory, or someone else's.
    """
    fd = os.dup(root)
    try:
        for part in parts:
            child = open_directory(fd, part, create)
            os.close(fd)
            fd = child
        yield fd
    finally:
        os.close(fd)


def read_file(parent: int, name: str, private: bool = False) -> bytes:
    """The bytes of regular file ``name`` in ``parent``, after ``fstat`` checks.

    Args:
        parent: the directory's descriptor.
        name: the file's name in it.
        private: refuse any group or other permission (a secret), not only write.

    Raises:
        FileNotFoundError: there is no such file.
        Unsafe: it is a link, a FIFO, a device, a directory, someone else's, writable by
            others, larger than :data:`MAX_FILE_BYTES`, or changed size while read.
    """
    try:
        fd = os.open(name, _READ, dir_fd=parent)
    except FileNotFoundError:
        raise
    except OSError as exc:  # ELOOP: a symbolic link; others (EACCES, ENXIO): unusable
        raise Unsafe(f"{name} cannot be opened safely ({exc.strerror})") from None
    status = _checked(fd, name, False, private)
    try:
        chunks = []
        remaining = status.st_size
        while remaining > 0:
            chunk = os.read(fd, remaining)
            if not chunk:
                break
            chunks.append(chunk)
            remaining -= len(chunk)
    finally:
        os.close(fd)
    if remaining:
        raise Unsafe(f"{name} changed size while it was read")
    return b"".join(chunks)


def _create(parent: int, name: str, data: bytes) -> None:
    """Make the new file ``name`` (``O_EXCL``, never through a link), mode ``0o600``."""
    fd = os.open(name, _CREATE, 0o600, dir_fd=parent)
    try:
        os.fchmod(fd, 0o600)  # the umask may have taken bits away, never added any
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    except BaseException:
        os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(name, dir_fd=parent)
        raise
    os.close(fd)


def write_file(parent: int, name: str, data: bytes) -> None:
    """Store ``data`` as ``name`` in ``parent`` atomically, mode ``0o600``.

    The bytes go to a new temporary file, which then replaces ``name`` with
    ``os.replace``, so a reader sees the old file or the new one. Whatever was at ``name``
    (a link, a FIFO, a directory) is replaced, not followed.

    Raises:
        OSError: the disk refused (the temporary file is removed).
    """
    temporary = f".{name}.{secrets.token_hex(8)}.tmp"
    _create(parent, temporary, data)
    try:
        try:
            os.replace(temporary, name, src_dir_fd=parent, dst_dir_fd=parent)
        except IsADirectoryError:
            remove(parent, name)
            os.replace(temporary, name, src_dir_fd=parent, dst_dir_fd=parent)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary, dir_fd=parent)
        raise


def remove(parent: int, name: str) -> None:
    """Remove ``name`` from ``parent``, whatever it is; a directory with its contents.

    A link is removed, never followed; missing is fine.

    Raises:
        OSError: it could not be removed.
    """
    try:
        os.unlink(name, dir_fd=parent)
    except FileNotFoundError:
        return
    except (IsADirectoryError, PermissionError):  # Linux: EISDIR; POSIX allows EPERM
        if not stat.S_ISDIR(os.stat(name, dir_fd=parent, follow_symlinks=False).st_mode):
            raise
        _remove_tree(parent, name)


if sys.version_info >= (3, 11):

    def _remove_tree(parent: int, name: str) -> None:
        shutil.rmtree(name, dir_fd=parent)  # the descriptor-based walk, no link followed

else:  # pragma: no cover - Python 3.10: rmtree has no dir_fd; the same walk by path

    def _remove_tree(parent: int, name: str) -> None:
        shutil.rmtree(os.path.join(f"/proc/self/fd/{parent}", name))


def names(parent: int) -> list[str]:
    """The entries of directory ``parent``, temporary files (``.name...``) left out, sorted."""
    with os.scandir(parent) as entries:
        return sorted(e.name for e in entries if not e.name.startswith("."))


def usage(parent: int) -> int:
    """Bytes held in the regular files below directory ``parent``; no link is followed."""
    total = 0
    for _, _, filenames, fd in os.fwalk(dir_fd=parent):
        for filename in filenames:
            with contextlib.suppress(OSError):
                status = os.stat(filename, dir_fd=fd, follow_symlinks=False)
                if stat.S_ISREG(status.st_mode):
                    total += status.st_size
    return total


def count_directories(parent: int, depth: int) -> int:
    """How many directories lie ``depth`` levels below ``parent``; no link is followed."""
    found = 0
    for top, _, _, _ in os.fwalk(dir_fd=parent):
        level = top.count(os.sep)  # "." is level 0, "./ab" level 1
        found += level == depth
    return found


def make_secret(parent: int, name: str, size: int) -> None:
    """Create file ``name`` in ``parent`` holding ``size`` random bytes, once.

    The bytes are written to a temporary file first and linked to ``name`` with ``link``,
    which fails if ``name`` exists: a reader sees no file or the whole secret, and of two
    processes creating it at once one wins and both use its secret.

    Raises:
        FileExistsError: it exists already (made by another process).
        OSError: it cannot be made.
    """
    temporary = f".{name}.{secrets.token_hex(8)}.tmp"
    _create(parent, temporary, secrets.token_bytes(size))
    try:
        os.link(temporary, name, src_dir_fd=parent, dst_dir_fd=parent, follow_symlinks=False)
    finally:
        with contextlib.suppress(OSError):
            os.unlink(temporary, dir_fd=parent)
