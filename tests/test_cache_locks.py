"""Processes sharing a cache compile each variant once (autoaccel/cache/locks.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest
from conftest import REPO

from autoaccel.cache.locks import held

KERNEL = """
import numpy as np

def total(a):
    s = 0.0
    for i in range(a.shape[0]):
        s += a[i] * 0.5
    return s

x = np.arange(1000.0)
for _ in range(30):
    total(x)
"""


def test_a_held_lock_makes_others_wait_until_their_timeout(tmp_path):
    lock = tmp_path / "sub" / "v.lock"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; sys.path.insert(0, sys.argv[2]);"
            "from pathlib import Path; from autoaccel.cache.locks import held\n"
            "with held(Path(sys.argv[1])):\n    print('held', flush=True); time.sleep(30)",
            str(lock),
            str(REPO),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline() == "held\n"
        started = time.monotonic()
        with held(lock, timeout=0.3) as acquired:
            assert not acquired
        assert time.monotonic() - started >= 0.3
    finally:
        holder.kill()
        holder.wait()
    with held(lock, timeout=5.0) as acquired:  # the kernel released the dead holder's lock
        assert acquired


@pytest.mark.slow
def test_two_processes_reaching_one_variant_together_compile_it_once(tmp_path):
    (tmp_path / "python_optimizer.toml").write_text(
        'modules = ["__main__"]\nmin_calls = 3\nmin_gain = 0.0\n'
    )
    (tmp_path / "app.py").write_text(KERNEL)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    runs = [
        subprocess.Popen(
            [sys.executable, "-m", "autoaccel", "--report-json", f"r{i}.json", "app.py"],
            cwd=tmp_path,
            env=env,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(2)
    ]
    for run in runs:
        assert run.wait(timeout=300) == 0, run.stderr.read()
    variants = []
    for i in range(2):
        (entry,) = json.loads((tmp_path / f"r{i}.json").read_text())["functions"]
        variants += entry["variants"]
    assert sorted(v["from_cache"] for v in variants) == [False, True], variants
