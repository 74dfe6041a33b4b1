"""The report as HTML: a table for notebooks, and a self-contained page (``--report-html``).

Why this design: the page must open anywhere, offline and years later, so it carries
everything inline (CSS in a ``<style>`` element, the chart as inline SVG) and loads no
script, font or image. Every value from the program (function names, reasons) is escaped
with :func:`html.escape`.
"""

from __future__ import annotations

import html
import re
from collections import defaultdict
from typing import Any

from autoaccel.report.format import detail, reason_text, report_order, shown_loops

_STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em; color: #222; }
table.autoaccel { border-collapse: collapse; }
table.autoaccel th, table.autoaccel td { padding: 3px 10px; border-bottom: 1px solid #ddd;
  text-align: left; vertical-align: top; }
table.autoaccel th { white-space: nowrap; }
table.autoaccel td.num { text-align: right; font-variant-numeric: tabular-nums; }
.promoted { color: #176b2c; } .rejected { color: #a3261b; } .interpreted { color: #666; }
svg text { font: 12px system-ui, sans-serif; }
li { margin-bottom: .4em; }
"""
_LINE = re.compile(r" \((line \d+)\)")
_BAR_HEIGHT = 22
_LABEL_WIDTH = 420
_CHART_WIDTH = 360


def _cell(value: Any, css: str = "") -> str:
    attribute = f' class="{css}"' if css else ""
    return f"<td{attribute}>{html.escape(str(value))}</td>"


def _entries(data: dict[str, Any]) -> list[dict[str, Any]]:
    return [*data["functions"], *shown_loops(data)]


def table_html(data: dict[str, Any]) -> str:
    """The report's table as an HTML ``<table>``: functions, then loops; promoted first.

    Args:
        data: :func:`autoaccel.stats`'s answer.
    """
    rows = []
    for entry in [
        *sorted(data["functions"], key=report_order),
        *sorted(shown_loops(data), key=report_order),
    ]:
        rows.append(
            "<tr>"
            + _cell(entry["name"])
            + _cell(entry["calls"], "num")
            + _cell(entry["state"], entry["state"])
            + _cell(f"{entry['compile_seconds']:.3f}", "num")
            + _cell(f"{entry['trial_seconds']:.3f}", "num")
            + _cell(detail(entry))
            + "</tr>"
        )
    header = "".join(
        f"<th>{name}</th>"
        for name in (
            "function or loop",
            "armed calls (runs)",
            "state",
            "compile s",
            "trial s",
            "detail",
        )
    )
    return f'<table class="autoaccel"><tr>{header}</tr>{"".join(rows)}</table>'


def speedup_chart(data: dict[str, Any]) -> str:
    """An inline SVG bar chart: one bar per promoted variant, its measured speed-up.

    A dashed line marks 1x (as fast as CPython). Empty string when nothing was promoted.
    """
    bars = [
        (f"{entry['name']}{variant['signature']}", variant["speedup"])
        for entry in _entries(data)
        for variant in entry["variants"]
    ]
    if not bars:
        return ""
    bars.sort(key=lambda bar: -bar[1])
    scale = _CHART_WIDTH / max(max(speedup for _, speedup in bars), 1.0)
    parts = []
    for index, (label, speedup) in enumerate(bars):
        y = index * _BAR_HEIGHT
        width = max(speedup * scale, 1.0)
        parts.append(
            f'<text x="{_LABEL_WIDTH - 6}" y="{y + 15}" text-anchor="end">'
            f"{html.escape(_shorten(label))}</text>"
            f'<rect x="{_LABEL_WIDTH}" y="{y + 3}" width="{width:.1f}" height="{_BAR_HEIGHT - 6}"'
            ' fill="#3b7dd8"><title>'
            f"{html.escape(label)}: {speedup:.2f}x</title></rect>"
            f'<text x="{_LABEL_WIDTH + width + 4:.1f}" y="{y + 15}">{speedup:.2f}x</text>'
        )
    height = len(bars) * _BAR_HEIGHT
    one = _LABEL_WIDTH + scale
    parts.append(
        f'<line x1="{one:.1f}" y1="0" x2="{one:.1f}" y2="{height}" stroke="#a3261b"'
        ' stroke-dasharray="4 3"><title>1x: as fast as CPython</title></line>'
    )
    width = _LABEL_WIDTH + _CHART_WIDTH + 60
    return (
        f'<svg class="speedups" xmlns="http://www.w3.org/2000/svg" width="{width}"'
        f' height="{height}" role="img" aria-label="speed-up per promoted function">'
        + "".join(parts)
        + "</svg>"
    )


def _shorten(label: str, limit: int = 60) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "\u2026"


def grouped_reasons(data: dict[str, Any]) -> dict[str, list[str]]:
    """Reason -> the rejected functions (with the line, where known), most common first.

    Reasons that differ only in their signature or line form one group.
    """
    groups: dict[str, list[str]] = defaultdict(list)
    for entry in _entries(data):
        if entry["state"] == "rejected":
            reason = reason_text(entry, with_signature=False)
            line = _LINE.search(reason)
            name = entry["name"] + (f" ({line.group(1)})" if line else "")
            groups[_LINE.sub("", reason)].append(name)
    return dict(sorted(groups.items(), key=lambda item: (-len(item[1]), item[0])))


def page(data: dict[str, Any], title: str = "autoaccel report") -> str:
    """The whole report as one self-contained HTML document (``--report-html``).

    Args:
        data: :func:`autoaccel.stats`'s answer.
        title: the page's title.
    """
    counts = {state: 0 for state in ("promoted", "rejected", "interpreted")}
    for entry in _entries(data):
        counts[entry["state"]] += 1
    summary = ", ".join(f"{count} {state}" for state, count in counts.items())
    chart = speedup_chart(data)
    reasons = "".join(
        f"<li>{html.escape(reason)}<br><small>{html.escape(', '.join(names))}</small></li>"
        for reason, names in grouped_reasons(data).items()
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head><body>"
        f"<h1>{html.escape(title)}</h1>"
        f"<p>autoaccel {html.escape(str(data['autoaccel']))}: {summary}.</p>"
        + (f"<h2>Speed-ups of promoted functions</h2>{chart}" if chart else "")
        + f"<h2>Functions and loops</h2>{table_html(data)}"
        + (
            f'<h2>Why functions and loops were rejected</h2><ul class="reasons">{reasons}</ul>'
            if reasons
            else ""
        )
        + "</body></html>\n"
    )
