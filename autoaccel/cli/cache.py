"""``python -m autoaccel cache info`` and ``python -m autoaccel cache clear``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from autoaccel.cache.survey import surveyed
from autoaccel.config import load_config
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
    with surveyed(config) as (info, cache, decisions):
        return _act(options, info, cache, decisions)


def _act(options: argparse.Namespace, info: dict, cache: Any, decisions: dict) -> int:
    """Show or clear the surveyed cache; returns the exit status."""
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
