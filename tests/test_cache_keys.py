"""autoaccel.cache.keys: digests that change exactly when a compiled variant could change."""

from __future__ import annotations

import types

import numpy as np
import pytest

from autoaccel.cache import keys
from autoaccel.config import JitOptions


def _function(source: str, filename: str = "a.py") -> types.CodeType:
    return compile(source, filename, "exec").co_consts[0]


def test_environment_is_part_of_the_key(monkeypatch):
    code = compile("def f(x):\n    return x + 1\n", "f.py", "exec").co_consts[0]
    key = keys.variant_digest(code, (), JitOptions(), "(float)", "(float64)")
    for index in range(len(keys.environment())):
        changed = list(keys.environment())
        changed[index] += " (other)"  # another Python, NumPy, Numba, llvmlite, autoaccel or CPU
        with monkeypatch.context() as patch:
            patch.setattr(keys, "environment", lambda changed=tuple(changed): changed)
            assert keys.variant_digest(code, (), JitOptions(), "(float)", "(float64)") != key


def test_code_digest_ignores_line_numbers_but_not_code():
    first = compile("def f(x):\n    return x + 1\n", "a.py", "exec").co_consts[0]
    moved = compile("\n\n\ndef f(x):\n    return x + 1\n", "b.py", "exec").co_consts[0]
    edited = compile("def f(x):\n    return x + 2\n", "a.py", "exec").co_consts[0]
    assert keys.code_digest(first) == keys.code_digest(moved)
    assert keys.code_digest(first) != keys.code_digest(edited)


@pytest.mark.parametrize(
    "edited",
    [
        "def f(x):\n    return x + 1.0\n",  # a constant's type
        "def f(x):\n    return y + 1\n",  # a global read
        "def g(x):\n    return x + 1\n",  # the name
        "def f(x, z):\n    return x + 1\n",  # the arguments
        "def f(x):\n    return x - 1\n",  # the operation
        "def f(x):\n    return (x + 1,)\n",
    ],
)
def test_code_digest_changes_with_what_the_code_does(edited):
    assert keys.code_digest(_function(edited)) != keys.code_digest(
        _function("def f(x):\n    return x + 1\n")
    )


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (1, 1.0),
        (1, True),
        (np.arange(3.0), np.arange(3.0) + 1),
        (np.arange(3.0), np.arange(3.0, dtype=np.float32)),
        (np.zeros((2, 3)), np.zeros((3, 2))),
        ((1, 2), (1, 2.0)),
        (np, types.ModuleType("numpyish")),
        (np.sqrt, np.cos),
        (_function("def f():\n    return 1\n"), _function("def f():\n    return 2\n")),
    ],
)
def test_values_a_variant_could_freeze_have_texts_that_tell_them_apart(a, b):
    assert keys.value_text(a) != keys.value_text(b)


def test_equal_values_have_equal_texts():
    assert keys.value_text(np.arange(3.0)) == keys.value_text(np.arange(3.0))
    assert keys.value_text((1, np.float32(2))) == keys.value_text((1, np.float32(2)))
    assert keys.value_text(np.arange(6.0)[::2]) == keys.value_text(np.array([0.0, 2.0, 4.0]))


def test_variant_digest_changes_with_each_input_and_only_then():
    code = _function("def f(x):\n    return x * SCALE\n")
    namespace = {"SCALE": 2.0}
    snapshot = ((namespace, "SCALE", 2.0),)
    base = (code, snapshot, JitOptions(), "(float)", "(float64)")
    digest = keys.variant_digest(*base)
    assert keys.variant_digest(*base) == digest
    changed = [
        (_function("def f(x):\n    return x / SCALE\n"), *base[1:]),
        (code, ((namespace, "SCALE", 3.0),), *base[2:]),
        (code, snapshot, JitOptions(fastmath=True), *base[3:]),
        (*base[:3], "(int)", "(float64)"),
        (*base[:4], "(float32)"),
    ]
    assert len({keys.variant_digest(*parts) for parts in changed} | {digest}) == 6
    moved = _function("\n\ndef f(x):\n    return x * SCALE\n", "elsewhere.py")
    assert keys.variant_digest(moved, *base[1:]) == digest  # line numbers and files do not


def test_the_environment_names_versions_and_the_cpu():
    environment = keys.environment()
    assert [part.split(" ", 1)[0] for part in environment] == [
        "autoaccel", "python", "numpy", "numba", "llvmlite", "cpu",
    ]  # fmt: skip
