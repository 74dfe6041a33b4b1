"""The report's data: what autoaccel did with each function, and why.

:func:`stats` is the data behind ``--report``, ``--report-json`` and ``autoaccel.stats()``;
:mod:`autoaccel.report.text` formats it.
"""

from __future__ import annotations

from typing import Any

from autoaccel._version import __version__
from autoaccel.runtime.registry import registry
from autoaccel.runtime.trampoline import Trampoline


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
    pending = trampoline.promoter.pending_trials()
    if pending:
        return "interpreted", f"compiled, still being validated: {', '.join(pending)}"
    seen = trampoline.max_signature_calls()
    compiling = trampoline.promoter.compiling()
    if compiling or (seen >= trampoline.min_calls and trampoline.config.background_compile):
        # Handed to the background compiler: queued, running, or dropped at exit; or hot
        # while the compiler imported Numba, which comes first.
        what = ", ".join(compiling) or "waiting for Numba's import"
        return "interpreted", f"compiling in the background: {what}"
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
