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
from autoaccel.report.stats import CATALOGUE, stats
from autoaccel.state import STATE


def format_table(data: dict[str, Any]) -> str:
    """The report as a plain-text table: functions, then loops; promoted ones first.

    Args:
        data: what :func:`~autoaccel.report.stats.stats` returns.

    Returns:
        The table as text, a line per function and loop; when a reason cites a row of the
        catalogue (``[27]``), a last line says where the rows are.
    """
    lines = [
        f"autoaccel {data['autoaccel']} report",
        f"{'function':<44} {'calls':>9}  state        detail",
        *_rows(data["functions"]),
    ]
    # A loop that never ran (its enclosing loop ran compiled) has nothing to say.
    loops = [e for e in data.get("loops", ()) if e["calls"] or e["state"] != "interpreted"]
    if loops:
        lines += [f"{'loop':<44} {'runs':>9}  state        detail", *_rows(loops)]
    if any(entry.get("catalogue") for entry in [*data["functions"], *loops]):
        lines.append(f"[N]: row N of {CATALOGUE}, where Numba and CPython answer differently")
    return "\n".join(lines)


def _rows(entries: list[dict[str, Any]]) -> list[str]:
    order = {"promoted": 0, "rejected": 1, "interpreted": 2}
    lines = []
    for entry in sorted(entries, key=lambda f: (order[f["state"]], -f["calls"])):
        if entry["variants"]:
            detail = "; ".join(map(_variant_detail, entry["variants"]))
        else:
            detail = entry["reason"] or ""
        lines.append(f"{entry['name']:<44} {entry['calls']:>9}  {entry['state']:<12} {detail}")
    return lines


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
            warnings.warn(
                f"autoaccel: modules pattern {pattern!r} matched no imported module", stacklevel=1
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
