"""The report: what autoaccel did with each function, and why, as data, a table, or JSON.

Also the statistics functions of the explicit API (:func:`get_specialization_stats`,
:func:`get_cache_stats`), which read the same data for one function or for the caches.
"""

from __future__ import annotations

import atexit
import difflib
import fnmatch
import json
import os
import sys
import types
import warnings
from collections.abc import Callable
from typing import Any, TextIO

from autoaccel._version import __version__
from autoaccel.cli.cache import cache_info
from autoaccel.config.options import Config
from autoaccel.hook.finder import config_in_force
from autoaccel.runtime.table import TABLE
from autoaccel.runtime.trampoline import Trampoline, lookup, registry


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
                "saved_decision": variant.saved_decision,
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
        "saved_decision": bool, "candidates": [{"target": str, "speedup": float (ratio,
        0.0 if never timed), "outcome": "promoted" | why not}]}]}]}``. ``candidates`` lists
        every target that competed for the signature, and is empty when ``targets`` is
        ``["cpu"]``. ``from_cache``: the variant's code was loaded from the cache;
        ``saved_decision``: it was promoted on a previous run's decision, without a trial
        (``speedup`` and ``candidates`` are then as measured in that run).
        ``calls`` counts calls seen while the function was trampolined (a statically
        rejected or disarmed function is no longer counted). Functions decorated with
        ``@optimize(profile=False)`` are left out.
    """
    functions = [function_stats(t) for t in registry() if t.reported]
    return {"autoaccel": __version__, "functions": functions}


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
            warnings.warn(
                f"autoaccel: modules pattern {pattern!r} matched no imported module", stacklevel=1
            )
    write(config)


_SCHEDULED: set[tuple[bool, str | None]] = set()


def report_at_exit(config: Config) -> None:
    """Write the report ``config`` asks for at exit, once per destination and process.

    For programs that use ``@optimize`` without the import hook (the hook schedules its own).
    """
    destination = (config.report, config.report_json)
    if not any(destination) or destination in _SCHEDULED:
        return
    _SCHEDULED.add(destination)
    atexit.register(emit_at_exit, config, None, os.getpid())


def get_specialization_stats(function: str | Callable[..., Any]) -> dict[str, Any]:
    """What autoaccel did with one function: its entry of :func:`stats`, and more.

    Args:
        function: the function object (decorated with ``@optimize`` or from a module the
            hook rewrote), or its ``"module.qualname"`` as the report names it
            (``"__main__.f"`` for a script's ``f``).

    Returns:
        ``stats()``'s entry (``name``, ``calls``, ``state``, ``reason``, ``variants``),
        where each variant also has ``"held"`` (bool: still in the variant cache),
        ``"uses"`` (calls it served), ``"saved_seconds"`` (time its trial measured it to
        save per call, seconds) and ``"code_bytes"``; plus ``"evictions"``: [{``signature``,
        ``reason``}] of the variants the cache dropped, and ``"specializations"``: the same
        entries (without these extras) for its value-specialized variants
        (``"m.f[mode='EMA']"``).

    Raises:
        KeyError: autoaccel has no such function; the message says what it knows.
    """
    trampoline = _find(function)
    entry = function_stats(trampoline)
    held = {e.signature: e for e in TABLE.entries() if e.owner is trampoline}
    for variant in entry["variants"]:
        table_entry = held.get(variant["signature"])
        variant["held"] = table_entry is not None
        variant["uses"] = table_entry.uses if table_entry else 0
        variant["saved_seconds"] = table_entry.saved_seconds if table_entry else 0.0
        variant["code_bytes"] = table_entry.size if table_entry else 0
    entry["evictions"] = [
        {"signature": e.signature, "reason": e.reason}
        for e in TABLE.evictions
        if e.family == trampoline.family
    ]
    entry["specializations"] = [
        function_stats(t) for t in registry() if getattr(t, "parent", None) is trampoline
    ]
    return entry


def _find(function: str | Callable[..., Any]) -> Trampoline:
    """The trampoline of ``function`` (a function or its name); the newest of one name."""
    if not isinstance(function, str):
        found = lookup(function) if isinstance(function, types.FunctionType) else None
        if found is None:
            raise KeyError(
                f"{function!r} is not accelerated by autoaccel: decorate it with "
                "@autoaccel.optimize or select its module in the configuration"
            )
        return found
    named = [t for t in registry() if t.name == function]
    if not named:
        names = list(dict.fromkeys(t.name for t in registry()))
        close = difflib.get_close_matches(function, names, n=3)
        hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
        raise KeyError(
            f"autoaccel has no function named {function!r} (names are 'module.qualname', as "
            f"in the report){hint}"
        )
    return named[-1]


def get_cache_stats() -> dict[str, Any]:
    """The in-memory variant cache and the on-disk cache, in numbers.

    Returns:
        ``{"memory": {"variants": int (promoted variants held), "functions": int,
        "memory_bytes": int (their machine code), "calls_served": int, "evictions": int
        (so far in this process), "policy": str, "max_variants": int (per function),
        "max_memory_mb": float (MiB), "ttl_seconds": float}, "disk": {"path": str,
        "status": "in use" | "missing" | "unsafe" | "off", "reason": str | None,
        "bytes": int, "compiled_variants": int, "rewritten_modules": int, "decisions":
        {file: {"module": str, "promoted": int, "rejected": int}}}}``. The disk part is that
        of the configuration in force (the installed hook's, else the discovered one).

    Raises:
        ConfigError: no hook is installed and the discovered configuration is invalid.
    """
    return {"memory": TABLE.stats(), "disk": cache_info(config_in_force())}
