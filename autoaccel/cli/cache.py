"""``python -m autoaccel cache info`` and ``python -m autoaccel cache clear``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from autoaccel.cache.decisions import read_all
from autoaccel.cache.directory import CacheDir, cache_path, open_cache, unsafe_reason
from autoaccel.config.options import Config, load_config
from autoaccel.errors import ConfigError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m autoaccel cache",
        description="Show or empty autoaccel's cache of compiled variants, decisions and "
        "rewritten module code (see docs/caching.md).",
    )
    parser.add_argument("action", choices=["info", "clear"])
    parser.add_argument(
        "--config", type=Path, metavar="FILE", help="configuration file naming cache_dir"
    )
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="info: list every saved decision"
    )
    return parser


_NOT_IN_USE = {
    "missing": "(does not exist yet)",
    "unsafe": "{reason}; not used (see docs/caching.md)",
    "off": "is not used (cache = false)",
}


def main(argv: list[str]) -> int:
    """Run ``cache ACTION``; returns the exit status (2 for a configuration error)."""
    options = _parser().parse_args(argv)
    try:
        config = load_config(config_file=options.config, search_from=[Path.cwd()])
    except ConfigError as exc:
        print(f"autoaccel: error: {exc}", file=sys.stderr)
        return 2
    info, cache, decisions = _survey(config)
    path = info["path"]
    if cache is None:
        print(f"autoaccel cache: {path} {_NOT_IN_USE[info['status']].format(**info)}")
        return 1 if info["status"] == "unsafe" else 0
    if options.action == "clear":
        freed = cache.clear()
        print(f"autoaccel cache: removed {freed / 1e6:.1f} MB from {path}")
        return 0
    print(f"autoaccel cache: {path} ({info['bytes'] / 1e6:.1f} MB)")
    print(f"  compiled variants: {info['compiled_variants']}")
    print(f"  rewritten modules: {info['rewritten_modules']}")
    for name, counts in sorted(info["decisions"].items()):
        print(f"  {counts['module']}: {counts['promoted']} promoted, {counts['rejected']} rejected")
        if options.verbose:
            for (qualname, _, signature), decision in sorted(decisions[name].items()):
                state = "promoted" if decision.promoted else "rejected"
                print(f"    {state:<9}{qualname}{signature}: {decision.reason}")
    return 0


def cache_info(config: Config) -> dict[str, Any]:
    """The on-disk cache that ``config`` names, as ``cache info`` shows it.

    Returns:
        ``{"path": str (absolute), "status": "in use" | "missing" | "unsafe" (``reason``
        says why) | "off" (``cache = false``), "reason": str | None, "bytes": int,
        "compiled_variants": int, "rewritten_modules": int, "decisions": {file name:
        {"module": str, "promoted": int, "rejected": int}}}``; the counts are 0 unless the
        cache is in use.
    """
    return _survey(config)[0]


def _survey(config: Config) -> tuple[dict[str, Any], CacheDir | None, dict[str, Any]]:
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
