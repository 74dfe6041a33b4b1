"""The promotion policy for loops: validate a compiled loop on windows of real iterations.

Why this design: a loop in a function called once cannot be trialled as a function is (run
both versions on the same call and compare): the call is the whole program. So the trial
runs on *windows*: at an iteration boundary, the compiled loop runs the next ``n``
iterations on copies of the loop's state (the values of its variables, arrays copied with
their aliasing kept) and stops there; Python then runs the same ``n`` iterations for real,
and at the next boundary the two states are compared exactly (:mod:`autoaccel.policy.compare`):
position, every variable handed back, every array argument. Both are timed. After
``validation_calls`` windows that all matched, the variant is promoted if
``Python time / compiled time`` (summed over the windows) reaches ``min_gain``; the rest of
the loop then runs compiled, in the same call. A window that ends because the loop ends
compares the final states instead; one the loop leaves by ``return`` is not counted.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

from autoaccel.boundary.convert import carries, convert, write_back
from autoaccel.errors import Deoptimize
from autoaccel.policy.compare import copy_arguments, field_at, same
from autoaccel.policy.site_types import SiteTypes
from autoaccel.policy.trial import speed_verdict

# A trial gives up when this many windows were abandoned before enough were compared.
_MAX_ABANDONED = 8


class WindowRun(NamedTuple):
    """The compiled half of one window: its arguments (copies), result and time (seconds),
    and the values before it of the variables not passed in (``before``)."""

    copies: tuple
    result: Any
    error: Exception | None
    seconds: float
    before: dict


def copy_state(values: Sequence[Any], fields: tuple = ()) -> tuple:
    """Copies of ``values`` deep enough that writes cannot reach the originals (objects
    with ``fields``, as :func:`~autoaccel.policy.compare.copy_arguments` copies them).

    Values that were the same object stay one object among the copies (two names for one
    array), so the compiled window sees the aliasing Python sees.
    """
    return copy_arguments(tuple(values), fields)


def _run(
    entry: Callable[..., Any], copies: tuple, written: Sequence[int], fields: tuple = ()
) -> Any:
    """``entry`` run on ``copies`` as a promoted run would: lists, buffers and objects
    converted (objects with ``fields``: the plan's), and the lists at ``written`` positions
    written back (into the copies). Raises what the run raises."""
    if not carries(copies):
        return entry(*copies)
    natives = convert(copies, fields)
    result = entry(*natives)
    write_back(natives, written)
    return result


# Windows this long in Python time decide however few they are. A loop whose compiled runs
# have a large fixed cost (a long list converted) gets windows long enough to cover it
# (``long_windows``), so a run may hold only one: one that reached the loop's end compares
# a whole promoted run's remainder with Python's, and decides too.
_DECISIVE_SECONDS = 0.1


class WindowTrial:
    """Validation and timing of one compiled loop variant on windows of iterations.

    Args:
        entry: the compiled loop (``entry(*arguments)``; see
            :func:`autoaccel.backends.loop_code.loop_code` for what it takes and returns).
        signature: its Numba signature, as text, for the report.
        compile_seconds: the time to compile or load it (seconds).
        from_cache: whether its code came from the cache.
        arrays: positions of the arguments whose contents the loop may change.
        names: the variables a compiled run hands back, in order.
        read: ``read(result, arguments, before) -> (values, sites, entries)``: a compiled
            run's values and assignment sites (:mod:`autoaccel.policy.site_types`) of
            ``names``, and their values before the run (in ``arguments``, or in ``before``
            for those not passed in).
        fields: per argument, the attributes an object there is converted with (the
            loop plan's ``fields``; empty: all).
    """

    def __init__(
        self,
        entry: Callable[..., Any],
        signature: str,
        compile_seconds: float,
        from_cache: bool,
        arrays: Sequence[int],
        names: Sequence[str],
        read: Callable[[tuple, tuple, dict], tuple[tuple, tuple, tuple]],
        fields: tuple = (),
    ) -> None:
        self.entry = entry
        self.fields = fields
        self.names = tuple(names)
        self.read = read
        self.site_types = SiteTypes()
        self.signature = signature
        self.compile_seconds = compile_seconds
        self.from_cache = from_cache
        self.arrays = tuple(arrays)
        self.python_seconds: list[float] = []
        self.variant_seconds: list[float] = []
        self.failure: str | None = None
        self.abandoned = 0
        self.fixed_seconds = 0.0  # a one-iteration compiled run (see warm_up)
        self.long_windows = False  # sized by fixed_seconds rather than by the default
        self.whole_runs = 0  # compared windows that ended with the loop

    def warm_up(self, arguments: tuple) -> None:
        """One untimed run on copies before the first window, then one timed (never raises).

        A compiled function's first run in a process pays one-off costs (Numba's runtime,
        the code's first page faults) that a window of a few microseconds would count.
        ``arguments`` run one iteration: the second run's time is what a compiled run
        costs besides its iterations (:attr:`fixed_seconds`: converting lists, writing them
        back), which sizes the windows.
        """
        with contextlib.suppress(Exception):  # what it does is seen in the windows
            _run(self.entry, copy_state(arguments, self.fields), self.arrays, self.fields)
            copies = copy_state(arguments, self.fields)
            start = time.perf_counter()
            _run(self.entry, copies, self.arrays, self.fields)
            self.fixed_seconds = time.perf_counter() - start

    def run_window(self, arguments: tuple, before: dict, overhead: float = 0.0) -> WindowRun:
        """The compiled half of a window, on copies of ``arguments`` (never raises).

        ``before`` holds the values of the variables the run hands back but does not take;
        ``overhead`` is what a promoted run pays before the compiled code (seconds), added
        to the window's compiled time, as reading the variables back is in :meth:`compare`.
        """
        copies = copy_state(arguments, self.fields)
        start = time.perf_counter()
        try:
            result, error = _run(self.entry, copies, self.arrays, self.fields), None
        except Exception as exc:  # compared with what Python does in the same iterations
            result, error = None, exc
        seconds = time.perf_counter() - start + overhead
        return WindowRun(copies, result, error, seconds, before)

    def compare(
        self,
        run: WindowRun,
        kind: int,
        position: Any,
        outputs: tuple,
        arguments: tuple,
        python_seconds: float,
    ) -> None:
        """Check the compiled window against the state Python reached.

        Args:
            run: the compiled half.
            kind: how Python's window ended (suspended at a boundary, or the loop ended
                or broke off).
            position: Python's position then (the ``range`` value about to run, the index).
            outputs: the values Python's variables then have, in the variant's output order.
            arguments: the real arguments (the arrays Python changed in place).
            python_seconds: how long Python's window took (seconds).
        """
        if isinstance(run.error, Deoptimize):
            self.abandon()  # outside what the variant answers; not a mismatch
            return
        if run.error is not None:
            self.failure = f"raised {type(run.error).__name__} where Python did not"
            return
        try:
            read_seconds = self._check(run, kind, position, outputs, arguments)
        except Exception as exc:  # a comparison that fails is a mismatch, never the user's error
            self.failure = f"its state could not be compared: {exc!r}"
        if self.failure is None:
            self.variant_seconds.append(run.seconds + read_seconds)
            self.python_seconds.append(python_seconds)
            self.whole_runs += kind != 0

    def _check(
        self, run: WindowRun, kind: int, position: Any, outputs: tuple, arguments: tuple
    ) -> float:
        """Sets :attr:`failure` on a mismatch; returns the seconds a promoted run would
        spend reading the variables back (read and convert, timed here)."""
        result = run.result
        ended_as, compiled_position = result[0], result[2]
        if ended_as != kind:
            self.failure = "ended its iterations differently from Python"
            return 0.0
        if kind == 0 and compiled_position != position:
            self.failure = "reached another iteration than Python"
            return 0.0
        values, sites, entries = self.read(result, arguments, run.before)
        self.failure = self.site_types.learn(self.names, outputs, sites)
        if self.failure:
            return 0.0
        converted = self.site_types.convert(self.names, values, sites, entries)
        read_seconds = self._read_seconds(run)
        if converted is None or not same(outputs, converted):
            self.failure = "left its variables with other values than Python"
        elif not all(self._same_at(i, arguments, run.copies) for i in self.arrays):
            self.failure = "wrote its arrays differently from Python"
        return read_seconds

    def _same_at(self, position: int, arguments: Sequence[Any], copies: tuple) -> bool:
        wanted = field_at(self.fields, position)
        return same(arguments[position], copies[position], wanted=wanted)

    def _read_seconds(self, run: WindowRun) -> float:
        """What a promoted run pays to read its variables back (seconds): the best of three
        tries of reading and converting this window's result."""
        best = float("inf")
        for _ in range(3):
            started = time.perf_counter()
            values, sites, entries = self.read(run.result, run.copies, run.before)
            self.site_types.convert(self.names, values, sites, entries)
            best = min(best, time.perf_counter() - started)
        return best

    def abandon(self) -> None:
        """A window that could not be compared (the loop returned, or the variant gave up)."""
        self.abandoned += 1

    def verdict(self, needed: int, min_gain: float) -> tuple[bool, str] | None:
        """``(promote, reason)`` once decidable, else ``None`` (keep trialling)."""
        if self.failure:
            return False, self.failure
        if (
            len(self.variant_seconds) >= needed
            or sum(self.python_seconds) >= _DECISIVE_SECONDS
            or (self.long_windows and self.whole_runs)
        ):
            return speed_verdict(self.speedup(), min_gain)
        if self.abandoned >= _MAX_ABANDONED:
            return False, "the loop ended before its validation windows did"
        return None

    def speedup(self) -> float:
        """Python time / compiled time: the median over the compared windows (ratio).

        Each window runs the same iterations both ways; the median keeps one window that a
        pause of the machine slowed from deciding.
        """
        ratios = sorted(
            py / max(compiled, 1e-9)
            for py, compiled in zip(self.python_seconds, self.variant_seconds, strict=True)
        )
        return ratios[len(ratios) // 2] if ratios else 0.0

    def saved_seconds(self) -> float:
        """Time saved per window on average (seconds)."""
        windows = max(len(self.python_seconds), 1)
        return (sum(self.python_seconds) - sum(self.variant_seconds)) / windows
