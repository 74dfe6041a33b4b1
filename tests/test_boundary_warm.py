"""Converted arguments across runs: a second run promotes from the persistent cache.

The saved decision and the compiled code of a signature with converted types (a list, a list
of tuples, a bytearray) are found again, the code is loaded without compiling, and the answers
and the caller's objects after the calls are the same as plain Python's.
"""

from __future__ import annotations

import json
import textwrap

import pytest
from conftest import run_python

pytestmark = pytest.mark.slow

APP = """
import sys

def advance(bodies, dt):
    for (position, velocity, mass) in bodies:
        position[0] += dt * velocity[0] * mass
    return len(bodies)

def checksum(data):
    s = 0
    for byte in data:
        s = (s * 31 + byte) % 1000003
    return s

def scale(xs, k):
    for i in range(len(xs)):
        xs[i] *= k

if __name__ == "__main__":
    bodies = [([0.0], [1.0], 2.0), ([5.0], [-1.0], 0.5)]
    data = bytearray(range(200))
    xs = [1.0, 2.0, 3.0]
    for _ in range(12):
        advance(bodies, 0.5)
        checksum(data)
        scale(xs, 1.5)
    print(bodies, checksum(data), xs)
"""

# Loops off: the script's driver loop (top level) would be promoted with the three functions
# compiled into it, and its saved decision would send the second run straight to it, so that
# the functions are never called on their own there.
CONFIG = """
modules = ["__main__"]
min_calls = 2
min_gain = 0.0
loops = false
"""


def _run(tmp_path) -> tuple[str, dict]:
    report = tmp_path / "report.json"
    result = run_python("-m", "autoaccel", "--report-json", str(report), "app.py", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    functions = json.loads(report.read_text())["functions"]
    return result.stdout, {f["name"].split(".")[-1]: f["variants"] for f in functions}


def test_converted_signatures_are_loaded_from_the_cache_in_a_second_run(tmp_path):
    (tmp_path / "app.py").write_text(textwrap.dedent(APP))
    (tmp_path / "python_optimizer.toml").write_text(CONFIG)
    plain = run_python("app.py", cwd=tmp_path).stdout
    first_out, first = _run(tmp_path)
    second_out, second = _run(tmp_path)
    assert first_out == second_out == plain
    for name in ("advance", "checksum", "scale"):
        assert first[name] and not any(v["from_cache"] for v in first[name]), name
        assert second[name] and all(v["from_cache"] for v in second[name]), name
    assert second["scale"][0]["signature"] == "(list(float64), float64)"
