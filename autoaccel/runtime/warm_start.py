"""Warm starts: whether loading a script's saved promotions pays for starting Numba.

Why this design: from the second run of a script on, what an earlier run promoted is loaded
from the cache when its function or loop is first hot, and that imports Numba (0.3-0.7 s)
and loads each variant. Where the promotions save less than that, the warm run is slower
than plain CPython, against the promise never to be noticeably slower (munkres, in the
corpus, measured 1.3-1.6x plain in its warm runs). This is the ski-rental problem (Karlin et
al., "Competitive randomized algorithms for non-uniform problems", 1990) over runs: each run
that loads measures what loading cost (Numba's import, :data:`~autoaccel.state.STATE`'s
``numba_start_seconds``, and each variant's load) and what the variants saved (each
function call's saving as its trial measured it, each compiled loop run's time times its
trial's speed-up less one), and keeps both in the run ledger (:mod:`autoaccel.cache.ledger`)
at exit. When the savings fall short of ``start_payback`` times the cost, the next runs of
the script are plain: each saved promotion is refused with the figures, and so is every
function or loop that gets hot with no decision yet (its helpers among them, hot in Python
once their caller is not loaded: py_lets_be_rational compiled 12.5 s of them in such a
run), so the run never imports Numba. Every eighth such run loads again and measures
anew, so a script whose work grew finds its promotions again within eight runs, at a cost
of one start in eight where they still do not pay. Only scripts (``__main__`` with a file) keep a ledger.
"""

from __future__ import annotations

import atexit
import os
import sys
from typing import Any

from autoaccel.cache.directory import open_cache
from autoaccel.cache.ledger import RunRecord, read_record, write_record
from autoaccel.config import Config
from autoaccel.runtime.table import variant_table
from autoaccel.state import STATE

RETRY_AFTER = 8  # runs that do not load before one loads again to measure
_settling: list[int] = []  # the process whose exit handler is registered


def load_refusal(config: Config) -> str | None:
    """Why this run neither loads saved promotions nor compiles, or ``None``.

    Decided once per process, at the first function or loop found hot; a run that does
    not load counts itself in the ledger then.
    """
    if STATE.warm_start is None:
        STATE.warm_start = (_decide(config),)
    return STATE.warm_start[0]


def _decide(config: Config) -> str | None:
    script = _script()
    cache = open_cache(config) if script is not None and config.start_payback > 0 else None
    if cache is None or script is None:
        return None
    record = read_record(cache, script)
    if record is None or record.saved_seconds >= config.start_payback * record.start_seconds:
        return None
    if record.plain_runs + 1 >= RETRY_AFTER:
        return None  # loads, measures, and the exit keeps what it measured
    write_record(cache, script, record._replace(plain_runs=record.plain_runs + 1))
    return (
        f"not loaded or compiled: the promotions of this script's last run that loaded them "
        f"saved {record.saved_seconds:.3f} s, less than the {record.start_seconds:.3f} s of "
        f"starting Numba and loading them (start_payback {config.start_payback:g}; loaded "
        f"again every {RETRY_AFTER}th run) (saved decision)"
    )


def settle_at_exit(config: Config) -> None:
    """Keep this run's figures in the ledger at exit (once per process; forks skip it)."""
    if not _settling or _settling[0] != os.getpid():
        _settling[:] = [os.getpid()]
        atexit.register(_settle, config, os.getpid())


def _settle(config: Config, pid: int) -> None:
    if os.getpid() != pid:
        return
    script = _script()
    start = load_seconds()
    cache = open_cache(config) if script is not None and start > 0 else None
    if cache is not None and script is not None:
        write_record(cache, script, RunRecord(start, saved_seconds()))


def load_seconds() -> float:
    """What loading saved promotions took in this run (seconds): Numba's import, if it was
    made for them or for anything, and each variant's load; 0.0 if none was loaded."""
    loaded = [r.compile_seconds for r in _promotions() if r.saved_decision and r.from_cache]
    return float(STATE.numba_start_seconds + sum(loaded)) if loaded else 0.0


def saved_seconds() -> float:
    """What the promoted variants saved in this run (seconds): each function call's saving
    as measured by its trial, and each compiled loop run's time times its speed-up less one."""
    calls = {id(e.variant): e.uses * e.saved_seconds for e in variant_table().entries()}
    runs = (
        variant.seconds * max(variant.speedup - 1.0, 0.0)
        for loop in STATE.loops
        for variant in loop.variants.values()
    )
    return float(sum(calls.values()) + sum(runs))


def _promotions() -> list[Any]:
    return [r for unit in (*STATE.trampolines, *STATE.loops) for r in unit.promotions]


def _script() -> str | None:
    """The absolute path of the script this process runs, or ``None`` (no file)."""
    path = getattr(sys.modules.get("__main__"), "__file__", None)
    return os.path.abspath(path) if isinstance(path, str) else None
