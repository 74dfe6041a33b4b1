"""Buffers as views of the caller's memory (autoaccel/boundary/buffers.py); their conversion
within calls is tested in test_boundary_convert.py."""

from __future__ import annotations

import array

import numpy as np
import pytest

from autoaccel.boundary import buffers
from autoaccel.boundary.kinds import Unconvertible


def test_a_bytearray_is_a_view_writes_land_in_the_caller_memory():
    data = bytearray(b"abc")
    storage, kind = buffers.view(data)
    storage[0] = ord("z")
    assert data == bytearray(b"zbc")
    assert (kind.tag, kind.dtype, kind.readonly, kind.source) == (
        "buffer",
        "|u1",
        False,
        "bytearray",
    )


def test_bytes_are_read_only_and_their_kind_needs_no_view():
    storage, kind = buffers.view(b"abc", wanted=False)
    assert storage is None
    assert kind.readonly and kind.source == "bytes"
    assert buffers.view(b"abc")[1] == kind


@pytest.mark.parametrize(
    ("value", "dtype"),
    [(array.array("d", [1.5]), np.float64), (array.array("i", [3]), np.intc)],
)
def test_an_array_array_is_viewed_with_its_typecode_dtype(value, dtype):
    storage, kind = buffers.view(value)
    assert storage.dtype == dtype and storage.tolist() == value.tolist()
    assert kind.dtype == np.dtype(dtype).str and kind.source == f"array('{value.typecode}')"


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (array.array("Q", [1]), "takes an array('Q'), whose items Numba cannot hold exactly"),
        (memoryview(b"ab").cast("c"), "takes a memoryview of format 'c'"),
        (memoryview(bytearray(4))[::2], "takes a memoryview that is not contiguous"),
        (memoryview(bytearray(4)).cast("B", (2, 2)), "takes a memoryview that is not contiguous"),
    ],
)
def test_buffers_numba_cannot_hold_exactly_are_refused(value, reason):
    with pytest.raises(Unconvertible, match=reason.replace("(", r"\(").replace(")", r"\)")):
        buffers.view(value)


def test_a_memoryview_keeps_its_read_only_flag():
    _, kind = buffers.view(memoryview(array.array("d", [1.0])).toreadonly())
    assert kind.readonly and kind.source == "memoryview('d')"
