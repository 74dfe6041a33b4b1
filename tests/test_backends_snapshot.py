"""autoaccel.backends.snapshot: the globals a variant froze, and the check that they still hold."""

from __future__ import annotations

import numpy as np

from autoaccel.backends import snapshot as snapshots
from autoaccel.backends.recursion import RecursionLimit
from autoaccel.backends.screening import ABSENT
from autoaccel.backends.snapshot import (
    Cell,
    CodeOf,
    Flags,
    attribute_entries,
    native_checks,
    reached_through,
    snapshot_changed,
    snapshot_guard,
)


def test_snapshot_guard_sees_each_kind_of_change():
    """The unrolled guard agrees with snapshot_changed: rebinding (to an equal value too),
    deleting, shadowing a builtin, and an attribute of another object."""
    import types

    from autoaccel.backends.screening import ABSENT as _ABSENT
    from autoaccel.backends.snapshot import snapshot_changed, snapshot_guard

    assert snapshot_guard(()) is None
    scale, pi = 3.0, 3.14
    namespace, module = {"SCALE": scale}, types.SimpleNamespace(pi=pi)
    snapshot = ((namespace, "SCALE", scale), (namespace, "range", _ABSENT), (module, "pi", pi))
    stale = snapshot_guard(snapshot)
    changes = [
        lambda: namespace.update(SCALE=float("3.0")),  # equal, but not the frozen object
        lambda: namespace.pop("SCALE"),
        lambda: namespace.update(range=range),
        lambda: setattr(module, "pi", 3.0),
    ]
    for change in changes:
        assert not stale() and snapshot_changed(snapshot) is None
        change()
        assert stale() and snapshot_changed(snapshot) is not None
        namespace.clear()
        namespace["SCALE"], module.pi = scale, pi


def test_the_first_changed_global_is_named():
    namespace = {"A": 1, "B": 2}
    snapshot = ((namespace, "A", 1), (namespace, "B", 2))
    assert snapshot_changed(snapshot) is None
    namespace["B"] = 3
    assert snapshot_changed(snapshot) == "B"
    namespace["A"] = 0
    assert snapshot_changed(snapshot) == "A"


def test_a_read_only_global_array_made_writable_again_is_a_change():
    table = np.arange(3.0)
    table.flags.writeable = False
    flags = Flags(table)
    snapshot = ((flags, "writeable", False),)
    stale = snapshot_guard(snapshot)
    assert not stale() and snapshot_changed(snapshot) is None
    table.flags.writeable = True  # the program may now write what Numba froze
    assert stale() and snapshot_changed(snapshot) == "writeable"
    assert ABSENT is not None and repr(ABSENT) == "<absent>"


def _forwarding(f):
    def wrapper(*args, **kwargs):
        return f(*args, **kwargs)

    return wrapper


def _one(x):
    return x + 1.0


def _other(x):
    return x - 1.0


def test_a_decorator_wrapper_is_watched_down_to_the_code_it_forwards_to():
    wrapper = _forwarding(_one)
    entries = reached_through(wrapper, _one.__code__)
    assert [name for _, name, _ in entries] == ["__code__", "contents", "code"]
    assert entries[1][2] is _one and entries[2][0].function is _one
    stale = snapshot_guard(entries)
    assert not stale()
    cell = wrapper.__closure__[0]
    cell.cell_contents = _other  # the wrapper now calls another function
    assert stale() and snapshot_changed(entries) == "contents"
    del cell.cell_contents
    assert Cell(cell).contents is ABSENT
    assert [name for _, name, _ in reached_through(_one, _one.__code__)] == ["code"]


def test_a_helper_given_its_code_as_written_leaves_the_snapshot_valid():
    def helper(x):
        return x + 1

    def other(x):
        return x - 1

    written = helper.__code__.replace()  # stands for the code as written, a distinct object
    snapshot = ((CodeOf(helper, written), "code", written),)
    assert snapshot_changed(snapshot) is None  # the running code reads as written
    helper.__code__ = written  # disarmed: the same code, without its prologue
    assert snapshot_changed(snapshot) is None and not snapshot_guard(snapshot)()
    helper.__code__ = other.__code__
    assert snapshot_changed(snapshot) == "code" and snapshot_guard(snapshot)()


def test_native_checks_give_each_kind_its_c_check_and_keep_a_repeated_entry_once():
    def helper(x):
        return x + 1

    namespace = {"helper": helper}
    written = helper.__code__.replace()
    limit = RecursionLimit(1000)
    array = np.zeros(2)
    array.flags.writeable = False
    cell = Cell((lambda: helper).__closure__[0])
    snapshot = (
        (namespace, "helper", helper),
        *reached_through(helper, written),
        *reached_through(helper, written),  # the helper reached through a second caller
        (limit, "limit", 1000),
        (Flags(array), "writeable", False),
        (cell, "contents", helper),
    )
    checks = native_checks(snapshot)
    assert [check[0] for check in checks] == [
        snapshots.DICT_ENTRY,
        snapshots.CODE,
        snapshots.RECURSION_LIMIT,
        snapshots.READ_ONLY,
        snapshots.ATTRIBUTE,
    ]
    assert checks[1] == (snapshots.CODE, helper, helper.__code__, written)
    assert attribute_entries(snapshot) == ((cell, "contents", helper),)
