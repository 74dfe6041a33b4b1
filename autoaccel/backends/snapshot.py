"""Frozen globals: what a variant froze at compile time, and the check that it still holds.

Numba freezes every global it reads when it compiles (docs/divergences.md, row 27). The
compiler records each one as ``(owner, name, value)``: the owner is a globals dict (read by
name) or an object whose attribute ``name`` is read (a helper's code through :class:`CodeOf`,
a read-only global array's ``flags.writeable`` through :class:`Flags`). A variant runs only while every
entry holds; :func:`snapshot_guard` generates that check once per variant.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from autoaccel.backends.screening import ABSENT

# (owner, name, value Numba froze): the variant is valid while each entry holds.
Snapshot = tuple[tuple[Any, str, Any], ...]


class Flags:
    """A live view of an array's ``writeable`` flag (``ndarray.flags`` is a copy)."""

    __slots__ = ("array",)

    def __init__(self, array: np.ndarray) -> None:
        self.array = array

    @property
    def writeable(self) -> bool:
        """Whether the array can be written now."""
        return bool(self.array.flags.writeable)


class CodeOf:
    """A live view of a helper's code in which disarming it changes nothing.

    A disarmed function's objects get its code as written back in place of the running
    code with its prologue (:mod:`autoaccel.runtime.disarm`); both do the same, so a
    variant that inlined the helper stays valid. Any other code is a change.

    Args:
        function: the helper's function object.
        written: its code as written (what the entry records).
    """

    __slots__ = ("function", "running", "written")

    def __init__(self, function: Any, written: Any) -> None:
        self.function = function
        self.running = function.__code__
        self.written = written

    @property
    def code(self) -> Any:
        """The helper's code now, with the running code read as the code as written."""
        current = self.function.__code__
        return self.written if current is self.running else current


def snapshot_changed(snapshot: Snapshot) -> str | None:
    """The first global whose value differs from the frozen one, or ``None`` if all hold."""
    for owner, name, value in snapshot:
        current = owner.get(name, ABSENT) if type(owner) is dict else getattr(owner, name)
        if current is not value:
            return name
    return None


def snapshot_guard(snapshot: Snapshot) -> Callable[[], bool] | None:
    """A function of no arguments that is ``True`` once a global of ``snapshot`` changed.

    :func:`snapshot_changed` unrolled into one expression, as ``dataclasses`` generates its
    methods: every promoted call runs it, and the loop costs ~110 ns for one global where
    this costs ~50. ``None`` for an empty snapshot, which nothing can invalidate.
    """
    if not snapshot:
        return None
    checks, defaults = [], {"absent": ABSENT}
    for i, (owner, name, value) in enumerate(snapshot):
        defaults[f"o{i}"], defaults[f"v{i}"] = owner, value
        read = f"o{i}.get({name!r}, absent)" if type(owner) is dict else f"getattr(o{i}, {name!r})"
        checks.append(f"{read} is not v{i}")
    parameters = ", ".join(f"{key}={key}" for key in defaults)
    namespace: dict = {}
    exec(f"def stale({parameters}):\n    return {' or '.join(checks)}", defaults, namespace)
    return namespace["stale"]
