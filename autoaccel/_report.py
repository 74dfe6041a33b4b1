"""The report: what autoaccel did with each function, and why, as data, a table, or JSON."""

from __future__ import annotations

import fnmatch
import json
import os
import sys
import warnings
from typing import Any, TextIO

from autoaccel._config import Config
from autoaccel._trampoline import Trampoline, registry
from autoaccel._version import __version__


def _count(counter: Any) -> int:
    # itertools.count has no public getter; its repr is documented as "count(N)".
    return int(repr(counter)[len("count(") : -1])


def _state_and_reason(trampoline: Trampoline) -> tuple[str, str | None]:
    if trampoline.promotions:
        return "promoted", None
    if trampoline.refusal:
        return "rejected", trampoline.refusal
    if trampoline.failures:
        signature, reason = list(trampoline.failures.values())[-1]
        return "rejected", f"{signature}: {reason}"
    pending = trampoline.pending_trials()
    if pending:
        return "interpreted", f"compiled, still being validated: {', '.join(pending)}"
    seen = trampoline.max_signature_calls()
    return (
        "interpreted",
        f"not hot: at most {seen} calls with one signature (min_calls {trampoline.min_calls})",
    )


def function_stats(trampoline: Trampoline) -> dict[str, Any]:
    """One function's entry of :func:`stats`."""
    state, reason = _state_and_reason(trampoline)
    return {
        "name": trampoline.name,
        "calls": _count(trampoline.calls),
        "state": state,
        "reason": reason,
        "variants": [
            {
                "signature": variant.signature,
                "target": variant.target,
                "speedup": round(variant.speedup, 3),
                "compile_seconds": round(variant.compile_seconds, 4),
                "from_cache": variant.from_cache,
                "candidates": [
                    {"target": target, "speedup": round(speedup, 3), "outcome": outcome}
                    for target, speedup, outcome in variant.candidates
                ],
            }
            for variant in trampoline.promotions
        ],
    }


def stats() -> dict[str, Any]:
    """Decisions so far for every function autoaccel rewrote in this process.

    Returns:
        ``{"autoaccel": version, "functions": [{"name": "module.qualname", "calls": int,
        "state": "promoted" | "interpreted" | "rejected", "reason": str | None,
        "variants": [{"signature": str, "target": "cpu" | "parallel" | "cuda",
        "speedup": float (ratio), "compile_seconds": float (seconds), "from_cache": bool,
        "candidates": [{"target": str, "speedup": float (ratio, 0.0 if never timed),
        "outcome": "promoted" | why not}]}]}]}``. ``candidates`` lists every target that
        competed for the signature, and is empty when ``targets`` is ``["cpu"]``.
        ``calls`` counts calls seen while the function was trampolined (a statically
        rejected or disarmed function is no longer counted).
    """
    return {"autoaccel": __version__, "functions": [function_stats(t) for t in registry()]}


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
    return text + f", compiled in {variant['compile_seconds']:.2f} s"


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
    """
    if os.getpid() != pid:
        return
    for pattern in config.modules:
        if not any(fnmatch.fnmatchcase(name, pattern) for name in finder.matched):
            warnings.warn(
                f"autoaccel: modules pattern {pattern!r} matched no imported module", stacklevel=1
            )
    write(config)
