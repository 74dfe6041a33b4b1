"""Eviction policies as pure functions, on hand-made bookkeeping."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from autoaccel.policy.eviction import POLICIES, expired, victim


@dataclass
class Fake:
    name: str
    uses: int = 0
    last_used: float = 0.0
    recency: int = 0
    admitted: float = 0.0
    size: int = 100
    saved_seconds: float = 1e-6


ENTRIES = [
    # old, heavily used, small, saves little per call
    Fake("a", uses=1000, last_used=5.0, recency=5, admitted=0.0, size=100, saved_seconds=1e-7),
    # recent, rarely used, large, saves a lot per call
    Fake("b", uses=2, last_used=9.0, recency=9, admitted=1.0, size=5000, saved_seconds=1e-3),
    # admitted last, used a while ago, mid size, mid gain
    Fake("c", uses=50, last_used=3.0, recency=3, admitted=2.0, size=300, saved_seconds=1e-5),
]


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        ("lru", "c"),  # least recently used
        ("lfu", "b"),  # fewest calls
        ("ttl", "a"),  # oldest admitted once nothing has expired
        ("size", "b"),  # largest code
        ("adaptive", "a"),  # 1000 x 0.1 us < 50 x 10 us < 2 x 1 ms
    ],
)
def test_each_policy_picks_its_victim(policy, expected):
    assert victim(policy, ENTRIES, now=10.0, ttl=100.0).name == expected


def test_adaptive_does_not_sacrifice_a_fresh_variant_for_having_no_calls_yet():
    fresh = Fake("fresh", uses=0, saved_seconds=1e-3)
    stale = Fake("stale", uses=1, saved_seconds=1e-6)
    assert victim("adaptive", [fresh, stale], now=0.0).name == "stale"


def test_ttl_expires_entries_unused_for_the_time_to_live():
    assert [e.name for e in expired("ttl", ENTRIES, now=10.0, ttl=6.0)] == ["c"]
    assert expired("lru", ENTRIES, now=10.0, ttl=6.0) == []


def test_bad_policy_or_no_entries_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown eviction policy 'mru'"):
        victim("mru", ENTRIES, now=0.0)
    with pytest.raises(ValueError, match="no entries"):
        victim("lru", [], now=0.0)


def test_every_configurable_policy_exists():
    from autoaccel.config import POLICIES as CONFIGURABLE

    assert set(CONFIGURABLE) == set(POLICIES)
