"""Frozen globals: what a variant froze at compile time, and the check that it still holds.

Numba freezes every global it reads when it compiles (docs/divergences.md, row 27). The
compiler records each one as ``(owner, name, value)``: the owner is a globals dict (read by
name) or an object whose attribute ``name`` is read (a helper's code through :class:`CodeOf`,
a read-only global array's ``flags.writeable`` through :class:`Flags`, a decorator wrapper's
cell through :class:`Cell`). A variant runs only while every
entry holds; :func:`snapshot_guard` generates that check once per variant.
"""

from __future__ import annotations

import types
from collections.abc import Callable
from typing import Any

from autoaccel.backends.recursion import RecursionLimit
from autoaccel.backends.screening import ABSENT, forwarded
from autoaccel.lazy_numpy import np

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


class Cell:
    """A live view of a closure cell's contents (:data:`ABSENT` once the cell is empty)."""

    __slots__ = ("cell",)

    def __init__(self, cell: types.CellType) -> None:
        self.cell = cell

    @property
    def contents(self) -> Any:
        """What the cell holds now."""
        try:
            return self.cell.cell_contents
        except ValueError:  # emptied
            return ABSENT


def reached_through(value: types.FunctionType, written: types.CodeType) -> Snapshot:
    """Entries that hold while global ``value`` still calls the same helper code.

    The helper's code through :class:`CodeOf` (``written``: its code as written, which
    disarming the helper puts back); for a decorator's forwarding wrapper
    (:func:`~autoaccel.backends.screening.forwarded`) also the wrapper's ``__code__`` and
    its cell's contents, the helper being the wrapped function compiled in its place.
    """
    target = forwarded(value)
    if target is None:
        return ((CodeOf(value, written), "code", written),)
    cell = Cell(value.__closure__[0])  # type: ignore[index]
    return (
        (value, "__code__", value.__code__),
        (cell, "contents", target),
        (CodeOf(target, written), "code", written),
    )


def snapshot_changed(snapshot: Snapshot) -> str | None:
    """The first global whose value differs from the frozen one, or ``None`` if all hold."""
    for owner, name, value in snapshot:
        current = owner.get(name, ABSENT) if type(owner) is dict else getattr(owner, name)
        if current is not value:
            return name
    return None


# The kinds of check of the C fast path (autoaccel/runtime/_fastpath.c, enum CHECK_*).
DICT_ENTRY, ATTRIBUTE, READ_ONLY, CODE, RECURSION_LIMIT = 0, 1, 2, 3, 4


def native_checks(snapshot: Snapshot) -> tuple[tuple[int, Any, Any, Any], ...]:
    """``snapshot`` as the C fast path checks it: ``(kind, owner, name, value)`` each.

    A dict's entries (``DICT_ENTRY``) are looked up again only after a write to the dict
    (dict watchers, or version tags before CPython 3.12); a read-only global array
    (``READ_ONLY``, the owner is the array) has its flag read; a helper's code
    (:class:`CodeOf`: ``CODE``, the owner is the function, ``name`` its running code) and
    the recursion limit (``RECURSION_LIMIT``) are compared in C; anything else is an
    attribute compared by identity (``ATTRIBUTE``, a helper's ``__code__`` among them).
    Entries that check the same thing are kept once: a call tree reaches a helper through
    every caller of it (py_lets_be_rational's ``normalised_black``: 169 entries).
    """
    checks: dict[tuple, tuple[int, Any, Any, Any]] = {}
    for owner, name, value in snapshot:
        check = _native_check(owner, name, value)
        checks.setdefault((check[0], id(check[1]), check[2], id(check[3])), check)
    return tuple(checks.values())


def _native_check(owner: Any, name: str, value: Any) -> tuple[int, Any, Any, Any]:
    kind = type(owner)
    if kind is dict:
        return (DICT_ENTRY, owner, name, value)
    if kind is Flags and type(owner.array) is np.ndarray and value is False:
        return (READ_ONLY, owner.array, name, value)
    if kind is CodeOf and type(owner.function) is types.FunctionType:
        return (CODE, owner.function, owner.running, value)
    if kind is RecursionLimit and type(value) is int:
        return (RECURSION_LIMIT, owner, name, value)
    return (ATTRIBUTE, owner, name, value)


def attribute_entries(snapshot: Snapshot) -> Snapshot:
    """The entries of ``snapshot`` the C fast path reads with a ``getattr`` on each call
    (``ATTRIBUTE``): the others cost it a comparison, or nothing until a dict is written."""
    return tuple(entry for entry in snapshot if _native_check(*entry)[0] == ATTRIBUTE)


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
