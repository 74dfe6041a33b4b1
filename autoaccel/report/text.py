"""The report as people read it: a table on stderr, a JSON file, written at exit."""

from __future__ import annotations

import atexit
import fnmatch
import json
import os
import sys
import warnings
from typing import Any, TextIO

from autoaccel.config import Config
from autoaccel.report.format import reason_text, report_order, variant_detail
from autoaccel.report.html import page
from autoaccel.report.stats import stats
from autoaccel.state import STATE


def format_table(data: dict[str, Any]) -> str:
    """The report as a plain-text table, promoted functions first.

    Columns: the function, its calls counted while armed, its state, the seconds its
    variants took to compile (or load) and its trial calls took, and the detail: each
    promoted variant, or the reason with what to do.
    """
    lines = [
        f"autoaccel {data['autoaccel']} report",
        f"{'function':<44} {'armed calls':>11}  {'state':<12} {'compile s':>9} {'trial s':>8}"
        "  detail",
    ]
    for entry in sorted(data["functions"], key=report_order):
        if entry["variants"]:
            detail = "; ".join(map(variant_detail, entry["variants"]))
        else:
            detail = reason_text(entry)
        lines.append(
            f"{entry['name']:<44} {entry['calls']:>11}  {entry['state']:<12}"
            f" {entry['compile_seconds']:>9.2f} {entry['trial_seconds']:>8.2f}  {detail}"
        )
    return "\n".join(lines)


def write(config: Config, stream: TextIO | None = None) -> None:
    """Print the table and/or write the JSON file and the HTML page that ``config`` asks for."""
    data = stats()
    if config.report:
        print(format_table(data), file=stream or sys.stderr)
    if config.report_json:
        with open(config.report_json, "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=2)
            handle.write("\n")
    if config.report_html:
        with open(config.report_html, "w", encoding="utf-8") as handle:
            handle.write(page(data))


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
            warnings.warn(
                f"autoaccel: modules pattern {pattern!r} matched no imported module", stacklevel=1
            )
    write(config)


def report_at_exit(config: Config) -> None:
    """Write the report ``config`` asks for at exit, once per destination and process.

    For programs that use ``@optimize`` without the import hook (the hook schedules its own).
    """
    destination = (config.report, config.report_json, config.report_html)
    if not any(destination) or destination in STATE.reports_scheduled:
        return
    STATE.reports_scheduled.add(destination)
    atexit.register(emit_at_exit, config, None, os.getpid())
