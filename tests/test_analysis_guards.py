"""Static guards: each refusal is found in the bytecode, with a reason a user understands."""

from __future__ import annotations

import sys
import textwrap

import pytest

from autoaccel.analysis.guards import reassigned_globals, static_refusal


def _code(source: str, name: str = "f"):
    module = compile(textwrap.dedent(source), "<test>", "exec")
    namespace: dict = {}
    exec(module, namespace)
    return module, namespace[name].__code__


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ("def f(n):\n    yield n\n", "generator"),
        ("async def f(n):\n    return n\n", "generator or coroutine"),
        ("def f(**kw):\n    return kw\n", "uses **kw otherwise than kw['name']"),
        ("def f(**kw):\n    return g(**kw)\n", "uses **kw otherwise than"),
        (
            "def f(x):\n    try:\n        return 1 / x\n    except ZeroDivisionError:\n        return 0.0\n",
            "try/except",
        ),
        ("def f(x):\n    with x:\n        return 1\n", "try/except, with"),
        # the try is the reason on every version, though 3.10 meets FORMAT_VALUE first
        (
            "def f(x):\n    s = f'{x}'\n    try:\n        return s\n    finally:\n        x = 0\n",
            "try/except",
        ),
        ("def f(x):\n    print(x)\n", "prints"),
        ("def f(x):\n    return hash(x)\n", "hash"),
        ("def f(x):\n    return {x, 1}\n", "set"),
        ("def f(x):\n    return set([x])\n", "set"),
        ("def f(x):\n    return f'{x}'\n", "f-string"),
        ("def f(x):\n    return f'{x:.3f}'\n", "f-string"),
        ("def f(x):\n    return f'a{x!r}b'\n", "f-string"),
        ("def f(x):\n    return str(x)\n", "strings"),
        ("def f(x):\n    return round(x, 2)\n", "round() with ndigits"),
        ("def f(x):\n    return {'a': x}\n", "dict"),
        ("def f(x):\n    global G\n    G = x\n", "assigns a module global"),
        ("def f(x):\n    import math\n    return math.sqrt(x)\n", "imports"),
        ("def f(x):\n    return (lambda y: y)(x)\n", "nested function"),
    ],
)
def test_refusals(source, reason):
    _, code = _code(source)
    refusal = static_refusal(code, frozenset())
    assert refusal is not None and reason in refusal


# Before 3.12 a comprehension is a nested function; 3.12 inlines it (PEP 709) and gives it
# an exception-table handler, which must not be taken for a try, nor let it through.
COMPREHENSION = (
    "comprehension (a nested function before Python 3.12"
    if sys.version_info >= (3, 12)
    else "nested function or lambda"
)


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ("def f(a):\n    return [x * 2 for x in a]\n", COMPREHENSION),
        ("def f(a):\n    return [x * y for x in a for y in x]\n", COMPREHENSION),
        ("def f(a):\n    return [[y for y in x] for x in a]\n", COMPREHENSION),
        (
            "def f(a):\n    s = 0\n    for i in range(3):\n        s += len([v for v in a])\n"
            "    return s\n",
            COMPREHENSION,
        ),
        (
            "def f(a):\n    try:\n        return [x for x in a]\n    except ValueError:\n"
            "        return 0\n",
            "try/except",
        ),
        (
            "def f(a):\n    with a:\n        b = [x for x in a]\n    return b\n",
            "try/except, with",
        ),
        ("def f(a):\n    try:\n        return a\n    finally:\n        a = 0\n", "try/except"),
    ],
)
def test_comprehensions_and_try_are_told_apart(source, reason):
    _, code = _code(source)
    refusal = static_refusal(code, frozenset())
    assert refusal is not None and reason in refusal


def test_closures_are_refused():
    _, outer = _code("def f(x):\n    def g():\n        return x\n    return g\n")
    assert "closure" in static_refusal(outer, frozenset())
    inner = next(c for c in outer.co_consts if hasattr(c, "co_code"))
    assert "closure over x" in static_refusal(inner, frozenset())


@pytest.mark.parametrize(
    "source",
    [
        "def f(a, n):\n    s = 0.0\n    for i in range(n):\n        s += a[i]\n    return s\n",
        "def f(x):\n    return round(x)\n",
        "def f(x):\n    return round(max(x, 1, 3))\n",
        "import math\ndef f(x):\n    return math.sqrt(x) + abs(x)\n",
        # compiled per call shape in their bound forms (analysis/bound.py)
        "def f(*args):\n    return args[0] + len(args)\n",
        "def f(a, *, c=2):\n    return a + c\n",
        "def f(a, **kw):\n    return a * kw.get('scale', 1.0) + kw['shift'] + len(kw)\n",
        # recursion is compiled with a depth budget (backends/recursion.py)
        "def f(n):\n    return 1 if n < 1 else n * f(n - 1)\n",
    ],
)
def test_numeric_code_passes(source):
    _, code = _code(source)
    assert static_refusal(code, frozenset()) is None


def test_reading_a_reassigned_global_is_refused():
    module, code = _code("T = 1\ndef f(x):\n    return x * T\ndef g():\n    global T\n    T = 2\n")
    reassigned = reassigned_globals(module)
    assert "T" in reassigned
    reason = "reads global T, which the module reassigns [27]"
    # The construct's line: Python 3.11+ records one for every instruction.
    if sys.version_info >= (3, 11):
        reason += " (line 3)"
    assert static_refusal(code, reassigned) == reason


@pytest.mark.parametrize(
    ("source", "name", "expected"),
    [
        ("A = 1\n", "A", False),
        # bound more than once while the module is imported: frozen, watched by the snapshot
        ("A = 1\nA = 2\n", "A", False),
        ("A = 1\ndel A\n", "A", False),
        ("try:\n    import numpy as np\nexcept ImportError:\n    np = None\n", "np", False),
        ("import sys\nif sys.version_info > (3,):\n    A = 1\nelse:\n    A = 2\n", "A", False),
        ("def f():\n    pass\ndef f():\n    pass\n", "f", False),
        # 3.12+ jumps back from the except block to what follows the try: no loop
        ("try:\n    import x\nexcept ImportError:\n    x = None\nA = 1\nA = 2\n", "A", False),
        # bound in a module-level loop, or through ``global``: can change while code runs
        ("for A in range(3):\n    pass\n", "A", True),
        ("A = 0\nwhile A < 3:\n    A += 1\n", "A", True),
        ("for i in range(3):\n    A = i\n", "A", True),
        ("for i in range(3):\n    try:\n        A = i\n    except E:\n        pass\n", "A", True),
        ("A = 1\ndef g():\n    global A\n    A = 5\n", "A", True),
        ("A = 1\ndef g():\n    global A\n    del A\n", "A", True),
        ("class C:\n    def m(self):\n        global A\n        A = 5\n", "A", True),
        ("import math\n", "math", False),
        ("def f():\n    pass\n", "f", False),
    ],
)
def test_reassigned_globals(source, name, expected):
    module = compile(source, "<test>", "exec")
    assert (name in reassigned_globals(module)) is expected
