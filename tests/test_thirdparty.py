"""A third-party package's own test suite passes with the package accelerated.

The package is geographiclib (MIT, pure Python, pinned in the ``test`` extra): its
``geographiclib.test`` suite ships inside the package and checks geodesic results and the
signs of zeros, NaNs and infinities returned by its ``Math`` helpers. The suite runs twice in
subprocesses, as plain Python and under ``python -m autoaccel -m pytest`` with every
``geographiclib`` module selected and promotion forced (``min_calls = 1``, ``min_gain = 0``),
so each promoted variant answers the rest of the suite's calls. See docs/thirdparty.md.
"""

from __future__ import annotations

import importlib.util
import json
import xml.etree.ElementTree as ET

import pytest
from conftest import run_autoaccel, run_python

PACKAGE = "geographiclib"
# Modules the suite imports; each must appear in the report, i.e. was imported through
# autoaccel's finder and rewritten.
MODULES = {
    "geographiclib.geomath",
    "geographiclib.geodesic",
    "geographiclib.geodesicline",
    "geographiclib.polygonarea",
    "geographiclib.accumulator",
}
# Float helpers that the suite calls many times with one signature; their variants must be
# promoted and then serve the remaining calls.
HOT = {"geographiclib.geomath.Math.sum", "geographiclib.geomath.Math.atan2d"}
VALIDATION_CALLS = 3

CONFIG = f"""\
modules = ["{PACKAGE}", "{PACKAGE}.*"]
exclude = ["{PACKAGE}.test", "{PACKAGE}.test.*"]
min_calls = 1
min_gain = 0
validation_calls = {VALIDATION_CALLS}
"""


def outcomes(junit_xml) -> dict[str, str]:
    """``{test id: "passed" | "failed" | "error" | "skipped"}`` from a JUnit XML file."""
    kinds = {"failure": "failed", "error": "error", "skipped": "skipped"}
    result = {}
    for case in ET.parse(junit_xml).getroot().iter("testcase"):
        outcome = next((kinds[child.tag] for child in case if child.tag in kinds), "passed")
        result[f"{case.get('classname')}::{case.get('name')}"] = outcome
    return result


@pytest.mark.slow
def test_geographiclib_suite_passes_accelerated(tmp_path):
    if importlib.util.find_spec(PACKAGE) is None:
        pytest.skip(f'{PACKAGE} is not installed: python -m pip install -e ".[test]"')
    # An empty ini file makes tmp_path the suite's rootdir, away from this repository's config.
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    config = tmp_path / "autoaccel.toml"
    config.write_text(CONFIG)
    report = tmp_path / "report.json"
    suite = ["-m", "pytest", "-q", "-p", "no:cacheprovider", "--pyargs", f"{PACKAGE}.test"]

    plain = run_python(*suite, "--junitxml", str(tmp_path / "plain.xml"), cwd=tmp_path)
    assert plain.returncode == 0, plain.stdout + plain.stderr
    accelerated = run_autoaccel(
        config,
        report,
        *suite,
        "--junitxml",
        str(tmp_path / "accelerated.xml"),
        cwd=tmp_path,
    )
    assert accelerated.returncode == 0, accelerated.stdout + accelerated.stderr
    assert "matched no imported module" not in accelerated.stderr

    expected = outcomes(tmp_path / "plain.xml")
    assert len(expected) > 50
    assert set(expected.values()) == {"passed"}
    assert outcomes(tmp_path / "accelerated.xml") == expected

    functions = {f["name"]: f for f in json.loads(report.read_text())["functions"]}
    wrapped = {module for module in MODULES for name in functions if name.startswith(module + ".")}
    assert wrapped == MODULES
    assert not any(name.startswith(f"{PACKAGE}.test") for name in functions)
    promoted = {name for name, f in functions.items() if f["state"] == "promoted"}
    assert promoted >= HOT, {name: functions[name]["reason"] for name in HOT - promoted}
    for name in HOT:
        assert functions[name]["calls"] > VALIDATION_CALLS + 1, "the variant served later calls"
    rejected = [f for f in functions.values() if f["state"] == "rejected"]
    assert rejected, "objects, lists and class globals are refused"
    assert all(f["reason"] for f in rejected), "every rejection names its reason"
