"""autoaccel.report.format: which entries the report shows, their order, a reason, a variant."""

from __future__ import annotations

from autoaccel.report.format import detail, reason_text, report_order, shown_loops, variant_detail

VARIANT = {
    "signature": "(float64)",
    "target": "cpu",
    "speedup": 2.5,
    "compile_seconds": 0.125,
    "from_cache": False,
    "saved_decision": False,
    "candidates": [],
}


def _entry(state, calls=1, reason=None, explanation=None, variants=()):
    return {"state": state, "calls": calls, "reason": reason, "explanation": explanation,
            "variants": list(variants)}  # fmt: skip


def test_promoted_come_first_then_rejected_then_interpreted_busiest_first():
    entries = [_entry("interpreted", 9), _entry("rejected", 1), _entry("promoted", 2),
               _entry("promoted", 5)]  # fmt: skip
    ordered = sorted(entries, key=report_order)
    assert [(e["state"], e["calls"]) for e in ordered] == [
        ("promoted", 5), ("promoted", 2), ("rejected", 1), ("interpreted", 9)]  # fmt: skip


def test_the_explanation_wins_over_the_reason_and_the_signature_can_be_dropped():
    assert reason_text(_entry("rejected", reason="r")) == "r"
    entry = _entry("rejected", reason="r", explanation="(float64): r; what to do: x")
    assert reason_text(entry) == "(float64): r; what to do: x"
    assert reason_text(entry, with_signature=False) == "r; what to do: x"
    assert reason_text(_entry("interpreted")) == ""


def test_a_variant_says_compiled_or_loaded_and_a_saved_decision():
    assert variant_detail(VARIANT) == "(float64) 2.50x, compiled in 0.12 s"
    loaded = {**VARIANT, "from_cache": True, "saved_decision": True}
    assert variant_detail(loaded) == "(float64) 2.50x, loaded in 0.12 s (saved decision)"


def test_the_detail_is_the_variants_or_else_the_reason():
    assert detail(_entry("promoted", variants=[VARIANT, VARIANT])).count("2.50x") == 2
    assert detail(_entry("rejected", reason="calls hash()")) == "calls hash()"


def test_loops_that_never_ran_undecided_are_left_out():
    ran = _entry("interpreted", calls=3)
    decided = _entry("rejected", calls=0, reason="r")
    never = _entry("interpreted", calls=0)
    assert shown_loops({"loops": [ran, decided, never]}) == [ran, decided]
    assert shown_loops({"functions": []}) == []
