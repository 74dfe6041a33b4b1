"""Saved decisions: which signatures of a module's functions were promoted or rejected.

Why this design: a later run should start at full speed, so each trial's outcome is kept per
module (one file per module and source path, in the cache's ``decisions`` section) and read
once, without importing Numba, when the module's first function becomes hot. A decision
applies again only to the same variant (its :func:`~autoaccel.cache.keys.variant_digest`)
under the same promotion policy (``min_gain``, ``validation_calls``); anything else is tried
afresh. Several processes may record decisions at once: each write re-reads the file, merges
and replaces it atomically, so the worst case is a lost record, which only means one more
trial in a later run. The file is JSON of plain values (:mod:`autoaccel.cache.plain`), which
cannot run code when read, and each record is checked field by field: a record that does
not check is dropped (tried again), never taken for another decision.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from typing import Any, NamedTuple

from autoaccel.cache import plain
from autoaccel.cache.directory import CacheDir

logger = logging.getLogger("autoaccel")

_SECTION = "decisions"
# 1 was a pickle; 2's adapters could be learned from a call that returned a constant sharing
# its place with computed values (autoaccel/backends/returned.py), which typed later results
# wrongly: its promotions are tried afresh.
_FORMAT = 3


class Decision(NamedTuple):
    """The outcome of one signature's trial.

    Attributes:
        digest: the ``cpu`` variant's key (hex); other targets' variants are derived from
            the same code, globals and signature.
        policy: ``(min_gain, validation_calls)`` in force when it was decided, followed by
            the targets, tolerance and CUDA device (or why there was none) when ``targets``
            is not the default (:func:`autoaccel.policy.targets.policy`).
        promoted: whether it was promoted.
        reason: ``"measured speed-up 3.10x"`` or the rejection reason.
        speedup: original time / variant time measured in the trial (ratio), or 0.0.
        compile_seconds: the compile time then (seconds).
        raw_type: the Python type of the variant's raw result.
        adapter: the converter of that result to the original's type, as plain data
            (:func:`autoaccel.policy.compare.plain_adapter`): ``None``, a NumPy scalar type,
            or a tuple of those, one per item of a tuple result; for a loop, the types its
            assignment sites leave, as ``(variable, site, type)`` triples
            (:meth:`autoaccel.policy.site_types.SiteTypes.plain`).
        saved_seconds: original minus variant time per call in the trial (seconds), which
            the variant cache's ``adaptive`` policy weighs.
        target: the target whose variant was promoted (``"cpu"``, ``"parallel"``, ``"cuda"``).
        candidates: ``(target, speed-up, outcome)`` of every target that competed, as
            measured in the run that decided (see :class:`~autoaccel.policy.trial.PromotionRecord`).
    """

    digest: str
    policy: tuple
    promoted: bool
    reason: str
    speedup: float = 0.0
    compile_seconds: float = 0.0
    raw_type: type = type(None)
    adapter: Any = None
    saved_seconds: float = 0.0  # time saved per call measured in the trial (seconds)
    target: str = "cpu"
    candidates: tuple[tuple[str, float, str], ...] = ()

    def as_plain(self) -> dict[str, Any]:
        """The decision as JSON-ready data (:func:`autoaccel.cache.plain.encode`).

        Raises:
            TypeError: a field holds something the cache cannot store.
        """
        return {field: plain.encode(value) for field, value in self._asdict().items()}

    @classmethod
    def from_plain(cls, data: Any) -> Decision:
        """The decision :meth:`as_plain` gave ``data`` for, every field checked.

        Raises:
            ValueError: a field is missing, unknown, or of the wrong type.
        """
        if type(data) is not dict or set(data) != set(cls._fields):
            raise ValueError("not a decision record")
        values = {field: plain.decode(value) for field, value in data.items()}
        for field, value in values.items():
            if not _FIELD_CHECKS[field](value):
                raise ValueError(f"decision field {field} holds {value!r:.60}")
        return cls(**values)


class DecisionKey(NamedTuple):
    """What a saved decision is about, within its module's file.

    Attributes:
        qualname: the function's ``__qualname__`` (with ``[values]`` for a value
            specialization).
        types: the Python argument types, as text (``"(ndarray, float)"``).
        signature: the Numba signature, as text (``"(array(float64, 1d, C), float64)"``).
    """

    qualname: str
    types: str
    signature: str


# A decision kept by source (a rejection found before compiling, without Numba) has this
# prefix before the argument types' text in its key's ``signature``, so it never collides
# with a variant's decision, whose ``signature`` is the Numba signature itself.
BY_SOURCE = "source "


class SavedAs(NamedTuple):
    """Where one variant's decision is kept: its key, and the variant's digest.

    A decision applies only to the variant whose
    :func:`~autoaccel.cache.keys.variant_digest` it records.
    """

    key: DecisionKey
    digest: str


def _is_number(value: Any) -> bool:
    return type(value) in (int, float)


def _is_adapter(value: Any) -> bool:
    return _is_result_adapter(value) or is_site_types(value)


def _is_result_adapter(value: Any) -> bool:
    if type(value) is tuple:
        return all(map(_is_result_adapter, value))
    return value is None or isinstance(value, type)


def is_site_types(value: Any) -> bool:
    """Whether ``value`` is a loop's site types as plain data: a tuple of
    ``(variable: str, site: int, type)`` triples."""
    return type(value) is tuple and all(
        type(item) is tuple
        and len(item) == 3
        and type(item[0]) is str
        and type(item[1]) is int
        and isinstance(item[2], type)
        for item in value
    )


_FIELD_CHECKS = {
    "digest": lambda v: type(v) is str,
    "policy": lambda v: type(v) is tuple,
    "promoted": lambda v: type(v) is bool,
    "reason": lambda v: type(v) is str,
    "speedup": _is_number,
    "compile_seconds": _is_number,
    "raw_type": lambda v: isinstance(v, type),
    "adapter": _is_adapter,
    "saved_seconds": _is_number,
    "target": lambda v: type(v) is str,
    "candidates": lambda v: (
        type(v) is tuple
        and all(
            type(c) is tuple and len(c) == 3 and type(c[0]) is str and _is_number(c[1]) for c in v
        )
    ),
}


def store_name(module: str, filename: str) -> str:
    """The file name of a module's decisions; two modules of one name in different places
    (``module`` is ``__name__``, ``filename`` the source path) get different files."""
    return f"{module}-{hashlib.sha256(filename.encode()).hexdigest()[:16]}.json"


class DecisionStore:
    """The saved decisions of one module.

    Args:
        cache: the opened cache directory.
        name: the file's name in the ``decisions`` section (see :func:`store_name`).
    """

    def __init__(self, cache: CacheDir, name: str) -> None:
        self.cache = cache
        self.name = name
        self._decisions: dict[DecisionKey, Decision] | None = None
        self._lock = threading.Lock()

    def _read(self) -> dict[DecisionKey, Decision]:
        data = self.cache.read(_SECTION, self.name)
        if data is None:
            return {}
        try:
            document = plain.loads(data)
            if type(document) is not dict or document.get("format") != _FORMAT:
                raise ValueError("not an autoaccel decisions file of this version")
            records = document["decisions"]
            if type(records) is not list:
                raise ValueError("no list of decisions")
        except (ValueError, KeyError) as exc:  # an older format, or a bug: start over
            logger.info("cache: dropping unreadable decisions %s: %s", self.name, exc)
            self.cache.remove(_SECTION, self.name)
            return {}
        return dict(filter(None, map(self._record, records)))

    def _record(self, record: Any) -> tuple[DecisionKey, Decision] | None:
        """One ``[key, decision]`` record, or ``None`` (logged) if it does not check."""
        try:
            key, decision = record
            if type(key) is not list or len(key) != 3 or not all(type(k) is str for k in key):
                raise ValueError("not a decision key")
            return DecisionKey(*key), Decision.from_plain(decision)
        except (ValueError, TypeError) as exc:  # e.g. a result type of a module not imported
            logger.info("cache: ignoring a decision in %s: %s", self.name, exc)
            return None

    def decisions(self) -> dict[DecisionKey, Decision]:
        """Every saved decision of the module (read from disk once)."""
        if self._decisions is None:
            with self._lock:
                if self._decisions is None:
                    self._decisions = self._read()
        return self._decisions

    def get(self, key: DecisionKey) -> Decision | None:
        """The saved decision for ``key``, or ``None``."""
        return self.decisions().get(key)

    def promoted_types(self, qualname: str) -> set[str]:
        """Argument types (as text) with which ``qualname`` had a promoted signature."""
        return {
            k.types for k, d in self.decisions().items() if k.qualname == qualname and d.promoted
        }

    def put(self, key: DecisionKey, decision: Decision) -> None:
        """Record ``decision`` and write the module's file (merged with the disk's)."""
        with self._lock:
            merged = {**self._read(), key: decision}
            self._decisions = {**(self._decisions or {}), **merged}
            try:
                records = [[list(k), d.as_plain()] for k, d in merged.items()]
            except TypeError as exc:  # a result type the cache cannot name: not saved
                logger.info("cache: decision for %s not saved: %s", key.qualname, exc)
                return
            document = {"format": _FORMAT, "decisions": records}
            self.cache.write(_SECTION, self.name, plain.dumps(document))


def read_all(cache: CacheDir) -> dict[str, dict[DecisionKey, Decision]]:
    """Every module's decisions, by file name (for ``python -m autoaccel cache info``)."""
    return {name: DecisionStore(cache, name).decisions() for name in cache.entries(_SECTION)}
