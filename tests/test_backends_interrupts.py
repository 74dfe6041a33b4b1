"""autoaccel.backends.interrupts: Ctrl-C at any moment ends the program as plain Python would,
compiling or not.

A real example runs with a fresh cache and receives SIGINT at moments spread over its first
seconds, where autoaccel compiles one kernel after another: each run must end with status
130 within a few seconds, printing a short ``KeyboardInterrupt`` traceback of the user's
frames only; never a crash, never an interrupt swallowed (the program running on).
"""

from __future__ import annotations

import concurrent.futures
import os
import re
import signal
import subprocess
import sys
import time

import pytest
from conftest import REPO

from autoaccel.backends import interrupts
from autoaccel.policy.trial import Trial, VariantRun

EXAMPLE = REPO / "examples" / "indicators" / "indicators.py"
# Compiles 8 kernels, then runs on for many seconds: every signal lands before the end (with
# 200000 prices the accelerated run ended within the window, where an exit is not a Ctrl-C;
# with 1000000, one of two runs sharing 2 cores ended 4.85 s in, before its signal at 5 s).
ARGS = ("--n", "3000000", "--chunk", "10000")
INTERRUPTS = 30
WINDOW = 5.0  # seconds after the first line over which the signals are spread (the compiles)
EXIT_SECONDS = 15.0  # from the signal to the exit: a compile in progress finishes first


def _interrupted(delay: float, cache: str) -> tuple[float, subprocess.CompletedProcess]:
    """Run the example, send SIGINT ``delay`` s after its first line; ``(seconds to exit, run)``."""
    env = {
        **os.environ,
        "AUTOACCEL_CACHE_DIR": cache,
        "PYTHONPATH": str(REPO),
        "PYTHONUNBUFFERED": "1",  # the first line arrives when it is printed
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "autoaccel", str(EXAMPLE), *ARGS],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    first = process.stdout.readline()  # "prices: ...", printed before any kernel is hot
    assert first.startswith("prices:"), first
    time.sleep(delay)
    process.send_signal(signal.SIGINT)
    sent = time.monotonic()
    try:
        out, err = process.communicate(timeout=EXIT_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate()
    seconds = time.monotonic() - sent
    return seconds, subprocess.CompletedProcess(process.args, process.returncode, first + out, err)


def _problem(delay: float, seconds: float, run: subprocess.CompletedProcess) -> str | None:
    lines = run.stderr.strip().splitlines()
    frames = re.findall(r'^  File "([^"]+)"', run.stderr, re.MULTILINE)
    ours = [f for f in frames if re.search(r"[/\\](autoaccel|numba|llvmlite)[/\\]", f)]
    if run.returncode != 130 or seconds > EXIT_SECONDS:
        why = f"exit {run.returncode} after {seconds:.1f} s"
    elif lines[-1:] != ["KeyboardInterrupt"] or "Exception ignored" in run.stderr:
        why = "not a KeyboardInterrupt traceback"
    elif ours or len(lines) > 25 or any(f != str(EXAMPLE) for f in frames):
        why = f"frames other than the program's: {frames}"
    else:
        return None
    return f"SIGINT {delay:.2f} s after start: {why}\n{run.stderr[-1500:]}"


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(signal, "SIGINT") or os.name != "posix", reason="POSIX signals")
def test_ctrl_c_while_compiling_ends_the_program_as_plain_python(tmp_path):
    delays = [WINDOW * i / (INTERRUPTS - 1) for i in range(INTERRUPTS)]

    def attempt(index: int) -> str | None:
        cache = tmp_path / f"cache{index}"  # fresh: every run compiles
        seconds, run = _interrupted(delays[index], str(cache))
        return _problem(delays[index], seconds, run)

    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        problems = [p for p in pool.map(attempt, range(INTERRUPTS)) if p]
    assert problems == [], "\n\n".join(problems)


def _interrupt() -> None:
    """SIGINT to this process, handled before the next line (raise_signal is synchronous)."""
    signal.raise_signal(signal.SIGINT)


def test_a_deferred_interrupt_is_raised_when_the_body_ends(python_sigint):
    finished = []
    with pytest.raises(KeyboardInterrupt), interrupts.deferred():
        _interrupt()  # held back
        finished.append(True)
    assert finished == [True]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_a_deferred_interrupt_replaces_the_bodys_error_without_showing_it(python_sigint):
    # Nested: the inner one hands the signal to the outer one.
    with pytest.raises(KeyboardInterrupt) as caught, interrupts.deferred(), interrupts.deferred():
        _interrupt()
        raise ValueError("a compile error")
    assert caught.value.__suppress_context__


def test_a_programs_own_handler_is_called_once_after_the_body():
    calls = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: calls.append(signum))
    try:
        with interrupts.deferred():
            _interrupt()
            assert calls == []
        assert calls == [signal.SIGINT]
    finally:
        signal.signal(signal.SIGINT, previous)


def test_a_keyboard_interrupt_hidden_by_numba_is_raised_again():
    interrupt = KeyboardInterrupt()
    hidden = SystemError("CPUDispatcher(f) returned a result with an exception set")
    hidden.__cause__ = interrupt
    with pytest.raises(KeyboardInterrupt) as caught:
        interrupts.raise_hidden(hidden)
    assert caught.value is interrupt
    interrupts.raise_hidden(ValueError("an ordinary error"))  # returns


def test_an_interrupted_trial_call_is_not_held_against_the_variant():
    trial = Trial(compiled=None, signature="(float64)", compile_seconds=0.0)
    run = VariantRun(copies=(), result=1.0, error=None, seconds=0.0)
    trial.original_raised(run, KeyboardInterrupt())
    assert trial.failure is None
    trial.original_raised(run, ValueError())
    assert trial.failure is not None
