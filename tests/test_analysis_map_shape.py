"""autoaccel.analysis.map_shape: which code runs one GPU thread (or prange lane) per item."""

from __future__ import annotations

import pytest

from autoaccel.analysis.map_shape import LoopMap, ScalarMap, map_shape

SHAPES = '''
import math
import numpy as np

def scaled(x, y):
    """A docstring."""
    z = x * 2.0
    return np.sqrt(z) + y

def clipped(a, b):
    n = a.shape[0]
    out = np.empty(n)
    for i in range(n):
        x = a[i]
        if x < 0.0:
            continue
        out[i] = math.sqrt(x) + b[i]
    return out

def distances(p):
    n = p.shape[0]
    d = np.empty((n, n))
    for i in range(n):
        for j in range(n):
            s = 0.0
            for k in range(p.shape[1]):
                t = p[i, k] - p[j, k]
                s += t * t
            d[i, j] = math.sqrt(s)
    return d

def running(a):
    out = np.empty_like(a)
    s = 0.0
    for i in range(a.shape[0]):
        s += a[i]
        out[i] = s
    return out

def shifted(a):
    out = np.empty_like(a)
    for i in range(1, a.shape[0]):
        out[i] = out[i - 1] + a[i]
    return out

def remembered(a):
    out = np.empty_like(a)
    for i in range(a.shape[0]):
        if a[i] > 0.0:
            last = a[i]
        out[i] = last
    return out

def leaks(a):
    out = np.empty_like(a)
    for i in range(a.shape[0]):
        x = a[i]
        out[i] = x
    return out, x

def ranges_twice(a):
    out = np.empty_like(a)
    m = len(range(3))
    for i in range(a.shape[0]):
        out[i] = a[i] * m
    return out

def branches(x):
    if x > 0:
        return x
    return -x
'''


@pytest.fixture(scope="module")
def shapes(tmp_path_factory):
    path = tmp_path_factory.mktemp("shapes") / "aa_shapes_module.py"
    path.write_text(SHAPES)
    namespace: dict = {}
    exec(compile(SHAPES, str(path), "exec"), namespace)
    return namespace


def test_elementwise_code_is_recognised(shapes):
    assert isinstance(map_shape(shapes["scaled"].__code__), ScalarMap)
    clipped = map_shape(shapes["clipped"].__code__)
    assert isinstance(clipped, LoopMap)
    assert (clipped.inputs, clipped.outputs, clipped.prange_safe) == (
        ("a", "b", "out"),
        ("out",),
        True,
    )
    distances = map_shape(shapes["distances"].__code__)
    assert isinstance(distances, LoopMap) and distances.outputs == ("d",)
    ranges_twice = map_shape(shapes["ranges_twice"].__code__)
    assert isinstance(ranges_twice, LoopMap) and not ranges_twice.prange_safe


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("running", "s may be read before it is assigned in the same iteration"),
        ("shifted", "out is written or read at an index other than [i, ...]"),
        ("remembered", "last may be read before it is assigned"),
        ("leaks", "the code after its loop reads x, assigned in the loop"),
        ("branches", "only assignments to names may precede the return"),
    ],
)
def test_code_with_dependencies_between_items_is_refused_with_a_reason(shapes, name, reason):
    result = map_shape(shapes[name].__code__)
    assert isinstance(result, str) and reason in result
