"""Long-lived objects frozen out of the garbage collector's full collections (gc.freeze)."""

from __future__ import annotations

import gc
import json
import textwrap

from conftest import run_autoaccel, run_python

from autoaccel.backends.collector import freeze_long_lived
from autoaccel.state import STATE

SCRIPT = """
import gc, json, sys

frozen_at_start = gc.get_freeze_count()

def total(n):
    s = 0.0
    for i in range(n):
        s += i * 0.5
    return s

answers = [total(20000) for _ in range(60)]
print(json.dumps({
    "start": frozen_at_start,
    "end": gc.get_freeze_count(),
    "numba": "numba" in sys.modules,
    "answer": answers[-1],
}))
"""


def _run(tmp_path, freeze: str) -> dict:
    (tmp_path / "app.py").write_text(textwrap.dedent(SCRIPT))
    config = tmp_path / "autoaccel.toml"
    config.write_text(f'modules = ["__main__"]\nmin_calls = 5\ngc_freeze = {freeze}\n')
    done = run_autoaccel(config, tmp_path / "report.json", "app.py", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _interpreter_frozen() -> int:
    """What a plain interpreter reports frozen (3.12 starts with some objects there)."""
    return int(run_python("-c", "import gc; print(gc.get_freeze_count())").stdout)


def test_objects_alive_at_install_and_after_numba_import_are_frozen(tmp_path):
    seen = _run(tmp_path, "true")
    assert seen["answer"] == sum(i * 0.5 for i in range(20000))
    assert seen["start"] > _interpreter_frozen() + 1000, "frozen at install, before the script"
    assert seen["numba"] and seen["end"] > seen["start"] + 10000, "and again after Numba"


def test_gc_freeze_false_freezes_nothing(tmp_path):
    seen = _run(tmp_path, "false")
    assert seen["numba"] and seen["start"] == seen["end"] == _interpreter_frozen()


def test_freezing_is_a_no_op_unless_the_configuration_asks(monkeypatch):
    before = gc.get_freeze_count()
    monkeypatch.setattr(STATE, "gc_freeze", False)
    freeze_long_lived()
    assert gc.get_freeze_count() == before
    monkeypatch.setattr(STATE, "gc_freeze", True)
    try:
        freeze_long_lived()
        assert gc.get_freeze_count() > before
    finally:
        gc.unfreeze()  # the test process keeps collecting as before
