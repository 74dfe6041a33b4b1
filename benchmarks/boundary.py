"""What converting Python data at the call boundary costs, per call, next to its baselines.

``python benchmarks/boundary.py`` prints a Markdown table. In one process, for each case,
microseconds per call (best of 7 repeats of ``timeit``) of:

* the function as plain CPython;
* the same function promoted by autoaccel (``min_calls = 1``, ``min_gain = 0``: the trial's
  verdict is not what is measured here), called through its trampoline;
* the conversion alone, as the promoted calls convert (:func:`autoaccel.runtime.variant.
  conversion`: in C where a converting route serves them, else the Python walk of
  :func:`autoaccel.boundary.convert.convert`);
* the promoted overload called directly on converted arguments (its unboxing, which reads a
  list's elements into the storage, and the compiled code);
* the same code as a hand-written ``numba.njit`` function given NumPy arrays (no conversion).

Cases: spectral_norm's ``part_A_times_u`` (a tuple of an int and a list of 130 floats, the
pyperformance call), an XOR over a 4 KiB ``bytearray`` (written in place), a function
that reads one element of a list of 10**6 floats and multiplies it ten times (the conversion
dwarfs the work: the trial rejects it at the default ``min_gain``), a sum over a 90x90 list of lists of ints that writes one element (munkres' steps
scan such a matrix and star or prime one zero: a list of lists is written back row by row,
only the rows written), and a method advancing
an orbit 50 steps over six attributes of ``self`` (the object converted to a record and
four attributes written back; the port takes and returns the numbers).
"""

from __future__ import annotations

import importlib
import shutil
import sys
import tempfile
import timeit
import types
from pathlib import Path

import numba
import numpy as np

import autoaccel
from autoaccel import Config
from autoaccel.boundary.convert import convert
from autoaccel.runtime.registry import lookup
from autoaccel.runtime.variant import conversion

SOURCE = """
def eval_A(i, j):
    return 1.0 / ((i + j) * (i + j + 1) // 2 + i + 1)


def part_A_times_u(i_u):
    i, u = i_u
    partial_sum = 0
    for j, u_j in enumerate(u):
        partial_sum += eval_A(i, j) * u_j
    return partial_sum


def xor(buf, key):
    for i in range(len(buf)):
        buf[i] ^= key
    return len(buf)


def head(xs):
    x = xs[0]
    return x * 1.5 * 1.5 * 1.5 * 1.5 * 1.5 * 1.5 * 1.5 * 1.5 * 1.5 * 1.5


def star(marked, i, j):
    total = 0
    for row in range(len(marked)):
        for column in range(len(marked[row])):
            total += marked[row][column]
    marked[i][j] = 1 - marked[i][j]
    return total


class Orbit:
    def __init__(self):
        self.x, self.y, self.vx, self.vy = 1.0, 0.0, 0.0, 1.0
        self.dt = 1e-4
        self.steps = 50

    def advance(self):
        for _ in range(self.steps):
            r3 = (self.x * self.x + self.y * self.y) ** 1.5
            self.vx = self.vx - self.x / r3 * self.dt
            self.vy = self.vy - self.y / r3 * self.dt
            self.x = self.x + self.vx * self.dt
            self.y = self.y + self.vy * self.dt
        return self.x


def advance_port(x, y, vx, vy, dt, steps):
    for _ in range(steps):
        r3 = (x * x + y * y) ** 1.5
        vx = vx - x / r3 * dt
        vy = vy - y / r3 * dt
        x = x + vx * dt
        y = y + vy * dt
    return x, y, vx, vy
"""
REPEATS = 7


def us_per_call(function, args: tuple, number: int) -> float:
    """Best-of-``REPEATS`` microseconds of ``function(*args)``."""
    timer = timeit.Timer("f(*a)", globals={"f": function, "a": args})
    return min(timer.repeat(repeat=REPEATS, number=number)) / number * 1e6


def accelerated_module():
    """``SOURCE`` imported through autoaccel's hook, promotion forced."""
    directory = Path(tempfile.mkdtemp(prefix="aa-boundary-"))
    (directory / "aa_boundary_bench.py").write_text(SOURCE)
    sys.path.insert(0, str(directory))
    try:
        config = Config(modules=("aa_boundary_bench",), min_calls=1, min_gain=0.0, cache=False)
        with autoaccel.install(config):
            return importlib.import_module("aa_boundary_bench")
    finally:
        sys.path.remove(str(directory))
        shutil.rmtree(directory, ignore_errors=True)


def handwritten() -> types.SimpleNamespace:
    """The same functions as ``numba.njit`` code over NumPy arrays."""
    namespace: dict = {}
    exec(SOURCE, namespace)
    eval_a = numba.njit(namespace["eval_A"])
    namespace["eval_A"] = eval_a
    part = types.FunctionType(namespace["part_A_times_u"].__code__, namespace)
    return types.SimpleNamespace(
        part_A_times_u=numba.njit(part),
        xor=numba.njit(namespace["xor"]),
        head=numba.njit(namespace["head"]),
        star=numba.njit(namespace["star"]),
        advance=numba.njit(namespace["advance_port"]),
    )


def row(name: str, plain, fast, port, args: tuple, port_args: tuple, number: int) -> str:
    for _ in range(5):  # trial, then promotion (or rejection)
        fast(*args)
    promotions = lookup(fast).promotions
    variant = next(iter(lookup(fast)._exact.values()), None)
    direct = next(iter(getattr(variant, "direct", {}).values()), None)
    # Converted as the variant converts them: an object's record holds only the fields its
    # compiled code uses (all of them, in another layout, would be misread).
    fields = getattr(getattr(variant, "compiled", None), "fields", ())
    converting = conversion(variant.compiled) if variant is not None else convert
    natives = converting(args, fields)
    port(*port_args)
    cells = [
        us_per_call(plain, args, number),
        us_per_call(fast, args, number) if promotions else float("nan"),
        us_per_call(converting, (args, fields), number),
        us_per_call(direct, natives, number) if direct else float("nan"),
        us_per_call(port, port_args, number),
    ]
    return f"| {name} | " + " | ".join(f"{cell:.2f}" for cell in cells) + " |"


def main() -> None:
    plain: dict = {}
    exec(SOURCE, plain)
    fast = accelerated_module()
    port = handwritten()
    u = [float(i) / 7 for i in range(130)]
    buffer = bytearray(range(256)) * 16
    big = [float(i) for i in range(1, 10**6 + 1)]
    matrix = [[(row * 7 + column) % 3 for column in range(90)] for row in range(90)]
    print("| case (us per call) | plain | autoaccel | conversion | compiled call | njit port |")
    print("|---|---|---|---|---|---|")
    print(
        row(
            "spectral_norm part_A_times_u((i, 130 floats))",
            plain["part_A_times_u"],
            fast.part_A_times_u,
            port.part_A_times_u,
            ((3, u),),
            ((3, np.array(u)),),
            2000,
        )
    )
    print(
        row(
            "xor over a 4 KiB bytearray",
            plain["xor"],
            fast.xor,
            port.xor,
            (buffer, 0x5A),
            (np.frombuffer(buffer, np.uint8), 0x5A),
            200,
        )
    )
    print(
        row(
            "one element of a 10**6-float list",
            plain["head"],
            fast.head,
            port.head,
            (big,),
            (np.array(big),),
            5,
        )
    )
    print(
        row(
            "star(90x90 int list of lists, i, j): sum, one element written",
            plain["star"],
            fast.star,
            port.star,
            (matrix, 3, 4),
            (np.array(matrix), 3, 4),
            500,
        )
    )
    print(
        row(
            "Orbit.advance(self): 50 steps over 6 attributes",
            plain["Orbit"].advance,
            fast.Orbit.advance,
            port.advance,
            (fast.Orbit(),),
            (1.0, 0.0, 0.0, 1.0, 1e-4, 50),
            2000,
        )
    )


if __name__ == "__main__":
    main()
