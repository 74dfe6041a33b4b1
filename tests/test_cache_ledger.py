"""The run ledger on disk (autoaccel/cache/ledger.py): one authenticated record per script."""

from __future__ import annotations

import logging

import pytest
from conftest import cache_at

from autoaccel.cache import ledger, plain
from autoaccel.cache.ledger import RunRecord, read_record, record_name, write_record


def test_a_record_reads_back_as_written(private_cache):
    cache = cache_at(private_cache)
    assert read_record(cache, "/work/app.py") is None
    write_record(cache, "/work/app.py", RunRecord(0.625, 0.01, 3))
    assert read_record(cache, "/work/app.py") == RunRecord(0.625, 0.01, 3)
    assert read_record(cache, "/work/other.py") is None, "one record per script"
    assert record_name("/work/app.py") != record_name("/work/other.py")


@pytest.mark.parametrize(
    "fields",
    [[0.5, -1.0, 0], [float("nan"), 0.1, 0], [0.5, 0.1, -2], [0.5, 0.1, 1.5], [1, 0.1, 0], [0.5]],
)
def test_a_record_that_does_not_check_is_a_miss(private_cache, caplog, fields):
    cache = cache_at(private_cache)
    cache.write(ledger._SECTION, record_name("/work/app.py"), plain.dumps(fields))
    with caplog.at_level(logging.INFO, logger="autoaccel"):
        assert read_record(cache, "/work/app.py") is None
    assert "ignoring the run record of /work/app.py" in caplog.text
