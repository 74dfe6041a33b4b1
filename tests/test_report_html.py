"""``--report-html FILE``: a self-contained page, loaded in headless Chromium.

Chromium is Debian's ``chromium`` package; ``.ci/run`` installs it, so in CI its absence is
a failure, elsewhere a skip.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest
from conftest import run_python

APP = """
import numpy as np

def total(a):
    s = 0.0
    for i in range(a.shape[0]):
        s += a[i] * a[i]
    return s

def table(x):
    return {"x": x}

def chunks(n):
    yield n

x = np.arange(3000.0)
for _ in range(30):
    total(x)
    table(1.0)
    list(chunks(3))
print(total(x))
"""


@pytest.fixture(scope="module")
def report_page(tmp_path_factory):
    where = tmp_path_factory.mktemp("html")
    (where / "python_optimizer.toml").write_text(
        'modules = ["__main__"]\nmin_calls = 3\nmin_gain = 0.0\nbackground_compile = false\n'
    )
    (where / "app.py").write_text(APP)
    result = run_python(
        "-m",
        "autoaccel",
        "--report-html",
        "report.html",
        "app.py",
        cwd=where,
        env={"AUTOACCEL_CACHE_DIR": str(where / "cache")},
    )
    assert result.returncode == 0, result.stderr
    return where / "report.html"


@pytest.mark.slow
def test_the_page_loads_nothing_from_outside(report_page):
    text = report_page.read_text()
    assert text.startswith("<!DOCTYPE html>")
    assert not re.search(r"<(script|link|img|iframe)\b|\bsrc=|url\(", text)
    # The one URL is SVG's namespace name, which is never fetched.
    assert set(re.findall(r"https?://[^\s\"'<>]+", text)) == {"http://www.w3.org/2000/svg"}


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is missing: .ci/run installs Debian's chromium package")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    return found


def _dom(chromium: str, page) -> str:
    result = subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom", page.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.mark.slow
def test_chromium_renders_the_table_the_chart_and_the_grouped_reasons(report_page):
    dom = _dom(_chromium(), report_page)
    rows = re.findall(r"<tr>(.*?)</tr>", dom)
    cells = {re.sub(r"<[^>]+>", "|", row).split("|")[1]: row for row in rows[1:]}
    assert set(cells) >= {"__main__.total", "__main__.table", "__main__.chunks"}
    assert '<td class="promoted">promoted</td>' in cells["__main__.total"]
    assert '<td class="rejected">rejected</td>' in cells["__main__.chunks"]
    # One bar per promoted variant, labelled with its speed-up.
    chart = re.search(r'<svg class="speedups".*?</svg>', dom, re.DOTALL)
    assert chart is not None and chart.group(0).count("<rect") == 1
    assert re.search(r"__main__\.total\(array\(float64, 1d, C\)\): [\d.]+x", chart.group(0))
    reasons = re.search(r'<ul class="reasons">(.*?)</ul>', dom, re.DOTALL)
    assert reasons is not None
    assert "docs/reasons.md#row-31" in reasons.group(1)
    assert "docs/reasons.md#row-25" in reasons.group(1)
