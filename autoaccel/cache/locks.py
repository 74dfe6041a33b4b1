"""A cross-process lock per variant, so that processes sharing a cache compile it once.

Why this design: workers of one host (Dask or Ray workers, ``multiprocessing`` children)
share the cache directory, and they tend to reach the same hot signature at the same time.
Without a lock each compiles it (measured in docs/distributed.md: 5 of 6 variants compiled
by both workers of a 2-worker cluster). With one, the first compiles and saves, and the
others wait and then load the saved variant, which takes a fraction of a compile. The lock
is ``fcntl.flock`` on a file beside the variant's entry (as pip and Numba's own cache
locking do with lock files): the kernel releases it when its holder exits or crashes, so a
lock is never left behind. Waiting is bounded: after ``timeout`` seconds the caller compiles
without it. Where ``fcntl`` does not exist (Windows), nothing is locked.
"""

from __future__ import annotations

import contextlib
import logging
import os
import stat
import time
from collections.abc import Iterator
from pathlib import Path

try:
    import fcntl
except ImportError:  # pragma: no cover - not on POSIX
    fcntl = None  # type: ignore[assignment]

logger = logging.getLogger("autoaccel")

_POLL_SECONDS = 0.02


@contextlib.contextmanager
def held(path: Path, timeout: float = 300.0) -> Iterator[bool]:
    """Hold the exclusive lock on ``path`` (created if missing) for the ``with`` block.

    Args:
        path: the lock file.
        timeout: the longest wait for another holder, in seconds.

    Yields:
        Whether the lock is held; ``False`` after ``timeout``, when the file cannot be made,
        or without ``fcntl``: the block then runs unlocked, which is only slower.
    """
    handle = _open(path) if fcntl is not None else None
    if handle is None:
        yield False
        return
    try:
        started = time.monotonic()
        acquired = _acquire(handle, started + timeout)
        waited = time.monotonic() - started
        if waited >= _POLL_SECONDS:
            logger.info("cache: waited %.2f s for another process holding %s", waited, path.name)
        yield acquired
    finally:
        os.close(handle)  # closing releases the lock


def _open(path: Path) -> int | None:
    """A descriptor of the lock file, or ``None`` (unlocked): a link, a FIFO or a device
    put in its place is neither followed, nor waited on, nor locked."""
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        handle = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK, 0o600)
    except OSError as exc:
        logger.info("cache: no lock file %s: %r", path, exc)
        return None
    if not stat.S_ISREG(os.fstat(handle).st_mode):
        logger.info("cache: %s is not a regular file; compiling unlocked", path)
        os.close(handle)
        return None
    return handle


def _acquire(handle: int, deadline: float) -> bool:
    while True:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if time.monotonic() >= deadline:
                return False
            time.sleep(_POLL_SECONDS)
        except OSError:  # a file system without locks: run unlocked
            return False
