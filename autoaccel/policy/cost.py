"""Whether a hot signature's calls can pay for a compile, from timed calls of the original.

Why this design: a compile costs 0.1-2 s of CPU and the first one also imports Numba (about
0.3 s), so a signature that cannot repay them should never get there. Two things decide it
before anything is compiled, as JIT compilers count before compiling (HotSpot's invocation
counters, PyPy's trace thresholds) but with time instead of counts, because the calls of
real code differ a thousandfold in length:

1. *Too short*: a promoted call costs at least the trampoline's dispatch (measured once per
   arity) and the call of Numba's compiled entry point, which unboxes the arguments and
   boxes the result: :func:`entry_seconds` estimates it, without importing Numba, as a call
   of a Python function of as many arguments that returns one (measured here: Numba's entry
   point 46 ns for one float and 53 ns for two, the Python function 42 ns and 43 ns). Those
   and the conversion of the arguments are the ``floor``. A signature whose calls of the
   original take less than ``min_gain`` times that could never reach ``min_gain``, so it is
   rejected uncompiled and its function disarmed. Small helpers called from plain Python
   end here (sgp4's ``gstime``: 210 ns against a 480 ns floor); a hot caller that can be
   compiled gets them inlined.
2. *Not enough Python time yet*: the calls counted so far, times a call's time, estimate the
   Python time the signature has taken; it is compiled only once that reaches
   ``min_seconds``, as a loop waits for ``loop_min_seconds``. Functions called a few dozen
   times in a whole run (sgp4's deep-space initialisation, 22 calls of 20 us) stay plain.

A call's time is the median of the last half of :data:`TIMED_CALLS` calls of the original,
run and timed by the trampoline (as a trial runs it: :mod:`autoaccel.policy.trial`), so one
call slowed by a garbage collection does not decide, nor do the first runs of a code object
the program has not run before (cold, not yet specialized by the interpreter). Each is
timed right after a call of the stand-in, timed the same way; the difference is counted, on
top of what a plain call costs (:func:`entry_seconds`): a timed call costs about as much
again as a one-line helper's work. geographiclib's ``Math.sq`` (``return x * x``, ~55 ns a
call in the program's loops) was timed at 240-1300 ns by its calls alone, compiled, and
rejected by its trial at 0.25-0.45x; timed so, a call counts 63 ns, and it is left
plain uncompiled (as are ``LatFix`` and ``sum``; 2.7 s -> 2.1 s of compiles in its first run).

How much Python time is enough is the ski-rental problem (Karlin, Manasse, Rudolph and
Sleator, "Competitive snoopy caching", Algorithmica 1988): a unit whose future is unknown
should be compiled once the time it has already spent in Python equals what compiling it
costs; then a run never spends more than twice the better of "never compile" and "compile at
once" on it. The compile cost is learnt in the process: :func:`compile_threshold` takes the
median of the compiles (and cache loads) made so far, times ``compile_payback``, and
``min_seconds`` is the floor, alone until the first compile. A short program with many small
units thus compiles the first and leaves the rest plain once it has seen that a compile
costs 0.5 s. The rule is off by default (``compile_payback = 0``): it weighs one run, while
the persistent cache lets a compile serve every later run too, and in the corpus it made
first runs faster (py_lets_be_rational 12.4 s -> 8.4 s) but warm runs slower (pypng
1.8 s -> 3.3 s, geographiclib 3.7 s -> 5.0 s: their units were never compiled, so never
cached). Weighing later runs needs each unit's Python time kept across runs (not built).
"""

from __future__ import annotations

import functools
import math
import statistics
import time
from collections.abc import Callable
from typing import Any

from autoaccel.state import STATE

# Calls of the original timed before the cost is judged; the first half only warm it up.
TIMED_CALLS = 8
# A call at least this long (seconds) is judged alone: no floor or cold start comes near it,
# and a timed call runs the original without the instrumentation of its loops.
_LONG_CALL = 1e-3


class CallCost:
    """The timed calls of one signature's original, and what they say.

    Attributes:
        seconds: the timed calls' durations (seconds), at most :data:`TIMED_CALLS`.
        needed: once judged, the calls after which the signature has taken ``min_seconds``
            of Python time (0: not judged yet).
    """

    __slots__ = ("needed", "seconds")

    def __init__(self) -> None:
        self.seconds: list[float] = []
        self.needed = 0

    def timed(self) -> bool:
        """Whether enough calls were timed to judge: :data:`TIMED_CALLS`, or one long one."""
        seconds = self.seconds
        return len(seconds) >= TIMED_CALLS or (bool(seconds) and seconds[-1] >= _LONG_CALL)

    def call(self, original: Callable[..., Any], args: tuple) -> Any:
        """``original(*args)``, timed; returns (or raises) what it does."""
        if len(self.seconds) >= TIMED_CALLS:
            return original(*args)
        empty = stand_in(len(args))[0]
        start = time.perf_counter()
        empty(*args)
        middle = time.perf_counter()
        result = original(*args)
        end = time.perf_counter()
        # The stand-in's call, timed the same way just before, is what timing a call costs
        # here: the difference is the original's own work, on top of a plain call's cost.
        work = (end - middle) - (middle - start)
        self.seconds.append(max(work, 0.0) + entry_seconds(len(args)))
        return result

    def per_call(self) -> float:
        """A call's time (seconds): the median of the warm half of the timed calls (the
        first run a code object the program has not run yet, cold and unspecialized)."""
        return statistics.median(self.seconds[len(self.seconds) // 2 :])

    def judge(self, floor: float, gain: float, min_seconds: float) -> str | None:
        """Why no compiled variant could reach ``gain``, or ``None`` (then :attr:`needed` is
        set). Call once :meth:`timed`.

        Args:
            floor: the least a promoted call costs, in seconds (the trampoline's dispatch).
            gain: the speed-up a variant must reach (``min_gain``).
            min_seconds: the Python time (seconds) the calls must add up to first.
        """
        per_call = self.per_call()
        if per_call < gain * floor:
            return (
                f"a call takes {per_call * 1e9:.0f} ns, too short for any compiled variant to "
                f"be {gain:g}x faster: reaching one costs {floor * 1e9:.0f} ns (never compiled)"
            )
        self.needed = self.calls_for(min_seconds)
        return None

    def calls_for(self, seconds: float) -> int:
        """The calls (at least 1) whose Python time adds up to ``seconds``. Call once
        :meth:`timed`."""
        return max(math.ceil(seconds / max(self.per_call(), 1e-9)), 1)

    def python_seconds(self, calls: int) -> float:
        """The Python time ``calls`` calls of the signature took, estimated (seconds)."""
        return calls * self.per_call()


_ROUND = 200  # calls of a timed round (short: it runs before any compile)


@functools.cache
def entry_seconds(arity: int) -> float:
    """What calling compiled code through Numba's entry point costs with ``arity``
    arguments (seconds), estimated without importing Numba: a call of a Python function of
    ``arity`` parameters returning one of them (:func:`stand_in`)."""
    return call_seconds(*stand_in(arity))


@functools.cache
def stand_in(arity: int) -> tuple[Callable[..., Any], tuple]:
    """``(function, arguments)``: a Python function of ``arity`` parameters that returns
    its first (or ``None``), and ``arity`` floats to call it with."""
    namespace: dict = {}
    params = ", ".join(f"a{i}" for i in range(arity))
    exec(f"def standin({params}):\n    return {'a0' if arity else 'None'}", namespace)
    return namespace["standin"], (0.5,) * arity


def call_seconds(function: Callable[..., Any], args: tuple) -> float:
    """Seconds a call ``function(*args)`` takes: the fastest of 5 rounds of :data:`_ROUND`
    calls, per call. (Not ``timeit``: a Ctrl-C landing in its generated ``<timeit-src>``
    frame would show that frame in the user's traceback, where autoaccel's are hidden.)"""
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(_ROUND):
            function(*args)
        best = min(best, time.perf_counter() - start)
    return best / _ROUND


def record_compile(seconds: float) -> None:
    """Count one compile or cache load of a variant (wall time, seconds) towards the
    expected compile time of :func:`compile_threshold`."""
    STATE.compile_seconds.append(seconds)


def compile_threshold(floor: float, payback: float, floor_name: str) -> tuple[float, str]:
    """The Python time (seconds) a unit must have taken before it is compiled, and why.

    Args:
        floor: ``min_seconds`` or ``loop_min_seconds`` (seconds), named by ``floor_name``.
        payback: ``compile_payback``: the Python time needed, in expected compile times
            (ratio; 0 leaves the floor alone).

    Returns:
        ``(seconds, why)``: the larger of the floor and ``payback`` times the median
        compile time so far in this process; ``why`` names the one that applies, for the
        report (``"min_seconds 0.05"``, ``"compile_payback 1 x 0.48 s expected compile"``).
    """
    compiles = STATE.compile_seconds
    expected = payback * statistics.median(compiles) if compiles and payback > 0 else 0.0
    if expected > floor:
        return expected, (
            f"compile_payback {payback:g} x {expected / payback:.2f} s expected compile"
        )
    return floor, f"{floor_name} {floor:g}"
