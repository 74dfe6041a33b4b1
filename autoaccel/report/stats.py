"""The report's data: what autoaccel did with each function, and why.

:func:`stats` is the data behind ``--report``, ``--report-json`` and ``autoaccel.stats()``;
:mod:`autoaccel.report.text` formats it.
"""

from __future__ import annotations

import re
from typing import Any

from autoaccel._version import __version__
from autoaccel.backends import background
from autoaccel.report.reasons import readable
from autoaccel.runtime.keys import describe_types
from autoaccel.runtime.loop import LoopTrampoline
from autoaccel.runtime.registry import loop_registry, registry
from autoaccel.runtime.trampoline import Trampoline

CATALOGUE = "docs/divergences.md"
# The row a reason cites: `` [27]``, not an index such as ``a[0]``.
_ROW_TAG = re.compile(r"(?:^|\s)\[(\d+)\]")


def catalogue_link(reason: str | None) -> str | None:
    """The row of the catalogue that a reason cites, as a link: ``"docs/divergences.md#row-27"``.

    Reasons end with the row of docs/divergences.md they guard against in brackets (a saved
    decision's adds ``(saved decision)`` after it); the last such tag is the reason's own.

    Args:
        reason: a refusal or rejection reason, or ``None``.

    Returns:
        The link, or ``None`` when the reason cites no row.
    """
    rows = _ROW_TAG.findall(reason or "")
    return f"{CATALOGUE}#row-{rows[-1]}" if rows else None


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
    if trampoline.bound_forms is not None:
        return "interpreted", trampoline.bound_forms.described()
    promoter = trampoline.promoter
    # Signatures compiled whose trial has not concluded (too few calls so far).
    pending = [trial.signature for trial in list(promoter.trials.values())]
    if pending:
        return "interpreted", f"compiled, still being validated: {', '.join(pending)}"
    admission = trampoline.promoter.admission
    inlined = admission.caller_reason()
    if inlined:
        return "interpreted", inlined
    if promoter.calls_in_trials:  # runtime/promoter.py, _IN_TRIAL
        return "interpreted", (
            f"hot only inside other functions' trial calls ({promoter.calls_in_trials} "
            "calls), which compile it with them"
        )
    seconds = admission.python_seconds()
    if seconds is not None:
        return (
            "interpreted",
            f"not hot: its calls took about {seconds:.3f} s in Python ({admission.threshold()[1]})",
        )
    seen = trampoline.signature_calls()
    # Argument types whose compile the background compiler has not finished.
    queued = [k for k in list(promoter.queued) if background.is_pending((id(promoter), k))]
    compiling = [describe_types(key.types) for key in queued]
    if compiling or (seen >= trampoline.min_calls and trampoline.config.background_compile):
        # Handed to the background compiler: queued, running, or dropped at exit; or hot
        # while the compiler imported Numba, which comes first.
        what = ", ".join(compiling) or "waiting for Numba's import"
        return "interpreted", f"compiling in the background: {what}"
    return (
        "interpreted",
        f"not hot: at most {seen} call{'' if seen == 1 else 's'} with one signature "
        f"(min_calls {trampoline.min_calls})",
    )


def function_stats(trampoline: Trampoline) -> dict[str, Any]:
    """One function's entry of :func:`stats`."""
    state, reason = _state_and_reason(trampoline)
    promoter = trampoline.promoter
    return {
        "name": trampoline.name,
        "kind": "function",
        "calls": _count(trampoline.calls),
        "state": state,
        "reason": reason,
        "catalogue": catalogue_link(reason),
        "explanation": readable(reason) if reason else None,
        "compile_seconds": round(promoter.compile_seconds, 4),
        "trial_seconds": round(promoter.trial_seconds, 4),
        "variants": _variants(trampoline.promotions),
    }


def loop_stats(loop: LoopTrampoline) -> dict[str, Any]:
    """One loop's entry of :func:`stats` (``calls`` counts the runs of the loop)."""
    if loop.promotions:
        state, reason = "promoted", None
    elif loop.refusal or loop.failures:
        failure = list(loop.failures.values())[-1] if loop.failures else None
        state, reason = "rejected", loop.refusal or (failure.reason if failure else None)
    elif loop.trial.pending is not None:
        state, reason = "interpreted", "compiled, still being validated"
    else:
        state = "interpreted"
        reason = f"not hot: {loop.seconds:.3f} s in Python ({loop.threshold()[1]})"
    return {
        "name": loop.name,
        "kind": "loop",
        "calls": loop.runs,
        "iterations": loop.iterations,
        "state": state,
        "reason": reason,
        "catalogue": catalogue_link(reason),
        "explanation": readable(reason) if reason else None,
        "compile_seconds": round(loop.trial.compile_seconds, 4),
        "trial_seconds": round(loop.trial.trial_seconds, 4),
        "variants": _variants(loop.promotions),
    }


def _variants(promotions: list) -> list[dict[str, Any]]:
    return [
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
        for variant in promotions
    ]


def stats() -> dict[str, Any]:
    """Decisions so far for every function autoaccel rewrote in this process.

    Returns:
        ``{"autoaccel": version, "functions": [{"name": "module.qualname", "calls": int,
        "state": "promoted" | "interpreted" | "rejected", "reason": str | None,
        "catalogue": str | None, "explanation": str | None, "compile_seconds": float
        (seconds), "trial_seconds": float (seconds), "variants": [{"signature": str,
        "target": "cpu" | "parallel" | "cuda", "speedup": float (ratio), "compile_seconds":
        float (seconds), "from_cache": bool, "saved_decision": bool, "candidates":
        [{"target": str, "speedup": float (ratio, 0.0 if never timed), "outcome":
        "promoted" | why not}]}]}], "loops": [...]}``. ``candidates`` lists
        every target that competed for the signature, and is empty when ``targets`` is
        ``["cpu"]``. ``from_cache``: the variant's code was loaded from the cache;
        ``saved_decision``: it was promoted on a previous run's decision, without a trial
        (``speedup`` and ``candidates`` are then as measured in that run).
        ``catalogue`` links the row of docs/divergences.md that the reason cites
        (``"docs/divergences.md#row-27"`` for a reason ending in ``[27]``), else ``None``.
        ``reason`` is the engine's reason; ``explanation`` the same with what to do and the
        docs/reasons.md entry, as the report prints it. ``calls`` counts calls seen while
        the function was armed: a statically refused function counts none, and a rejected
        one stops counting once it is disarmed (counting there would cost every call of
        it; docs/performance.md). ``compile_seconds`` is the time spent compiling or
        loading the function's variants (rejected ones included) and ``trial_seconds`` the
        wall time of its trial calls (both versions run): what this run paid for it.
        Functions decorated with ``@optimize(profile=False)`` are left out. ``"loops"``
        lists the loops of the rewritten modules the same way (see :func:`loop_stats`),
        with ``"calls"`` the runs of the loop and ``"iterations"`` those Python ran before
        deciding (approximate).
    """
    functions = [function_stats(t) for t in registry() if t.reported]
    loops = [loop_stats(loop) for loop in loop_registry() if loop.reported]
    return {"autoaccel": __version__, "functions": functions, "loops": loops}
