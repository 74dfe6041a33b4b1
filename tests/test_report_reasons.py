"""autoaccel.report.reasons: each reason with the next step and its entry in docs/reasons.md."""

from __future__ import annotations

import re

from conftest import REPO

from autoaccel.report.reasons import readable


def test_reasons_name_the_line_and_what_to_do():
    assert readable("builds a dict (Numba returns a typed Dict) [25] (line 7)") == (
        "builds a dict (Numba returns a typed Dict) (line 7); what to do: return arrays or "
        "tuples instead of a dict or set (see docs/reasons.md#row-25)"
    )
    assert readable("(float64): calls h, a Python function outside the accelerated modules") == (
        "(float64): calls h, a Python function outside the accelerated modules; what to do: "
        "add its module to `modules`"
    )
    assert readable("something new") == "something new"
    assert readable("(float64): a call takes 90 ns, too short for any compiled variant") == (
        "(float64): a call takes 90 ns, too short for any compiled variant; what to do: "
        "nothing: a hot caller that can be compiled gets it inlined"
    )
    assert readable("its compile took over 5 s and was given up (compile_budget)").endswith(
        "what to do: raise compile_budget (0: no limit) if it is worth it"
    )


def test_every_catalogue_row_a_reason_links_to_is_documented():
    text = (REPO / "docs" / "reasons.md").read_text()
    rows = set(re.findall(r" \[(\d+)\]", "".join(_reason_sources())))
    assert rows, "no reasons found"
    for row in rows:
        assert f'<a id="row-{row}"></a>' in text, f"docs/reasons.md lacks row {row}"


def _reason_sources():
    for path in (REPO / "autoaccel").rglob("*.py"):
        yield from re.findall(r'"[^"\n]*\[\d+\][^"\n]*"', path.read_text())
