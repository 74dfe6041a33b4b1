"""autoaccel.backends.handbacks: an argument is copied before a promoted call only when a
hand-back can follow a write to it."""

from __future__ import annotations

import types

import numpy as np
from conftest import compiled_variant

from autoaccel.backends import typed_checks
from autoaccel.runtime.registry import registry

KERNELS = """
import numpy as np

def doubled(out, x):
    n = x.shape[0]
    total = 0.0
    for i in range(n):
        total += x[i]
    for i in range(n):
        out[i] = x[i] * 2.0 / total

def doubled_once(out, x):
    n = x.shape[0]
    total = 0.0
    for i in range(n):
        total += x[i]
    scale = 2.0 / total
    for i in range(n):
        out[i] = x[i] * scale

def scatter(out, where):
    for i in range(where.shape[0]):
        out[where[i]] = 1.0
    return out

def then_allocate(out):
    out[0] = 1.0
    return np.empty(3)

def then_divide(out, x, y):
    out[0] = x
    return x / y
"""
X = np.arange(1.0, 5.0)


def inspection(name: str, *args) -> typed_checks.Inspection:
    overload = compiled_variant(KERNELS, name, args)
    signature = next(iter([overload.signature.args]))
    dispatcher = types.SimpleNamespace(overloads={signature: overload})
    return typed_checks.inspect_variant(dispatcher, signature)


def test_writes_after_the_last_point_that_can_hand_back_need_no_copy():
    found = inspection("doubled", np.zeros(4), X)
    assert found.written == {0} and found.copied == {0}, "a division by zero: after writes"
    found = inspection("doubled_once", np.zeros(4), X)
    assert found.written == {0} and found.copied == set()


def test_a_write_that_a_checked_access_can_follow_needs_its_copy():
    found = inspection("scatter", np.zeros(4), np.arange(3))
    assert found.written == {0} and found.copied == {0}, "the next iteration's check"


def test_a_write_followed_by_a_call_or_a_division_needs_its_copy():
    assert inspection("then_allocate", np.zeros(4)).copied == {0}
    assert inspection("then_divide", np.zeros(4), 1.0, 2.0).copied == {0}


def test_a_promoted_call_copies_only_what_a_hand_back_can_follow(accelerated):
    module = accelerated(KERNELS)
    for _ in range(4):
        out = np.zeros(4)
        module.doubled_once(out, X)
        np.testing.assert_array_equal(out, X * (2.0 / 10.0))
        module.scatter(np.zeros(4), np.arange(3))
    by_name = {t.qualname: t for t in registry() if t.module == module.__name__}
    doubled, scatter = by_name["doubled_once"].compiled.guards, by_name["scatter"].compiled.guards
    assert doubled.written == (0,) and doubled.copied == ()
    assert scatter.written == (0,) and scatter.copied == (0,)
