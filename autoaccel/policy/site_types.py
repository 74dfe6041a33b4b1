"""The Python type a compiled loop's variable must have: learned per assignment site.

Why this design: Numba gives a variable one type for the whole loop (``float64``), while
CPython's variable holds whatever its last assignment produced: a ``float`` from ``0.0``, a
NumPy ``float64`` from ``a[i]``, an ``int`` from ``0`` (docs/divergences.md, rows 11 and 12).
Which assignment ran last depends on the data. So the compiled loop records, for each
variable it hands back, the number of the assignment *site* (statement and variable) that
bound it last, and the trial's windows learn the Python type each site leaves (both versions
ran the same iterations on the same values, so Python's final value shows the type of the
site the compiled run reports). A promoted run converts each value to its site's type,
exactly (:func:`exact`), and a variable no site bound during the run keeps the very value
it had. A site the windows never saw, or a value that does not convert exactly, hands the
run back to Python.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from autoaccel.cache.decisions import is_site_types
from autoaccel.lazy_numpy import np
from autoaccel.policy.compare import same

_EXACT_FLOAT_INT = 2**53  # ints up to this convert to and from float64 exactly
_NOT_EXACT = object()


def exact(value: Any, kind: type) -> Any:
    """``value`` as an instance of ``kind`` when the conversion loses nothing, else a marker.

    Scalars only convert between Python and NumPy numbers (``float`` to ``numpy.float64``,
    a float64 holding an integer to ``int`` below 2**53...); any other value must already be
    of ``kind``.
    """
    if type(value) is kind:
        return value
    if not isinstance(value, (bool, int, float, np.generic)):
        return _NOT_EXACT
    if kind in (int, np.int64) and isinstance(value, (float, np.floating)):
        if not (float(value).is_integer() and abs(float(value)) <= _EXACT_FLOAT_INT):
            return _NOT_EXACT
        return kind(int(value))
    if kind in (float, np.float64) and isinstance(value, (int, np.integer)):
        return kind(value) if abs(int(value)) <= _EXACT_FLOAT_INT else _NOT_EXACT
    if kind in (float, np.float64, int, np.int64, bool, np.bool_):
        converted = kind(value)
        return converted if converted == value else _NOT_EXACT
    return _NOT_EXACT


class SiteTypes:
    """What Python type each assignment site of a loop leaves in its variable.

    Attributes:
        types: ``(variable, site) -> type``, learned from the trial's windows.
    """

    def __init__(self, types: dict[tuple[str, int], type] | None = None) -> None:
        self.types: dict[tuple[str, int], type] = dict(types or {})

    def learn(
        self, names: Sequence[str], python: Sequence[Any], sites: Sequence[int]
    ) -> str | None:
        """Record the types Python's values show for the compiled run's sites.

        Returns:
            Why the sites cannot tell the types (one site left two types), or ``None``.
        """
        for name, value, site in zip(names, python, sites, strict=True):
            if not site:
                continue
            known = self.types.setdefault((name, site), type(value))
            if known is not type(value):
                return (
                    f"variable {name} gets a {known.__name__} and a {type(value).__name__} "
                    "from the same statement"
                )
        return None

    def convert(
        self,
        names: Sequence[str],
        values: Sequence[Any],
        sites: Sequence[int],
        entries: Sequence[Any],
    ) -> tuple | None:
        """The values as CPython would leave them, or ``None`` when that is not certain.

        Args:
            names, values, sites: the variables, the compiled run's values and sites.
            entries: each variable's value before the run (kept where no site bound it).
        """
        out = []
        for name, value, site, entry in zip(names, values, sites, entries, strict=True):
            if not site:
                out.append(entry)
                continue
            kind = self.types.get((name, site))
            converted = _NOT_EXACT if kind is None else exact(value, kind)
            if converted is _NOT_EXACT:
                return None
            out.append(converted)
        return tuple(out)

    def unknown(self, names: Sequence[str], values: Sequence[Any], sites: Sequence[int]) -> bool:
        """Whether a compiled run left a variable from a site of no known type, every value
        from a site being a number: what Python's run of the same iterations can teach
        (:meth:`learn_from_rerun`)."""
        bound = [(n, v, s) for n, v, s in zip(names, values, sites, strict=True) if s]
        numbers = all(_is_number(v) for _, v, _ in bound)
        return numbers and any((n, s) not in self.types for n, _, s in bound)

    def learn_from_rerun(
        self,
        names: Sequence[str],
        values: Sequence[Any],
        sites: Sequence[int],
        python: Sequence[Any],
    ) -> bool:
        """Learn the types of the sites not yet known from the values Python's variables
        have after it ran the same iterations as the compiled run that gave ``values`` and
        ``sites`` (it handed back for those sites, and Python went on from the same state).

        The same iterations end at the same sites, so a site's type is the type Python's
        value shows; it is learned only where every value the compiled run bound equals
        Python's exactly once converted (the same check a trial window makes), so a run
        that went another way teaches nothing.

        Returns:
            Whether a type was learned.
        """
        learned: dict[tuple[str, int], type] = {}
        for name, value, site, answer in zip(names, values, sites, python, strict=True):
            if not site:
                continue
            kind = self.types.get((name, site))
            if kind is None:
                if not _is_number(answer):
                    return False
                kind = learned[(name, site)] = type(answer)
            converted = exact(value, kind)
            if converted is _NOT_EXACT or not same(converted, answer):
                return False
        self.types.update(learned)
        return bool(learned)

    def plain(self) -> tuple[tuple[str, int, type], ...]:
        """The learned types as plain data for the cache: ``(variable, site, type)``
        triples, sorted (:class:`~autoaccel.cache.decisions.Decision`'s ``adapter``)."""
        return tuple(sorted(((n, s, t) for (n, s), t in self.types.items()), key=_by_site))

    @classmethod
    def from_plain(cls, data: Any) -> SiteTypes:
        """The site types :meth:`plain` gave ``data`` for (``None``, a rejection's: none).

        Raises:
            ValueError: ``data`` is not a tuple of ``(str, int, type)`` triples.
        """
        if data is None:
            return cls()
        if not is_site_types(data):
            raise ValueError(f"not a loop's site types: {data!r:.60}")
        return cls({(name, site): kind for name, site, kind in data})


def _is_number(value: Any) -> bool:
    """A Python or NumPy number (numbers alone are learned from a rerun)."""
    return isinstance(value, (bool, int, float, np.number, np.bool_))


def _by_site(triple: tuple[str, int, type]) -> tuple[str, int]:
    return triple[0], triple[1]
