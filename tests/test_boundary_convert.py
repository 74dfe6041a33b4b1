"""The boundary's functions themselves: screening, conversion, write-back, save and restore.

These are what any unit of compiled code (a function's call, a loop's variables) uses; the
other ``test_boundary_*`` files check them end to end through promoted functions.
"""

from __future__ import annotations

import array

import numba
import numpy as np
import pytest

from autoaccel.boundary import convert as boundary
from autoaccel.policy.compare import copy_arguments, same


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ([1.0, 2], "takes a list holding float, int together"),
        ([1, 2**63], "takes a list holding an int beyond int64 [2]"),
        ([[1.0], [2.0, 3.0]], "takes a list of lists of different lengths (ragged) [23]"),
        ([[1.0], 2.0], "takes a list mixing lists and other values [23]"),
        ([(1.0,), (1,)], "takes a list of tuples of different kinds [23]"),
        (["a"], "takes a list of str"),
        ([{}], "takes a list of dict"),
        (array.array("Q", [1]), "takes an array('Q'), whose items Numba cannot hold exactly"),
        (memoryview(b"ab").cast("c"), "takes a memoryview of format 'c'"),
        (memoryview(bytearray(4))[::2], "takes a memoryview that is not contiguous"),
        ((1.0, {}), "takes a dict argument"),
    ],
)
def test_refusals_name_the_reason(value, reason):
    assert boundary.refusal((value,)).startswith(reason)


def test_aliased_rows_are_refused_and_shared_lists_are_not():
    row = [1.0, 2.0]
    assert "reached twice" in boundary.refusal(([row, row],))
    assert boundary.refusal((row, row, (row, 1.0), [(row, 2.0)])) is None


def test_numpy_scalars_with_lists_are_refused():
    assert (
        boundary.refusal(([1.0], np.float64(2.0))) == "takes NumPy scalars together with lists [11]"
    )
    assert boundary.refusal(([1.0], 2.0, "text", np.zeros(2)), strings=True) is None


def test_str_is_accepted_only_with_the_strings_option():
    assert boundary.refusal(("text",)).startswith("takes a str argument: compiling")
    assert boundary.refusal(((1, "text"),), strings=True) is None


def test_carries_sees_into_tuples():
    assert boundary.carries((1.0, (2, (b"x",))))
    assert not boundary.carries((1.0, (2, "text"), np.zeros(2)))


def test_kinds_tell_element_classes_and_shapes_apart():
    kinds = {
        boundary.kind(v) for v in ([1.0], [1], [True], [[1.0]], [(1.0, [1])], b"", bytearray())
    }
    assert len(kinds) == 7
    assert boundary.kind([2.0, 3.0]) == boundary.kind([1.0]) == boundary.kind([])
    assert boundary.kind(3.0) is float


def test_one_object_converts_once_and_its_numba_type_is_exact():
    shared = [1.0, 2.0]
    natives = boundary.convert((shared, (shared, 3), [(shared, 1)]))
    assert natives[0] is natives[1][0] is natives[2].storage[0][0]
    assert numba.typeof(natives[1]) == numba.types.Tuple((natives[0]._numba_type_, numba.int64))
    assert str(natives[0]._numba_type_) == "list(float64)"
    assert str(boundary.convert((b"a",))[0]._numba_type_) == "bytes(int64)"
    # One class per kind: Numba's dispatcher reads the type from the class, in C.
    assert type(boundary.convert(([5.0, 6.0],))[0]) is type(natives[0])
    assert type(boundary.convert(([5],))[0]) is not type(natives[0])


def test_write_back_gives_each_list_its_class_and_keeps_identity():
    ints, floats, grid = [1, 2], [0.5], [[True, False], [False, False]]
    natives = boundary.convert((ints, floats, grid))
    # As compiled code would leave them (the unboxer fills a list's storage from the list;
    # a store sets the written mark, the last element of each row).
    natives[0].storage[:] = [7, 8, 1]
    natives[1].storage[:] = [-0.0, 1.0]
    natives[2].storage[:] = [[False, False, True], [False, True, True]]
    rows = list(grid)
    boundary.write_back(natives, written=(0, 1, 2))
    assert ints == [7, 8] and all(type(x) is int for x in ints)
    assert floats == [-0.0] and str(floats[0]) == "-0.0"
    assert grid == [[False, False], [False, True]] and all(
        a is b for a, b in zip(grid, rows, strict=True)
    )
    assert all(type(x) is bool for row in grid for x in row)


def test_write_back_touches_only_written_positions():
    read, written = [1.0], [2.0]
    natives = boundary.convert((read, written))
    natives[0].storage[:] = [9.0, 1.0]  # not a position the code may write: never written back
    natives[1].storage[:] = [3.0, 1.0]
    boundary.write_back(natives, written=(1,))
    assert read == [1.0] and written == [3.0]


def test_write_back_touches_only_the_rows_the_call_stored_into():
    first, second = [0.5, 1.5], [2.5, 3.5]
    grid, flat = [first, second], [4.5]
    elements = [*first, *second]
    natives = boundary.convert((grid, flat))
    assert natives[0].storage.shape == (2, 3) and natives[1].storage.shape == (2,)
    # As the unboxer leaves them: the lists' values, every written mark clear.
    natives[0].storage[:] = [[0.5, 1.5, 0.0], [2.5, 3.5, 0.0]]
    natives[1].storage[:] = [4.5, 0.0]
    natives[0].storage[1, 0] = -2.5  # a store into the second row sets its mark
    natives[0].storage[1, 2] = 1.0
    boundary.write_back(natives, written=(0, 1))
    assert grid == [[0.5, 1.5], [-2.5, 3.5]] and grid[0] is first and grid[1] is second
    assert first[0] is elements[0] and first[1] is elements[1], "an unwritten row is untouched"
    assert flat == [4.5]


def test_buffers_are_views_saved_and_restored():
    buf = bytearray(b"abc")
    numbers = array.array("d", [1.0, 2.0])
    natives = boundary.convert((buf, numbers))
    saved = [boundary.save(value) for value in natives]
    natives[0].storage[0] = ord("z")
    natives[1].storage[1] = -1.0
    assert buf == bytearray(b"zbc") and numbers[1] == -1.0, "writes land in the caller's memory"
    for value, copy in zip(natives, saved, strict=True):
        boundary.restore(value, copy)
    assert buf == bytearray(b"abc") and numbers == array.array("d", [1.0, 2.0])


def test_released_values_let_the_caller_resize_its_buffers():
    data, numbers = bytearray(b"ab"), array.array("d", [1.0])
    natives = boundary.convert((data, (numbers, 2), [1.0]))
    with pytest.raises(BufferError):
        data.extend(b"c")  # a view of it is alive
    boundary.release(natives)
    data.extend(b"c")
    numbers.append(2.0)
    assert data == bytearray(b"abc") and numbers == array.array("d", [1.0, 2.0])
    assert natives[2].storage is not None, "a list's storage is its own: kept"


def test_argument_copies_alias_as_the_arguments_do():
    shared = [1.0]
    data = bytearray(b"x")
    copies = copy_arguments((shared, (shared, data), [data]))
    assert copies[0] is copies[1][0] and copies[1][1] is copies[2][0]
    assert copies[0] is not shared and copies[1][1] is not data
    assert same(copies, (shared, (shared, data), [data]))


def test_same_compares_float_buffers_bit_for_bit():
    nan = float("nan")
    assert same(array.array("d", [nan, 0.0]), array.array("d", [nan, 0.0]))
    assert not same(array.array("d", [0.0]), array.array("d", [-0.0]))
    assert not same([1.0], [1])
