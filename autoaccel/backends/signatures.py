"""Numba's view of a call's arguments: types, fingerprints, and signature text.

``numba`` is imported at the first hot call only (:func:`load_numba`), never at import time.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

from autoaccel.backends import collector, interrupts
from autoaccel.errors import Rejection
from autoaccel.lazy_numpy import loaded, np
from autoaccel.state import STATE

_compute_fingerprint: Any = None


def load_numba() -> None:
    """Import Numba and its fingerprint function (about 0.3 s the first time).

    A Ctrl-C meanwhile is delivered when the import is over (:mod:`.interrupts`): an
    import interrupted halfway leaves Numba's registries half made.
    """
    global _compute_fingerprint
    started = time.perf_counter()
    with interrupts.deferred():
        from numba._dispatcher import compute_fingerprint

    STATE.numba_start_seconds += time.perf_counter() - started  # the run ledger weighs it
    collector.freeze_long_lived()  # Numba's ~45,000 objects, walked by every full collection
    _compute_fingerprint = compute_fingerprint


def numba_loaded() -> bool:
    """Whether :func:`load_numba` has completed in this process."""
    return _compute_fingerprint is not None


def numba_signature(args: tuple) -> tuple:
    """Numba's types for ``args`` (``numba.typeof`` of each).

    Raises:
        Rejection: a value has no Numba type (e.g. an int beyond 64 bits).
    """
    import numba

    try:
        return tuple(numba.typeof(value) for value in args)
    except (ValueError, TypeError, OverflowError) as exc:
        raise Rejection(f"an argument has no Numba type: {exc}") from None


def accepting(declared: Iterable[tuple], actual: tuple) -> tuple | None:
    """The first ``declared`` signature Numba would run ``actual`` (Numba types) with as is.

    Equal types, or arrays of the same dtype, ndim and writability where the declared one
    has any layout (``float64[:]``); no numeric conversion, which could change results.
    """
    for signature in declared:
        if len(signature) == len(actual) and all(map(_accepts, signature, actual)):
            return signature
    return None


def _accepts(declared: Any, actual: Any) -> bool:
    if declared == actual:
        return True
    from numba.core import types as nbtypes

    return (
        isinstance(declared, nbtypes.Array)
        and isinstance(actual, nbtypes.Array)
        and declared.layout == "A"
        and (declared.dtype, declared.ndim, declared.mutable)
        == (actual.dtype, actual.ndim, actual.mutable)
    )


def describe(signature: Iterable[Any]) -> str:
    """``"(array(float64, 1d, C), int64)"``: a Numba signature as the report writes it.

    Numba's own notation (``str`` of its types) is the one form the report, the logs and
    Numba's error messages (``-v``) share; :func:`describe_arguments` writes it for argument
    values without importing Numba.
    """
    return "(" + ", ".join(map(str, signature)) + ")"


def describe_arguments(args: tuple) -> str:
    """``args``' Numba signature as :func:`describe` writes it, without importing Numba.

    A value Numba has no exact type for (a list, an object) is named by its Python type.
    """
    return "(" + ", ".join(map(_value_type, args)) + ")"


_SCALARS = {bool: "bool", int: "int64", float: "float64", complex: "complex128"}


def _value_type(value: Any) -> str:
    """What ``str(numba.typeof(value))`` gives for the values Numba types exactly."""
    if type(value) in _SCALARS:
        return _SCALARS[type(value)]
    if loaded():  # else no value is NumPy's (autoaccel/lazy_numpy.py)
        if isinstance(value, (np.number, np.bool_)):
            return _dtype_name(value.dtype)
        if isinstance(value, np.ndarray) and value.dtype.kind in "biufc":
            flags = value.flags
            layout = "C" if flags.c_contiguous else "F" if flags.f_contiguous else "A"
            text = f"array({_dtype_name(value.dtype)}, {value.ndim}d, {layout})"
            return text if flags.writeable else f"readonly {text}"
    if isinstance(value, tuple):
        items = [_value_type(item) for item in value]
        if items and len(set(items)) == 1:
            return f"UniTuple({items[0]} x {len(items)})"
        return f"Tuple({', '.join(items)})"
    return type(value).__name__


def _dtype_name(dtype: np.dtype) -> str:
    return "bool" if dtype.kind == "b" else str(dtype)


def fingerprint(args: tuple, record: Callable[[Any, int], Any] | None = None) -> tuple:
    """Per-argument type fingerprints as Numba's C dispatcher computes them.

    Arrays differ by dtype, ndim, layout and writability. Values Numba cannot fingerprint
    (e.g. str) fall back to their Numba type. ``record(value, position)``: the key of an
    object converted as a record, or ``None`` for a value that is none (given by the
    runtime, which knows the fields the code reaches); without it an object is keyed by
    the classes of its ``__dict__`` values. Called only for hot signatures, so Numba is
    imported at the first call.
    """
    if _compute_fingerprint is None:
        load_numba()
    try:
        return tuple(map(_compute_fingerprint, args))
    except (NotImplementedError, ValueError, OverflowError):
        return tuple(_fallback_fingerprint(value, at, record) for at, value in enumerate(args))


def _fallback_fingerprint(
    value: Any, position: int, record: Callable[[Any, int], Any] | None
) -> Any:
    import numba

    try:
        return numba.typeof(value)
    except Exception:  # no Numba type: the key just has to be stable and hashable
        pass
    found = record(value, position) if record is not None else None
    if found is not None:
        return found
    attributes = getattr(value, "__dict__", None)
    if type(attributes) is dict:  # an object converted as a record: its fields' classes
        return (type(value), tuple([(k, type(v)) for k, v in attributes.items()]))
    return type(value)
