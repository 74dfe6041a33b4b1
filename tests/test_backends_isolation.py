"""Crash isolation: a first run in a forked child turns a crash into a reason."""

from __future__ import annotations

import os
import signal
import threading
import time
import warnings

import pytest

from autoaccel.backends.isolation import first_run_failure

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")


def _crash():
    os.kill(os.getpid(), signal.SIGSEGV)


def _raise():
    raise ValueError("an answer, not a crash")


def test_a_crashing_first_run_is_reported_and_the_parent_lives():
    reason = first_run_failure(_crash, (), timeout=30)
    assert reason is not None and "SIGSEGV" in reason


def test_a_normal_or_raising_first_run_passes():
    assert first_run_failure(sum, ([1, 2],), timeout=30) is None
    assert first_run_failure(_raise, (), timeout=30) is None


def test_a_first_run_past_the_timeout_is_killed():
    started = time.monotonic()
    reason = first_run_failure(time.sleep, (30,), timeout=0.2)
    assert reason is not None and "did not finish" in reason
    assert time.monotonic() - started < 20


def test_a_first_run_while_other_threads_live_warns_nothing():
    # Python 3.12+ warns about fork() in a multi-threaded process; the program never
    # forked, so it must not see the warning (nor fail on it under -W error).
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            assert first_run_failure(sum, ([1, 2],), timeout=30) is None
    finally:
        stop.set()
        thread.join()
    assert [str(w.message) for w in caught] == []
