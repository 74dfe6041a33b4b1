"""The package as users get it: build the sdist and wheel, install the wheel, run an example.

The wheel goes into a fresh virtual environment with ``--no-deps``; its dependencies (NumPy,
Numba...) are reused from this test's environment through a ``.pth`` file rather than
downloaded, so the test is fast and needs no network. The example runs from a directory
outside the source tree, with nothing of the repository on ``sys.path``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import venv

import pytest
from conftest import REPO

EXAMPLE = "indicators"
ARGS = ["--n", "60000", "--chunk", "3000"]
HOT = {"__main__.ema", "__main__.rsi"}


def _run(*command: str, cwd=None, env=None) -> subprocess.CompletedProcess:
    return subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=600, check=False
    )


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The sdist and wheel built from a copy of the sources (the tree stays clean)."""
    source = tmp_path_factory.mktemp("source")
    for name in ("pyproject.toml", "setup.py", "README.md"):
        shutil.copy(REPO / name, source / name)
    # The C fast path is compiled by the build, not copied from an in-place build.
    shutil.copytree(
        REPO / "autoaccel",
        source / "autoaccel",
        ignore=shutil.ignore_patterns("__pycache__", "*.so", "*.pyd"),
    )
    # Byte-compiling is what a user's build does; the test environment may turn it off.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    dist = source / "dist"
    result = _run(
        sys.executable, "-m", "build", "--no-isolation", "--outdir", str(dist), str(source), env=env
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result, dist


@pytest.mark.slow
def test_the_sdist_and_the_wheel_build_without_warnings(built):
    result, dist = built
    assert sorted(p.suffix for p in dist.iterdir()) == [".gz", ".whl"]
    output = result.stdout + result.stderr
    assert not [line for line in output.splitlines() if "warn" in line.lower()], output


@pytest.mark.slow
def test_the_installed_wheel_runs_an_example_from_outside_the_tree(built, tmp_path):
    _, dist = built
    (wheel,) = dist.glob("*.whl")
    environment = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False).create(environment)
    python = environment / "bin" / "python"
    site = _run(str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))")
    # The dependencies of this environment, after the new one's own site-packages.
    (tmp_path / "deps.pth").write_text(sysconfig.get_path("purelib") + "\n")
    shutil.copy(tmp_path / "deps.pth", site.stdout.strip())
    install = _run(
        sys.executable,
        "-m",
        "pip",
        "--python",
        str(python),
        "install",
        "--no-deps",
        "--no-index",
        "--quiet",
        str(wheel),
    )
    assert install.returncode == 0, install.stderr
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    for name in (f"{EXAMPLE}.py", "python_optimizer.toml"):
        shutil.copy(REPO / "examples" / EXAMPLE / name, run_dir / name)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    where = _run(
        str(python), "-c", "import autoaccel; print(autoaccel.__file__)", cwd=run_dir, env=env
    )
    assert where.stdout.startswith(str(environment)), where.stdout + where.stderr
    if shutil.which((sysconfig.get_config_var("CC") or "cc").split()[0]):
        path = "from autoaccel.runtime import fastpath; print(fastpath.describe())"
        served = _run(str(python), "-c", path, cwd=run_dir, env=env)
        assert served.stdout.startswith("C ("), "the wheel lacks the C fast path"
    plain = _run(str(python), f"{EXAMPLE}.py", *ARGS, cwd=run_dir, env=env)
    assert plain.returncode == 0, plain.stderr
    accelerated = _run(
        str(python),
        "-m",
        "autoaccel",
        "--report-json",
        "report.json",
        f"{EXAMPLE}.py",
        *ARGS,
        cwd=run_dir,
        env=env,
    )
    assert accelerated.returncode == 0, accelerated.stderr
    assert accelerated.stdout == plain.stdout
    functions = json.loads((run_dir / "report.json").read_text())["functions"]
    promoted = {f["name"] for f in functions if f["state"] == "promoted"}
    assert promoted >= HOT, functions
