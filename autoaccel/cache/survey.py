"""What the cache holds: its state and counts, as ``cache info`` and ``get_cache_stats()`` show."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import Any

from autoaccel.cache.decisions import read_all
from autoaccel.cache.directory import CacheDir, cache_path, open_checked
from autoaccel.config import Config

Survey = tuple[dict[str, Any], CacheDir | None, dict[str, Any]]


def cache_info(config: Config) -> dict[str, Any]:
    """The on-disk cache that ``config`` names, as ``cache info`` shows it.

    Returns:
        ``{"path": str (absolute), "status": "in use" | "missing" | "unsafe" (``reason``
        says why) | "off" (``cache = false``), "reason": str | None, "bytes": int,
        "compiled_variants": int, "rewritten_modules": int, "decisions": {file name:
        {"module": str, "promoted": int, "rejected": int}}}``; the counts are 0 unless the
        cache is in use.
    """
    with surveyed(config) as (info, _, _):
        return info


@contextlib.contextmanager
def surveyed(config: Config) -> Iterator[Survey]:
    """:func:`cache_info`'s answer, the opened cache (when in use) and its decisions.

    The cache is closed when the ``with`` block ends. Nothing is followed out of the
    cache, and no special file (a FIFO, a device) is opened for reading, so neither can
    make it hang; the directory is not made if it does not exist.
    """
    path = cache_path(config)
    info: dict[str, Any] = {
        "path": str(path),
        "status": "in use",
        "reason": None,
        "bytes": 0,
        "compiled_variants": 0,
        "rewritten_modules": 0,
        "decisions": {},
    }
    if not config.cache:
        info["status"] = "off" if os.path.lexists(path) else "missing"
        yield info, None, {}
        return
    try:
        cache = open_checked(path, create=False)
    except FileNotFoundError:
        info["status"] = "missing"
        yield info, None, {}
        return
    except OSError as exc:
        info["status"], info["reason"] = "unsafe", str(exc).removeprefix(f"{path} ")
        yield info, None, {}
        return
    with cache:
        decisions = _count(info, cache)
        yield info, cache, decisions


def _count(info: dict[str, Any], cache: CacheDir) -> dict[str, Any]:
    """Fill ``info``'s counts from ``cache``; returns every module's decisions."""
    decisions = read_all(cache)
    info["bytes"] = cache.size()
    info["compiled_variants"] = cache.count_directories("variants", depth=2)
    info["rewritten_modules"] = len(cache.entries("code"))
    for name, saved in decisions.items():
        promoted = sum(d.promoted for d in saved.values())
        info["decisions"][name] = {
            "module": name.rsplit("-", 1)[0],
            "promoted": promoted,
            "rejected": len(saved) - promoted,
        }
    return decisions
