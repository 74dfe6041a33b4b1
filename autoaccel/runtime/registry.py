"""The registry of trampolines: every one made in this process, found from its function.

Kept in :data:`autoaccel.state.STATE` (``trampolines``, ``by_id``, ``by_code``). A function
of a rewritten module holds its trampoline among its code's constants (the prologue loads
it); a statically refused one has no prologue and is found by its original code.
"""

from __future__ import annotations

import types
from collections.abc import Iterable
from typing import Any

from autoaccel.state import STATE


def register(trampolines: Iterable[Any]) -> None:
    """Make ``trampolines`` visible to :func:`registry` and :func:`lookup` (one module's)."""
    with STATE.lock:
        for trampoline in trampolines:
            STATE.trampolines.append(trampoline)
            STATE.by_id[id(trampoline)] = trampoline
            STATE.by_code[id(trampoline.code)] = trampoline


def register_loops(loops: Iterable[Any]) -> None:
    """Make one module's loop trampolines visible to :func:`loop_registry`."""
    with STATE.lock:
        STATE.loops.extend(loops)


def loop_registry() -> list[Any]:
    """Every loop trampoline created in this process, in creation order."""
    return list(STATE.loops)


def registry() -> list[Any]:
    """Every trampoline created in this process, in creation order."""
    return list(STATE.trampolines)


def lookup(function: Any) -> Any:
    """The trampoline of a function from an accelerated module, or ``None``."""
    if not isinstance(function, types.FunctionType):
        return None
    return lookup_code(function.__code__)


def lookup_code(code: types.CodeType) -> Any:
    """The trampoline of the function running ``code`` (a frame's), or ``None``."""
    for const in code.co_consts:
        found = STATE.by_id.get(id(const))
        if found is not None and found is const:
            return found
    return STATE.by_code.get(id(code))


def compile_declared(module: str) -> None:
    """Compile the declared signatures of ``module``'s functions (after its import)."""
    for trampoline in registry():
        if trampoline.module == module and trampoline.promoter.eager:
            trampoline.promoter.compile_signatures()
