"""autoaccel.boundary.unboxing (and the conversion around it): buffers at the call boundary,
bytes, bytearray, array.array and memoryview, unboxed as views of the caller's memory.

Compiled code reads and writes the caller's memory through a view, sees each item as the
Python int or float CPython gives, and stores only what CPython would store (a byte outside
0..255 raises). As in ``test_boundary_numba_types``, the dangerous case comes after promotion.
"""

from __future__ import annotations

import array

import pytest
from boundary_helpers import failures, promoted, same_play
from test_boundary_numba_types import SETTINGS, served, warm

XOR = """
def xor(buf, key):
    for i in range(len(buf)):
        buf[i] ^= key
    return buf[0]
"""


def test_a_bytearray_is_written_in_place(accelerated):
    steps = [*warm("xor", bytearray(b"hello"), 0x20), ("xor", (bytearray(b"\x00\xff\x7f"), 0xFF))]
    fast = same_play(accelerated, XOR, steps, **SETTINGS)
    assert promoted(fast.xor) == ["(bytearray(int64), int64)"]
    assert served(fast.xor) >= 1


def test_the_callers_bytearray_object_changes(accelerated):
    fast = accelerated(XOR, **SETTINGS)
    buf = bytearray(b"abc")
    for _ in range(4):
        assert fast.xor(buf, 1) in (ord("a"), ord("a") ^ 1)
    assert buf == bytearray(b"abc"), "four xors with 1 give the bytes back"
    assert served(fast.xor) >= 1


def test_a_byte_out_of_range_midway_leaves_the_buffer_as_cpython_does(accelerated):
    source = """
    def add(buf, k):
        for i in range(len(buf)):
            buf[i] = buf[i] + k
        return len(buf)
    """
    # 250 + 10 raises ValueError at index 2 in CPython after two writes; the variant's
    # writes are undone and the original makes (and raises after) its own two.
    steps = [*warm("add", bytearray(b"\x01\x02"), 1), ("add", (bytearray(b"\x01\x02\xfa"), 10))]
    fast = same_play(accelerated, source, steps, **SETTINGS)
    assert served(fast.add) >= 1


def test_items_are_python_ints_not_uint8(accelerated):
    source = """
    def mix(data):
        return data[0] * 300 + data[-1] - 1000
    """
    steps = [*warm("mix", b"\x01\x02"), ("mix", (b"\xff\xff",)), ("mix", (bytearray(b"\xff"),))]
    fast = same_play(accelerated, source, steps, **SETTINGS)
    assert "(bytes(int64))" in promoted(fast.mix)
    assert served(fast.mix) >= 1


def test_bytes_are_read_only(accelerated):
    source = """
    def poke(data):
        data[0] = 1
        return data[0]
    """
    fast = same_play(accelerated, source, warm("poke", b"abc"), **SETTINGS)
    assert not promoted(fast.poke)
    assert "stores" in failures(fast.poke)[0]


def test_a_checksum_over_bytes(accelerated):
    source = """
    def adler(data):
        a, b = 1, 0
        for byte in data:
            a = (a + byte) % 65521
            b = (b + a) % 65521
        return (b << 16) | a
    """
    steps = [*warm("adler", b"Wikipedia"), ("adler", (bytes(range(256)) * 3,)), ("adler", (b"",))]
    fast = same_play(accelerated, source, steps, **SETTINGS)
    assert served(fast.adler) >= 1


ARRAYS = """
def scale(values, k):
    for i in range(len(values)):
        values[i] = values[i] * k
    return values[0]
"""


def test_array_of_doubles_written_in_place(accelerated):
    steps = [
        *warm("scale", array.array("d", [1.0, -0.0, 2.5]), 2.0),
        ("scale", (array.array("d", [float("nan"), 1e308]), 10.0)),
    ]
    fast = same_play(accelerated, ARRAYS, steps, **SETTINGS)
    assert promoted(fast.scale) == ["(array('d')(float64), float64)"]
    assert served(fast.scale) >= 1


def test_array_of_ints_overflowing_its_type_after_promotion(accelerated):
    # array('i') holds int32: 2**31 raises OverflowError in CPython, after the first write.
    steps = [
        *warm("scale", array.array("i", [1, 2, 3]), 3),
        ("scale", (array.array("i", [1, 2**30]), 2)),
        ("scale", (array.array("i", [5, 6]), 7)),
    ]
    fast = same_play(accelerated, ARRAYS, steps, **SETTINGS)
    assert served(fast.scale) >= 2


def test_a_memoryview_writes_into_its_bytearray(accelerated):
    source = """
    def clear(view):
        for i in range(len(view)):
            view[i] = 0
        return len(view)
    """
    fast = accelerated(source, **SETTINGS)
    for _ in range(3):
        fast.clear(memoryview(bytearray(b"xyz")))
    backing = bytearray(b"abcdef")
    assert fast.clear(memoryview(backing)[1:4]) == 3
    assert backing == bytearray(b"a\x00\x00\x00ef")
    assert served(fast.clear) >= 1


def test_a_read_only_memoryview_is_never_written(accelerated):
    source = """
    def clear(view):
        view[0] = 0
        return view[0]
    """
    steps = [("clear", lambda: (memoryview(b"abc"),))] * 3
    fast = same_play(accelerated, source, steps, **SETTINGS)
    assert not promoted(fast.clear)


def test_a_buffer_can_be_resized_after_a_handed_back_call(accelerated):
    source = """
    def head(buf, i):
        return buf[i]
    """
    fast = accelerated(source, **SETTINGS)
    buf = bytearray(b"abc")
    for _ in range(3):
        assert fast.head(buf, 0) == ord("a")
    with pytest.raises(IndexError):
        fast.head(buf, 10)  # the variant's call is handed back to the original, which raises
    buf.extend(b"def")  # no view of it is left behind (a BufferError otherwise)
    assert fast.head(buf, 5) == ord("f")
    assert served(fast.head) >= 1


def test_returning_the_buffer_is_refused(accelerated):
    source = """
    def fill(buf):
        buf[0] = 7
        return buf
    """
    fast = same_play(accelerated, source, warm("fill", bytearray(b"ab")), **SETTINGS)
    assert not promoted(fast.fill)
    assert failures(fast.fill) == [
        "returns a bytearray it was given (compiled code holds a converted copy)"
    ]
