"""The report as people read it: a table on stderr, a JSON file, written at exit."""

from __future__ import annotations

import atexit
import fnmatch
import json
import os
import sys
from typing import Any, TextIO

from autoaccel.config import Config
from autoaccel.config.parsing import key_line
from autoaccel.errors import warn
from autoaccel.report.stats import stats
from autoaccel.state import STATE


def format_table(data: dict[str, Any]) -> str:
    """The report as a plain-text table, promoted functions first."""
    order = {"promoted": 0, "rejected": 1, "interpreted": 2}
    rows = sorted(data["functions"], key=lambda f: (order[f["state"]], -f["calls"]))
    lines = [
        f"autoaccel {data['autoaccel']} report",
        f"{'function':<44} {'calls':>9}  state        detail",
    ]
    for entry in rows:
        if entry["variants"]:
            detail = "; ".join(map(_variant_detail, entry["variants"]))
        else:
            detail = entry["reason"] or ""
        lines.append(f"{entry['name']:<44} {entry['calls']:>9}  {entry['state']:<12} {detail}")
    return "\n".join(lines)


def _variant_detail(variant: dict[str, Any]) -> str:
    text = f"{variant['signature']} {variant['speedup']:.2f}x"
    if variant["candidates"]:
        gains = ", ".join(
            f"{c['target']} {c['speedup']:.2f}x"
            if c["speedup"]
            else f"{c['target']} {c['outcome']}"
            for c in variant["candidates"]
        )
        text += f" on {variant['target']} ({gains})"
    text += f", compiled in {variant['compile_seconds']:.2f} s"
    return text + (" (saved decision)" if variant["saved_decision"] else "")


def write(config: Config, stream: TextIO | None = None) -> None:
    """Print the table and/or write the JSON file that ``config`` asks for."""
    data = stats()
    if config.report:
        print(format_table(data), file=stream or sys.stderr)
    if config.report_json:
        with open(config.report_json, "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=2)
            handle.write("\n")


def emit_at_exit(config: Config, finder: Any, pid: int) -> None:
    """The exit handler: warn about patterns that selected nothing, then write the report.

    ``pid`` is the process that installed the hook. A child made by ``os.fork`` inherits the
    handler; it does nothing there, so the child never overwrites the parent's report.
    ``finder`` is ``None`` for a report that ``@optimize`` asked for without a hook.
    """
    if os.getpid() != pid:
        return
    for pattern in config.modules if finder is not None else ():
        if not any(fnmatch.fnmatchcase(name, pattern) for name in finder.matched):
            warn(
                f"autoaccel: modules pattern {pattern!r} matched no imported module",
                filename=str(config.source or ""),
                lineno=key_line(config.source, "modules"),
            )
    write(config)


def report_at_exit(config: Config) -> None:
    """Write the report ``config`` asks for at exit, once per destination and process.

    For programs that use ``@optimize`` without the import hook (the hook schedules its own).
    """
    destination = (config.report, config.report_json)
    if not any(destination) or destination in STATE.reports_scheduled:
        return
    STATE.reports_scheduled.add(destination)
    atexit.register(emit_at_exit, config, None, os.getpid())
