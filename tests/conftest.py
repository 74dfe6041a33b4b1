"""Shared fixtures: import isolation and modules written to ``tmp_path``."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from autoaccel import Config, install
from autoaccel.cache import authentication
from autoaccel.state import STATE

REPO = Path(__file__).resolve().parent.parent
_INFRASTRUCTURE = {"numba", "llvmlite", "autoaccel"}


@pytest.fixture(autouse=True)
def private_cache(tmp_path_factory, monkeypatch):
    """Each test gets its own empty cache directory (also for its subprocesses)."""
    path = tmp_path_factory.mktemp("cache")
    monkeypatch.setenv("AUTOACCEL_CACHE_DIR", str(path))
    STATE.reset()
    yield path
    STATE.reset()


@pytest.fixture
def isolated_imports():
    """Restore ``sys.meta_path``, ``sys.modules`` and ``sys.path`` after the test.

    Numba, llvmlite and autoaccel's own modules stay loaded: a second copy of Numba in one
    process would not know the first one's registered extensions.
    """
    meta_path, modules, path = list(sys.meta_path), dict(sys.modules), list(sys.path)
    yield
    sys.meta_path[:] = meta_path
    for name in set(sys.modules) - set(modules):
        if name.partition(".")[0] not in _INFRASTRUCTURE:
            del sys.modules[name]
    sys.modules.update(modules)
    sys.path[:] = path
    importlib.invalidate_caches()


@pytest.fixture
def accelerated(tmp_path, isolated_imports):
    """``accelerated(source, name=..., **config) -> module``: write, hook, import.

    The module is written to ``tmp_path`` under a name unique to the test, imported with
    the hook installed for that name only, and the hook is removed again.
    """
    counter = iter(range(1000))

    def load(source: str, name: str | None = None, **settings: Any):
        name = name or f"aa_mod_{os.getpid()}_{id(tmp_path)}_{next(counter)}"
        (tmp_path / f"{name}.py").write_text(textwrap.dedent(source))
        if str(tmp_path) not in sys.path:
            sys.path.insert(0, str(tmp_path))
        settings.setdefault("min_calls", 1)
        settings.setdefault("min_gain", 0.0)
        with install(Config(modules=(name,), **settings)):
            return importlib.import_module(name)

    return load


def run_python(
    *args: str,
    cwd: Path | None = None,
    env: dict | None = None,
    stdin: str | None = None,
    timeout: float = 300,
) -> subprocess.CompletedProcess:
    """Run ``python *args`` in a subprocess with the repository importable."""
    environment = {**os.environ, **(env or {})}
    environment["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(REPO), environment.get("PYTHONPATH")])
    )
    return subprocess.run(
        [sys.executable, *args],
        cwd=cwd,
        env=environment,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def run_autoaccel(
    config: Path, report: Path, *args: str, **options: Any
) -> subprocess.CompletedProcess:
    """``python -m autoaccel --config CONFIG --report-json REPORT *args`` via :func:`run_python`."""
    return run_python(
        "-m", "autoaccel", "--config", str(config), "--report-json", str(report), *args, **options
    )


def read_entry(cache_dir: Path, relative: str) -> bytes:
    """The data of cache file ``relative`` (``"code/name"``), after checking its tag."""
    secret = (cache_dir / authentication.SECRET_NAME).read_bytes()
    return authentication.unseal(secret, relative, (cache_dir / relative).read_bytes())


def write_entry(cache_dir: Path, relative: str, data: bytes) -> None:
    """Store ``data`` as cache file ``relative`` with a valid tag, as autoaccel would."""
    secret = (cache_dir / authentication.SECRET_NAME).read_bytes()
    (cache_dir / relative).write_bytes(authentication.seal(secret, relative, data))
