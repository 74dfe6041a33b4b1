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
from autoaccel.report.format import detail, report_order, shown_loops
from autoaccel.report.html import page
from autoaccel.report.stats import stats
from autoaccel.state import STATE


def format_table(data: dict[str, Any]) -> str:
    """The report as a plain-text table: functions, then loops; promoted ones first.

    Columns: the function (or loop), its calls counted while armed (a loop's runs), its
    state, the seconds its variants took to compile (or load) and its trial took, and the
    detail: each promoted variant, or the reason with what to do.

    Args:
        data: what :func:`~autoaccel.report.stats.stats` returns.

    Returns:
        The table as text, a line per function and loop.
    """
    lines = [
        f"autoaccel {data['autoaccel']} report",
        _header("function", "armed calls"),
        *_rows(data["functions"]),
    ]
    loops = shown_loops(data)
    if loops:
        lines += [_header("loop", "runs"), *_rows(loops)]
    return "\n".join(lines)


def _header(what: str, counted: str) -> str:
    return f"{what:<44} {counted:>11}  {'state':<12} {'compile s':>9} {'trial s':>8}  detail"


def _rows(entries: list[dict[str, Any]]) -> list[str]:
    return [
        f"{entry['name']:<44} {entry['calls']:>11}  {entry['state']:<12}"
        f" {entry['compile_seconds']:>9.2f} {entry['trial_seconds']:>8.2f}  {detail(entry)}"
        for entry in sorted(entries, key=report_order)
    ]


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
    destination = (config.report, config.report_json, config.report_html)
    if not any(destination) or destination in STATE.reports_scheduled:
        return
    STATE.reports_scheduled.add(destination)
    atexit.register(emit_at_exit, config, None, os.getpid())
