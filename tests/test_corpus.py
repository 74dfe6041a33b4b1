"""Real pure-Python PyPI packages give the same answers under autoaccel as under CPython.

Each package of the corpus (``benchmarks/corpus/<name>/driver.py``, pinned in the ``test``
extra) runs its driver's reduced workload (``--quick``: the same code paths on less data) as
plain Python, then under ``python -m autoaccel`` with the package's own configuration
(``default``) and with promotion forced (``forced``: ``min_calls = 1``, ``min_gain = 0``, so
every variant that passes validation answers the rest of the calls). The driver prints a
digest of every answer (exact float reprs, hashes of large results); the test asserts that it
is identical, and that autoaccel rewrote the package's modules. A package that is not
installed is skipped. See docs/reach.md.
"""

from __future__ import annotations

import importlib.util
import json
import sys

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

import pytest
from conftest import REPO, run_python

HARNESS = REPO / "benchmarks" / "corpus" / "run.py"


def _harness():
    """benchmarks/corpus/run.py as a module: the package list and the modes' environments."""
    spec = importlib.util.spec_from_file_location("corpus_harness", HARNESS)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while it executes
    spec.loader.exec_module(module)
    return module


harness = _harness()
# Known divergences, found by this corpus: the forced run promotes a variant whose answers
# differ on later calls. docs/reach.md gives each reproduction. (perlin_noise's, row 37 of
# docs/divergences.md, is fixed.)
KNOWN: dict[tuple[str, str], str] = {}


def _cases():
    for name in harness.PACKAGES:
        for mode in ("default", "forced"):
            marks = ()
            if (name, mode) in KNOWN:
                marks = pytest.mark.xfail(reason=KNOWN[name, mode], strict=False)
            yield pytest.param(name, mode, id=f"{name}-{mode}", marks=marks)


_PLAIN: dict[str, str] = {}


def plain_output(name: str, tmp_path) -> str:
    """The driver's stdout as plain Python (run once per package and session)."""
    if name not in _PLAIN:
        result = run_python(str(harness.driver(name)), "--quick", cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        _PLAIN[name] = result.stdout
    return _PLAIN[name]


@pytest.mark.slow
@pytest.mark.parametrize(("name", "mode"), list(_cases()))
def test_same_output_under_autoaccel(name, mode, tmp_path):
    distribution = harness.PACKAGES[name]
    if harness.installed_version(distribution) is None:
        pytest.skip(f'{distribution} is not installed: python -m pip install -e ".[test]"')
    expected = plain_output(name, tmp_path)
    assert expected.splitlines()[-1].startswith("digest ")

    env = harness.environment(tmp_path / f"cache-{mode}", mode, quick=True)
    report = tmp_path / "report.json"
    script = [str(harness.driver(name)), "--quick"]
    accelerated = run_python(
        "-m", "autoaccel", "--report-json", str(report), *script, cwd=tmp_path, env=env
    )
    assert accelerated.returncode == 0, accelerated.stderr[-3000:]
    assert accelerated.stdout == expected

    # The package's modules (and only they) were imported through autoaccel's finder and
    # rewritten, and some of their functions were called.
    config = tomllib.loads((harness.driver(name).parent / "python_optimizer.toml").read_text())
    packages = tuple(pattern.removesuffix(".*") + "." for pattern in config["modules"])
    functions = json.loads(report.read_text())["functions"]
    assert functions, "autoaccel rewrote no function of the package"
    assert all(f["name"].startswith(packages) for f in functions)
    assert any(f["calls"] > 0 for f in functions)
