"""autoaccel.analysis.values: which arguments to freeze, their values, the code with one frozen."""

from __future__ import annotations

import dis
import sys
import types

import numpy as np
import pytest
from test_runtime_specializer import FLAG, SIGNAL

from autoaccel.analysis.values import (
    Refused,
    ValueStats,
    branched_on,
    describe_values,
    eligible,
    specialized_code,
    value_key,
)
from autoaccel.cache.keys import code_digest


def test_specialized_code_freezes_folds_and_renames():
    namespace: dict = {}
    exec(SIGNAL, namespace)
    code = namespace["signal"].__code__
    key = ((str, "EMA"),)
    frozen = specialized_code(code, (1,), key)
    assert frozen.co_argcount == 1 and frozen.co_varnames[0] == "x"
    if sys.version_info >= (3, 11):  # 3.10 code has no qualname; its trampoline's name
        assert frozen.co_qualname == "signal[mode='EMA']"
    assert "EMA" not in frozen.co_varnames and "mode" not in frozen.co_varnames
    assert code_digest(frozen) != code_digest(specialized_code(code, (1,), ((str, "COPY"),)))
    import types

    function = types.FunctionType(frozen, namespace)
    x = np.arange(5.0)
    np.testing.assert_array_equal(function(x), namespace["signal"](x, "EMA"))


def test_a_frozen_argument_loaded_in_a_pair_and_compared_is_a_constant_everywhere():
    # 3.13 loads two locals with one LOAD_FAST_LOAD_FAST, stores one and loads the next
    # with STORE_FAST_LOAD_FAST (within one line), and marks a comparison feeding a jump
    # as EQ_CAST: the frozen argument must still become a constant, the comparison folded.
    source = (
        "def f(x, k):\n    if k == 3:\n        y = x * 2\n    else:\n        y = x\n"
        "    z = y; w = k + z\n    return w - k\n"
    )
    namespace: dict = {}
    exec(source, namespace)
    code = namespace["f"].__code__
    if sys.version_info >= (3, 13):  # the shapes this test is about
        assert {"LOAD_FAST_LOAD_FAST", "STORE_FAST_LOAD_FAST"} <= {
            i.opname for i in dis.get_instructions(code)
        }
    frozen = specialized_code(code, (1,), ((int, 3),))
    instructions = list(dis.get_instructions(frozen))
    assert not [i for i in instructions if i.opname == "COMPARE_OP"]
    assert not [i for i in instructions if "k" in str(i.argval) and "FAST" in i.opname]
    function = types.FunctionType(frozen, namespace)
    assert function(5) == namespace["f"](5, 3) == 10


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("def f(x, mode):\n    mode = mode + 'x'\n    return x\n", "assigns or deletes"),
        ("def f(x, mode):\n    g = lambda: mode\n    return x\n", "nested function"),
        ("def f(x, mode):\n    return x if mode is x else -x\n", "identities"),
    ],
)
def test_code_that_cannot_be_specialized_says_why(source, message):
    namespace: dict = {}
    exec(compile(source, "<test>", "exec"), namespace)
    with pytest.raises(Refused, match=message):
        specialized_code(namespace["f"].__code__, (1,), ((str, "a"),))


def test_value_stats_plan_only_few_valued_arguments():
    namespace: dict = {}
    exec(FLAG, namespace)
    stats = ValueStats(namespace["scaled"].__code__, (np.ndarray, int))
    for i in range(10):
        stats.record((None, i % 2))
    assert stats.plan(threshold=0.8, max_values=8) == (1,)
    many = ValueStats(namespace["scaled"].__code__, (np.ndarray, int))
    for i in range(40):
        many.record((None, i))
    assert many.plan(threshold=0.8, max_values=8) == ()
    assert value_key((1, True, "a"), (1, 2)) == ((bool, True), (str, "a"))
    assert value_key((1, [1]), (1,)) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [("EMA", True), (3, True), (True, True), ((1, 2), True), (tuple(range(9)), False),
     ((1, 2.0), False), (2.5, False), (None, False)],
)  # fmt: skip
def test_what_can_be_frozen(value, expected):
    assert eligible(value) is expected


def test_ints_are_frozen_only_where_the_function_branches_on_them():
    namespace: dict = {}
    exec(FLAG + "\ndef window(x, n):\n    return x[:n].copy()\n", namespace)
    assert branched_on(namespace["scaled"].__code__) == {"flag"}
    assert branched_on(namespace["window"].__code__) == frozenset()


def test_a_specialization_is_named_by_its_values():
    namespace: dict = {}
    exec(FLAG, namespace)
    code = namespace["scaled"].__code__
    assert describe_values(code, (1,), ((int, 1),)) == "[flag=1]"
