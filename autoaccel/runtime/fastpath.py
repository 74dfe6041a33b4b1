"""Which code serves a trampoline's calls: the C fast path, or the Python one.

Why this design: every call of a rewritten function goes through
:meth:`~autoaccel.runtime.trampoline.Trampoline.enter`, so its cost is what a promoted call
pays on top of Numba's compiled code (~940 ns in Python). ``autoaccel/runtime/_fastpath.c``,
built at install where a C compiler exists (``setup.py``; an optional extension, so a failed
build leaves a working install), does the common cases in C: it keys the call by its
argument types, finds the validated overload and calls Numba's compiled entry point directly,
with the guards of :meth:`~autoaccel.runtime.variant.Variant.run` (frozen globals watched by
dict watchers on CPython 3.12+ and dict version tags before, NumPy's error state, result
adapters, ambiguous result types), and counts calls before promotion. It hands every other
case to the Python methods, which stay the one place where decisions are made, and which
serve all calls when the extension is absent. docs/how-it-works.md, "The trampoline prologue",
says what is done where.

This module is the one interface between the two: the base classes of ``Trampoline``
(:data:`Dispatch`) and ``Variant`` (:data:`VariantBase`), the :data:`CLOCK` of uses, and the
setting that forces the Python path (``AUTOACCEL_PURE_PYTHON=1``, read at import; the test
suite runs both ways).
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable
from types import ModuleType
from typing import TYPE_CHECKING, Any

from autoaccel.errors import ConfigError

PURE_PYTHON = "AUTOACCEL_PURE_PYTHON"


def _native() -> ModuleType | None:
    """The C extension, or ``None`` when forced off, not built, or not importable.

    Raises:
        ConfigError: ``AUTOACCEL_PURE_PYTHON`` holds something other than 0/1/true/false.
    """
    raw = os.environ.get(PURE_PYTHON, "").strip().lower()
    if raw not in ("", "0", "1", "true", "false", "yes", "no", "on", "off"):
        raise ConfigError(
            f"environment variable {PURE_PYTHON}={raw!r}: expected 1 (use the Python fast "
            "path) or 0 (the C one where it is built)"
        )
    if raw in ("1", "true", "yes", "on"):
        return None
    try:
        from autoaccel.runtime import _fastpath  # type: ignore[attr-defined]
    except ImportError:  # built without a C compiler, or for another Python
        return None
    return _fastpath


NATIVE: Any = _native()


class PythonDispatch:
    """The Python path's base of ``Trampoline``: its attributes are plain instance ones."""


class PythonVariantBase:
    """The Python path's base of ``Variant``: ``uses`` and ``last`` are its own slots."""

    __slots__ = ("last", "uses")


if TYPE_CHECKING:
    Dispatch = PythonDispatch
    VariantBase = PythonVariantBase
else:
    Dispatch = PythonDispatch if NATIVE is None else NATIVE.Dispatch
    VariantBase = PythonVariantBase if NATIVE is None else NATIVE.VariantBase


def counter() -> Any:
    """``itertools.count()``, or on the C path a counter that C advances too (same ``next``
    and ``repr``)."""
    return itertools.count() if NATIVE is None else NATIVE.Counter()


# Process-wide ticks ordering the variants' latest uses (cheaper than reading a clock).
CLOCK: Any = itertools.count() if NATIVE is None else NATIVE.CLOCK


def enter_method(python_enter: Callable[..., Any]) -> Callable[..., Any]:
    """What ``Trampoline.enter`` is: the C ``Dispatch.enter``, else ``python_enter``."""
    return python_enter if NATIVE is None else NATIVE.Dispatch.enter


def configure(**objects: Any) -> None:
    """Hand the C path the Python objects it compares against and calls (once, at import).

    Keywords: ``miss``, ``no_match``, ``stale``, ``deep``, ``signal_type``, ``absent``,
    ``errors_ignored``, ``small_array_type``, ``timed_calls``
    (:data:`autoaccel.policy.cost.TIMED_CALLS`: the calls before ``min_calls`` that Python
    times, so C leaves them to it), ``recursion_budget`` (the exception compiled recursion
    raises past its budget: a route answers ``deep`` for it, as ``Variant.run`` does).
    Nothing happens on the Python path.
    """
    if NATIVE is not None:
        NATIVE.configure(**objects)


def configure_numpy(**objects: Any) -> None:
    """Hand the C path NumPy's objects, once NumPy is imported (:mod:`autoaccel.lazy_numpy`).

    Keywords: ``ndarray``, ``scalar_types`` (NumPy scalar types whose Numba type their
    class fixes), ``scalar_kinds`` (the :func:`~autoaccel.policy.compare.number_kind` of
    each, in the same order), ``float64`` (``numpy.float64``, made in C when it adapts a float result),
    ``errstate`` (NumPy 2's error-state ContextVar or ``None``). Until then the C path keys
    no array or NumPy scalar and leaves such calls to Python. Nothing happens on the Python
    path.
    """
    if NATIVE is not None:
        NATIVE.configure_numpy(**objects)


def set_values_wanted(wanted: bool) -> None:
    """Tell the C path whether ``[specialization] values`` is on: counting then has to
    observe argument values, which the Python path does."""
    if NATIVE is not None:
        NATIVE.set_values_wanted(wanted)


def route(
    variant: Any,
    entry_point: Any,
    checks: tuple,
    adapters: dict,
    constants: tuple,
    positions: tuple[int, ...],
    unambiguous: Any,
    max_frames: int = -1,
    conversion: tuple[dict, dict, dict, Any] | None = None,
) -> Any:
    """A C ``Route``: ``variant``'s calls of one exact signature served in C.

    Args:
        variant: the :class:`~autoaccel.runtime.variant.Variant` whose uses it counts.
        entry_point: Numba's compiled entry point of the validated overload.
        checks: the frozen globals, as :func:`~autoaccel.backends.snapshot.native_checks`.
        adapters: the variant's result adapters (shared, read on each call).
        constants, positions, unambiguous: the ambiguous-result check of ``Guards``
            (``ambiguous_constants``, ``ambiguous_arguments``, ``unambiguous``): a result
            equal to one of those constants or arguments but of another type goes back to
            the original, unless its type is ``unambiguous``.
        max_frames: for code that may recurse, the Python frames its caller may have
            (:func:`autoaccel.backends.recursion.max_frames`), else -1. A call from a
            thread whose recursion depth (CPython's count, O(1) in C) leaves less room is
            left to ``variant.run``, whose exact check decides; a ``RecursionBudget``
            raised by the compiled code answers ``DEEP``.
        conversion: for a converting route, ``(direct, numbers, tuples, empty)``: the
            variant's entry points by the classes of converted arguments (shared, read on
            each call), and :func:`~autoaccel.boundary.convert.native_plan`'s dicts and
            ``numpy.empty``. Such a route converts each call's lists of numbers (in lists
            and tuples) in C, as :func:`~autoaccel.boundary.convert.convert` would, calls the
            entry point of the converted classes, and leaves to ``variant.run`` whatever it
            does not convert; ``entry_point`` is unused, ``max_frames`` must be -1. It writes
            nothing back: only for variants that write no argument.

    Raises:
        RuntimeError: on the Python path, which has no routes.
    """
    if NATIVE is None:
        raise RuntimeError("the C fast path is not in use")
    return NATIVE.Route(
        variant,
        entry_point,
        checks,
        adapters,
        constants,
        positions,
        unambiguous,
        max_frames,
        conversion,
    )


def native_convert(values: tuple, numbers: dict, tuples: dict, empty: Any) -> tuple | None:
    """``values`` converted as a converting route converts a call's arguments (see
    :func:`route`'s ``conversion``), or ``None`` where it leaves them to the Python walk.

    Raises:
        RuntimeError: on the Python path.
    """
    if NATIVE is None:
        raise RuntimeError("the C fast path is not in use")
    result: tuple | None = NATIVE.convert(values, numbers, tuples, empty)
    return result


def describe() -> str:
    """Which path serves calls, for the report and the benchmarks: ``"C (dict watcher)"``,
    ``"C (dict version tags)"``, or ``"Python"``."""
    if NATIVE is None:
        return "Python"
    return f"C ({NATIVE.globals_watch()})"
