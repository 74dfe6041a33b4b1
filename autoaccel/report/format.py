"""The report's pieces of text, shared by the table (:mod:`~autoaccel.report.text`) and the
HTML (:mod:`~autoaccel.report.html`): which entries, their order, a reason, a promoted
variant."""

from __future__ import annotations

from typing import Any

_STATE_ORDER = {"promoted": 0, "rejected": 1, "interpreted": 2}


def report_order(entry: dict[str, Any]) -> tuple:
    """The report's order of functions: promoted first, then rejected, busiest first."""
    return (_STATE_ORDER[entry["state"]], -entry["calls"])


def shown_loops(data: dict[str, Any]) -> list[dict[str, Any]]:
    """The loops of :func:`~autoaccel.report.stats.stats` worth a row: those that ran, or
    were decided. A loop that never ran (its enclosing loop ran compiled) has nothing to say.
    """
    return [e for e in data.get("loops", ()) if e["calls"] or e["state"] != "interpreted"]


def detail(entry: dict[str, Any]) -> str:
    """A row's last column: each promoted variant, or else the reason with what to do."""
    if entry["variants"]:
        return "; ".join(map(variant_detail, entry["variants"]))
    return reason_text(entry)


def reason_text(entry: dict[str, Any], with_signature: bool = True) -> str:
    """A function's reason as the report prints it (with what to do), or ``""``.

    Args:
        entry: one function of :func:`~autoaccel.report.stats.stats`.
        with_signature: keep the ``"(float64): "`` prefix of a signature's rejection.
    """
    text = entry.get("explanation") or entry["reason"] or ""
    if not with_signature and text.startswith("(") and "): " in text:
        text = text.split("): ", 1)[1]
    return text


def variant_detail(variant: dict[str, Any]) -> str:
    """One promoted variant: signature, speed-up, targets, compile time, saved decision."""
    text = f"{variant['signature']} {variant['speedup']:.2f}x"
    if variant["candidates"]:
        gains = ", ".join(
            f"{c['target']} {c['speedup']:.2f}x"
            if c["speedup"]
            else f"{c['target']} {c['outcome']}"
            for c in variant["candidates"]
        )
        text += f" on {variant['target']} ({gains})"
    verb = "loaded" if variant["from_cache"] else "compiled"
    text += f", {verb} in {variant['compile_seconds']:.2f} s"
    return text + (" (saved decision)" if variant["saved_decision"] else "")
