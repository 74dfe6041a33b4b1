"""What counting every call of a disarmed function would cost, printed as JSON on stdout.

The report's ``calls`` column counts calls while a function is armed; a rejected function
stops counting once disarmed, because its prologue then only tests ``armed`` and jumps. This
measures, in one process, a plain function, that disarmed prologue, and the same prologue
with each way of counting a call in Python (an attribute increment, ``next`` on an
``itertools.count``), each as ``timeit`` best of 7 repeats of ``f(1)``::

    python benchmarks/call_counting.py

The prologue is emulated in source: the trampoline is a global here, a constant of the code
in a rewritten function (a ``LOAD_CONST`` instead of a ``LOAD_GLOBAL``, the same for every
variant measured).
"""

from __future__ import annotations

import itertools
import json
import timeit

SOURCE = """
def plain(x):
    return x

def disarmed(x):
    if T.armed:
        return None
    return x

def counted_attribute(x):
    if T.armed:
        return None
    T.count += 1
    return x

def counted_next(x):
    if T.armed:
        return None
    next(T.calls)
    return x
"""
NUMBER = 2_000_000


class Trampoline:
    """Stands for a disarmed trampoline: the flag and two kinds of counter."""

    __slots__ = ("armed", "calls", "count")

    def __init__(self) -> None:
        self.armed = False
        self.count = 0
        self.calls = itertools.count()


def main() -> None:
    namespace: dict = {"T": Trampoline()}
    exec(SOURCE, namespace)
    rows = {}
    for name in ("plain", "disarmed", "counted_attribute", "counted_next"):
        timer = timeit.Timer("f(1)", globals={"f": namespace[name]})
        rows[name] = round(min(timer.repeat(repeat=7, number=NUMBER)) / NUMBER * 1e9, 1)
    print(json.dumps({"unit": "ns per call", **rows}, indent=2))


if __name__ == "__main__":
    main()
