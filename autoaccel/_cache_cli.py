"""``python -m autoaccel cache info`` and ``python -m autoaccel cache clear``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from autoaccel._cache import cache_path, open_cache, unsafe_reason
from autoaccel._config import load_config
from autoaccel._decisions import read_all
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


def main(argv: list[str]) -> int:
    """Run ``cache ACTION``; returns the exit status (2 for a configuration error)."""
    options = _parser().parse_args(argv)
    try:
        config = load_config(config_file=options.config, search_from=[Path.cwd()])
    except ConfigError as exc:
        print(f"autoaccel: error: {exc}", file=sys.stderr)
        return 2
    path = cache_path(config)
    if not path.exists():
        print(f"autoaccel cache: {path} (does not exist yet)")
        return 0
    reason = unsafe_reason(path)
    if reason:
        print(f"autoaccel cache: {path} {reason}; not used (see docs/caching.md)")
        return 1
    cache = open_cache(config, create=False)
    if cache is None:
        print(f"autoaccel cache: {path} is not used (cache = false)")
        return 0
    if options.action == "clear":
        freed = cache.clear()
        print(f"autoaccel cache: removed {freed / 1e6:.1f} MB from {path}")
        return 0
    print(f"autoaccel cache: {path} ({cache.size() / 1e6:.1f} MB)")
    variants = [p for p in (path / "variants").glob("*/*") if p.is_dir()]
    print(f"  compiled variants: {len(variants)}")
    print(f"  rewritten modules: {len(cache.entries('code'))}")
    for name, decisions in sorted(read_all(cache).items()):
        promoted = sum(d.promoted for d in decisions.values())
        module = name.rsplit("-", 1)[0]
        print(f"  {module}: {promoted} promoted, {len(decisions) - promoted} rejected")
        if options.verbose:
            for (qualname, _, signature), decision in sorted(decisions.items()):
                state = "promoted" if decision.promoted else "rejected"
                print(f"    {state:<9}{qualname}{signature}: {decision.reason}")
    return 0
