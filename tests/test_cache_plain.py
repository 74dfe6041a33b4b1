"""autoaccel.cache.plain: decisions and outcomes as JSON of plain values, read back with their
types; nothing else decodes."""

from __future__ import annotations

import numpy as np
import pytest

from autoaccel.cache import plain, private
from autoaccel.cache.decisions import Decision, DecisionKey, DecisionStore
from autoaccel.cache.directory import open_checked
from autoaccel.policy.compare import TupleAdapter, adapter_from_plain, plain_adapter

pytestmark = pytest.mark.skipif(not private.supported(), reason="POSIX descriptors")


def test_plain_values_round_trip_with_their_types():
    values = (1.0, -0.0, float("nan"), 3, True, None, "s", 1 + 2j, np.float32(1.5))
    values += (np.int64(-3), np.bool_(True), float, np.float64, type(None), (1, (2.0,)))
    decoded = plain.decode(plain.loads(plain.dumps(plain.encode(values))))
    assert [type(v) for v in decoded] == [type(v) for v in values]
    assert repr(decoded) == repr(values)
    for refused in ([1], {"a": 1}, object(), type("Local", (), {})):
        with pytest.raises(TypeError):
            plain.encode(refused)
    for forged in ({"type": "os:system"}, {"type": "nosuchmodule:X"}, {"pickle": "x"}):
        with pytest.raises(ValueError):
            plain.decode(forged)


def test_decisions_are_stored_as_json_and_read_back_equal(tmp_path):
    adapter = TupleAdapter((None, np.float64))
    decision = Decision(
        "d" * 64,
        (1.2, 5, ("cpu", "parallel"), 1e-9, 0.0, None),
        True,
        "measured speed-up 3.10x",
        speedup=3.1,
        raw_type=tuple,
        adapter=plain_adapter(adapter),
        candidates=(("cpu", 3.1, "promoted"),),
    )
    key = DecisionKey("f", "(ndarray)", "(array(float64, 1d, C))")
    with open_checked(tmp_path, create=True) as cache:
        DecisionStore(cache, "m-1.json").put(key, decision)
        assert DecisionStore(cache, "m-1.json").get(key) == decision
        assert cache.read("decisions", "m-1.json").startswith(b'{"format":3')
    assert adapter_from_plain(decision.adapter) == adapter
