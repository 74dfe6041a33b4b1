"""autoaccel.policy.site_types: each assignment site's Python type, exact conversions."""

from __future__ import annotations

import numpy as np
import pytest

from autoaccel.backends.loop_code import UNBOUND
from autoaccel.policy.site_types import SiteTypes, exact


@pytest.mark.parametrize(
    ("value", "kind", "expected"),
    [
        (1.5, np.float64, np.float64(1.5)),
        (3, np.int64, np.int64(3)),
        (3.0, int, 3),
        (True, np.bool_, np.True_),
        (2, float, 2.0),
    ],
)
def test_exact_conversions_keep_the_value(value, kind, expected):
    got = exact(value, kind)
    assert got == expected and type(got) is kind


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        (2.5, int),  # not an integer
        (float(2**60), int),  # beyond 2**53: the float may have rounded it
        (2**60, float),
        ((1, 2), list),
        (np.zeros(2), tuple),
    ],
)
def test_inexact_conversions_are_refused(value, kind):
    assert exact(value, kind) is not value and not isinstance(exact(value, kind), kind)


def test_a_site_learns_its_type_and_converts_later_runs():
    sites = SiteTypes()
    assert sites.learn(("best", "count"), (np.float64(0.7), 4), (2, 1)) is None
    converted = sites.convert(("best", "count"), (0.9, 5), (2, 1), (0.0, 0))
    assert converted == (0.9, 5) and type(converted[0]) is np.float64


def test_a_variable_no_site_bound_keeps_its_very_value():
    sites = SiteTypes()
    entry = 0  # CPython leaves the int; Numba's unified variable says 0.0
    assert sites.convert(("s",), (0.0,), (0,), (entry,)) == (0,)
    assert type(sites.convert(("s",), (0.0,), (0,), (entry,))[0]) is int
    assert sites.convert(("found",), (None,), (0,), (UNBOUND,)) == (UNBOUND,)


def test_an_unseen_site_or_two_types_from_one_site_are_not_guessed():
    sites = SiteTypes({("x", 1): float})
    assert sites.convert(("x",), (1.0,), (2,), (0.0,)) is None
    reason = sites.learn(("x",), (np.float64(1.0),), (1,))
    assert reason == "variable x gets a float and a float64 from the same statement"


def test_site_types_round_trip_through_their_plain_form():
    types = SiteTypes({("x", 5): np.float64, ("s", 2): float})
    plain = types.plain()
    assert plain == (("s", 2, float), ("x", 5, np.float64))
    assert SiteTypes.from_plain(plain).types == types.types
    assert SiteTypes.from_plain(None).types == {}  # a rejection's decision has none
    with pytest.raises(ValueError, match="not a loop's site types"):
        SiteTypes.from_plain((np.float64,))


def test_an_unseen_site_is_learned_from_pythons_rerun_only_where_every_value_agrees():
    names, sites = ("on_hand", "short"), (5, 4)
    types = SiteTypes({("short", 4): np.float64})
    assert types.unknown(names, (0.0, 2.5), sites)  # on_hand's site 5 has no type yet
    assert not types.unknown(names, ([1.0], 2.5), sites)  # only numbers are learned
    # Python's rerun went another way (short differs): nothing is learned.
    assert not types.learn_from_rerun(names, (0.0, 2.5), sites, (0.0, np.float64(3.0)))
    assert ("on_hand", 5) not in types.types
    assert types.learn_from_rerun(names, (0.0, 2.5), sites, (0.0, np.float64(2.5)))
    assert types.types[("on_hand", 5)] is float
    assert types.convert(names, (0.0, 1.0), sites, (9.0, 9.0)) == (0.0, np.float64(1.0))
