"""autoaccel.report.stats: each function's state, reason, catalogue row and variants."""

from __future__ import annotations

import re

import numpy as np
import pytest

from autoaccel.report.stats import catalogue_link, stats
from autoaccel.report.text import format_table
from autoaccel.runtime import trampoline as trampoline_module


def test_stats_and_table_name_each_state_and_reason(accelerated):
    mod = accelerated(
        """
        def total(a):
            s = 0.0
            for i in range(a.shape[0]):
                s += a[i]
            return s

        def words(n):
            yield n

        def cold(x):
            return x
        """,
        min_calls=2,
    )
    for _ in range(5):
        mod.total(np.ones(8))
    mod.cold(1)
    entries = {
        f["name"].split(".")[-1]: f
        for f in stats()["functions"]
        if f["name"].startswith(mod.__name__)
    }
    assert entries["total"]["state"] == "promoted" and entries["total"]["calls"] == 5
    assert entries["total"]["variants"][0]["signature"] == "(array(float64, 1d, C))"
    assert entries["words"]["state"] == "rejected" and "generator" in entries["words"]["reason"]
    assert entries["cold"]["state"] == "interpreted"
    assert "at most 1 call with one signature (min_calls 2)" in entries["cold"]["reason"]
    assert entries["total"]["compile_seconds"] > 0 and entries["total"]["trial_seconds"] > 0
    table = format_table(stats())
    assert re.search(
        rf"{mod.__name__}\.total\s+5\s+promoted\s+[\d.]+\s+[\d.]+\s+\(array\(float64, 1d, C\)\)",
        table,
    )
    # The generator's reason, with what to do and where the docs explain it.
    assert (
        "is a generator or coroutine (Numba builds a different kind of object); what to do: "
        "return an array instead of yielding (see docs/reasons.md#row-31)"
    ) in table


def test_rejections_write_signatures_in_numbas_notation(accelerated):
    mod = accelerated(
        """
        def first(a, grid):
            return a[0]
        """
    )
    mod.first(np.ones(3), {})
    (entry,) = [f for f in stats()["functions"] if f["name"] == f"{mod.__name__}.first"]
    assert entry["reason"] == (
        "(array(float64, 1d, C), dict): takes a dict argument, which Numba cannot use exactly"
    )
    assert entry["explanation"].endswith("what to do: pass NumPy arrays and numbers")


def test_a_compiled_signature_still_in_trial_is_reported_as_such(accelerated):
    from autoaccel.report.stats import function_stats
    from autoaccel.runtime.registry import lookup

    mod = accelerated(
        """
        def cube(x):
            return x * x * x
        """,
        validation_calls=3,
    )
    for _ in range(2):
        mod.cube(2.0)
    entry = function_stats(lookup(mod.cube))
    assert entry["state"] == "interpreted"
    assert entry["reason"] == "compiled, still being validated: (float64)"


@pytest.mark.parametrize(
    ("reason", "link"),
    [
        ("calls hash() (differs for NaN) [22]", "docs/divergences.md#row-22"),
        ("(float64): calls .sum() on a float array [16] (saved decision)",
         "docs/divergences.md#row-16"),
        ("calls f, which cannot be compiled: is recursive [30]", "docs/divergences.md#row-30"),
        ("takes a str argument, which Numba cannot use exactly", None),
        ("reads a[0] of an array", None),  # an index is not a citation
        (None, None),
    ],
)  # fmt: skip
def test_a_reason_links_the_catalogue_row_it_cites(reason, link):
    assert catalogue_link(reason) == link


def test_the_report_links_each_refusal_to_its_catalogue_row(accelerated):
    mod = accelerated(
        """
        def words(n):
            yield n

        def cold(x):
            return x
        """
    )
    entries = {
        f["name"].split(".")[-1]: f
        for f in stats()["functions"]
        if f["name"].startswith(mod.__name__)
    }
    assert entries["words"]["catalogue"] == "docs/divergences.md#row-31"
    assert entries["cold"]["catalogue"] is None


def test_a_helper_inlined_into_its_promoted_caller_says_so(accelerated, monkeypatch):
    # No call is too short: what is reported is who got compiled, not the speed-up.
    monkeypatch.setattr(trampoline_module, "dispatch_seconds", lambda arity: 1e-9)
    mod = accelerated(
        """
        def poly(x):
            return (x * 1.5 + 2.5) * x - 3.5

        def caller(x):
            return poly(x) + poly(x + 1.0)
        """,
        min_calls=5,
        min_gain=0.01,
        min_seconds=0.0,
    )
    for i in range(30):
        mod.caller(0.5 + i)
    entries = {f["name"].split(".")[-1]: f for f in stats()["functions"]}
    assert entries["caller"]["state"] == "promoted"
    assert entries["poly"]["state"] == "interpreted"
    assert entries["poly"]["reason"] == f"runs compiled inside its caller {mod.__name__}.caller"
