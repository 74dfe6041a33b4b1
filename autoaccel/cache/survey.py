"""What the cache holds: its state and counts, as ``cache info`` and ``get_cache_stats()`` show."""

from __future__ import annotations

from typing import Any

from autoaccel.cache.decisions import read_all
from autoaccel.cache.directory import CacheDir, cache_path, open_cache, unsafe_reason
from autoaccel.config import Config


def cache_info(config: Config) -> dict[str, Any]:
    """The on-disk cache that ``config`` names, as ``cache info`` shows it.

    Returns:
        ``{"path": str (absolute), "status": "in use" | "missing" | "unsafe" (``reason``
        says why) | "off" (``cache = false``), "reason": str | None, "bytes": int,
        "compiled_variants": int, "rewritten_modules": int, "decisions": {file name:
        {"module": str, "promoted": int, "rejected": int}}}``; the counts are 0 unless the
        cache is in use.
    """
    return survey(config)[0]


def survey(config: Config) -> tuple[dict[str, Any], CacheDir | None, dict[str, Any]]:
    """:func:`cache_info`'s answer, the opened cache (when in use) and its decisions."""
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
    if not path.exists():
        info["status"] = "missing"
        return info, None, {}
    info["reason"] = unsafe_reason(path)
    cache = None if info["reason"] else open_cache(config, create=False)
    if cache is None:
        info["status"] = "unsafe" if info["reason"] else "off"
        return info, None, {}
    decisions = read_all(cache)
    info["bytes"] = cache.size()
    info["compiled_variants"] = sum(p.is_dir() for p in (path / "variants").glob("*/*"))
    info["rewritten_modules"] = len(cache.entries("code"))
    for name, saved in decisions.items():
        promoted = sum(d.promoted for d in saved.values())
        info["decisions"][name] = {
            "module": name.rsplit("-", 1)[0],
            "promoted": promoted,
            "rejected": len(saved) - promoted,
        }
    return info, cache, decisions
