"""autoaccel.analysis.loops: which loops are candidates, why others are not, what they touch."""

from __future__ import annotations

import ast
import textwrap

import pytest

from autoaccel.analysis.loops import (
    body_refusal,
    escaping_names,
    exposed_reads,
    loop_kind,
    names,
    returns_of,
    scope_refusal,
)


def first_loop(source: str) -> ast.For | ast.While:
    tree = ast.parse(textwrap.dedent(source))
    return next(n for n in ast.walk(tree) if isinstance(n, (ast.For, ast.While)))


@pytest.mark.parametrize(
    ("source", "kind"),
    [
        ("for i in range(10): pass", "range"),
        ("for i in range(0, n, 2): pass", "range"),
        ("for i in range(n, step=2): pass", "iter"),  # keywords: not the builtin's form
        ("for x in a: pass", "iter"),
        ("while i < n: i += 1", "while"),
    ],
)
def test_the_kind_of_loop_decides_how_it_resumes(source, kind):
    assert loop_kind(first_loop(source)) == kind


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("print(x)", "print() at line 3"),
        ("y = f'{x}'", "an f-string at line 3"),
        ("d = {x: 1}", "a dict display at line 3"),
        ("s = {x}", "a set display at line 3"),
        ("g = lambda: x", "a lambda at line 3"),
        ("try:\n        pass\n    except Exception:\n        pass", "try at line 3"),
        ("del x", "del at line 3"),
        ("raise ValueError(x) from None", "raise ... from at line 3"),
        ("raise", "a bare raise at line 3"),
        ("v = locals()", "locals() at line 3: reads variables by name"),
    ],
)
def test_a_refusal_names_the_construct_and_its_line(body, reason):
    loop = first_loop(f"def f(x):\n  for i in range(3):\n    {body}\n")
    assert body_refusal(loop).startswith(reason)


def test_a_loop_over_several_variables_is_refused_with_its_line():
    loop = first_loop("for i, x in enumerate(a):\n    pass\n")
    assert body_refusal(loop) == "unpacks several loop variables at line 1"


def test_a_plain_numeric_loop_has_no_refusal():
    loop = first_loop("for i in range(n):\n    s += a[i] * 2.0\n    if s > 3:\n        break\n")
    assert body_refusal(loop) is None


def test_raising_an_exception_is_no_refusal():
    loop = first_loop("for i in range(n):\n    if a[i] < 0:\n        raise FitError(i)\n")
    assert body_refusal(loop) is None


def test_scopes_that_read_their_variables_by_name_or_yield_are_refused():
    tree = ast.parse("def g(a):\n    for x in a:\n        yield x\n")
    assert scope_refusal(tree.body[0]) == "the function is a generator (yield at line 3)"
    tree = ast.parse("def h():\n    n = 3\n    return eval('n')\n")
    assert scope_refusal(tree.body[0]) == "the function calls eval() at line 3"
    tree = ast.parse("def k():\n    def inner():\n        return locals()\n    return inner\n")
    assert scope_refusal(tree.body[0]) is None, "a nested function's own locals() is its own"


def test_names_leave_a_comprehensions_variables_to_it():
    loop = first_loop("for i in range(n):\n    s += sum([x * y for x in row])\n")
    bound, loaded = names([loop])
    assert bound == {"i", "s"}
    assert {"n", "s", "row", "y", "x", "sum"} <= loaded


@pytest.mark.parametrize(
    ("source", "exposed"),
    [
        # a temporary bound first in each iteration is not an input
        ("for i in range(n):\n    x = a[i]\n    s += x * x\n", {"a", "s"}),
        # bound on one branch only: the other iteration may read the old value
        (
            "for i in range(n):\n    if a[i] > 0:\n        last = a[i]\n    s += last\n",
            {"a", "last", "s"},
        ),
        # bound on both branches before the read
        (
            "for i in range(n):\n    if c:\n        t = 1\n    else:\n        t = 2\n    s += t\n",
            {"c", "s"},
        ),
        # a nested loop may not run: what it binds is no help after it, but inside it its
        # target and its first assignments are bound
        (
            "for i in range(n):\n    for j in range(m):\n        z = b[j]\n        s += z\n    s += z\n",
            {"b", "m", "range", "s", "z"},
        ),
        # a while test reads before anything
        ("while k < n:\n    k += 1\n", {"k", "n"}),
    ],
)
def test_exposed_reads_are_the_loops_inputs(source, exposed):
    assert exposed_reads(first_loop(source)) == exposed


def test_returns_are_numbered_in_one_order_for_the_compiled_loop_and_the_instrumentation():
    source = "for i in range(n):\n    if a[i] < 0:\n        return i\n    for j in range(2):\n        return -1\n"
    loop = first_loop(source)
    assert [r.lineno for r in returns_of(loop)] == [3, 5]
    assert [r.lineno for r in returns_of(first_loop(source))] == [3, 5]


def test_global_and_nonlocal_names_escape_the_function():
    tree = ast.parse("def f():\n    global total\n    def g():\n        nonlocal_thing = 1\n")
    assert escaping_names(tree.body[0]) == {"total"}
