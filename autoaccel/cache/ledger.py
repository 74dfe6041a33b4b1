"""The run ledger: what loading a script's saved promotions cost and saved in its last run.

Why: from the second run of a script on, its saved promotions are loaded from the cache, and
that starts Numba (about 0.3-0.7 s of import before the first variant loads). Where the
promotions save less than that, the warm run is slower than plain CPython (a corpus package
measured 1.3-1.6x). One record per script, in the cache's ``ledger`` section, keeps the last
such run's figures, so that the next run can tell whether loading pays
(:mod:`autoaccel.runtime.warm_start`). JSON of plain numbers, authenticated like every cache
file; a record that does not check is a miss.
"""

from __future__ import annotations

import hashlib
import logging
import math
from typing import NamedTuple

from autoaccel.cache import plain
from autoaccel.cache.directory import CacheDir

logger = logging.getLogger("autoaccel")

_SECTION = "ledger"


class RunRecord(NamedTuple):
    """The last measured run of a script that loaded saved promotions.

    Attributes:
        start_seconds: what starting Numba and loading the saved variants took (seconds).
        saved_seconds: what the promoted variants saved over the run (seconds; each call's
            or loop run's saving as its trial measured it).
        plain_runs: runs since, which did not load them because they would not pay.
    """

    start_seconds: float
    saved_seconds: float
    plain_runs: int = 0


def record_name(script: str) -> str:
    """The entry name of the record of ``script`` (its absolute path)."""
    return hashlib.sha256(script.encode()).hexdigest()[:32] + ".json"


def read_record(cache: CacheDir, script: str) -> RunRecord | None:
    """The record of ``script``, or ``None`` (none yet, or one that does not check: logged)."""
    data = cache.read(_SECTION, record_name(script))
    if data is None:
        return None
    try:
        fields = plain.loads(data)
        record = RunRecord(*fields)
        if not (
            all(type(x) is float and math.isfinite(x) and x >= 0 for x in record[:2])
            and type(record.plain_runs) is int
            and record.plain_runs >= 0
        ):
            raise ValueError(f"not a run record: {data[:80]!r}")
    except (ValueError, TypeError) as exc:
        logger.info("cache: ignoring the run record of %s: %s", script, exc)
        return None
    return record


def write_record(cache: CacheDir, script: str, record: RunRecord) -> None:
    """Store ``record`` as the record of ``script`` (a refused write is logged, not raised)."""
    cache.write(_SECTION, record_name(script), plain.dumps(list(record)))
