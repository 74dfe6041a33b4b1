"""The explicit API's statistics: one function's decisions and variants, and the caches."""

from __future__ import annotations

import difflib
import types
from collections.abc import Callable
from typing import Any

from autoaccel.cache.survey import cache_info
from autoaccel.hook.finder import config_in_force
from autoaccel.report.stats import function_stats
from autoaccel.runtime.registry import lookup, registry
from autoaccel.runtime.table import variant_table
from autoaccel.runtime.trampoline import Trampoline


def get_specialization_stats(function: str | Callable[..., Any]) -> dict[str, Any]:
    """What autoaccel did with one function: its entry of :func:`stats`, and more.

    Args:
        function: the function object (decorated with ``@optimize`` or from a module the
            hook rewrote), or its ``"module.qualname"`` as the report names it
            (``"__main__.f"`` for a script's ``f``).

    Returns:
        ``stats()``'s entry (``name``, ``calls``, ``state``, ``reason``, ``catalogue``,
        ``variants``), where each variant also has ``"held"`` (bool: still in the variant cache),
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
    held = {e.signature: e for e in variant_table().entries() if e.owner is trampoline.promoter}
    for variant in entry["variants"]:
        table_entry = held.get(variant["signature"])
        variant["held"] = table_entry is not None
        variant["uses"] = table_entry.uses if table_entry else 0
        variant["saved_seconds"] = table_entry.saved_seconds if table_entry else 0.0
        variant["code_bytes"] = table_entry.size if table_entry else 0
    entry["evictions"] = [
        {"signature": e.signature, "reason": e.reason}
        for e in variant_table().evictions
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
    return {"memory": variant_table().stats(), "disk": cache_info(config_in_force())}
