"""The persistent cache across runs: saved decisions, exact invalidation, robustness, safety.

Each test runs a small program twice (or more) in fresh processes sharing one cache directory
(the autouse ``private_cache`` fixture), as a user runs the same program again and again.
"""

from __future__ import annotations

import json
import os
import stat
import textwrap
from pathlib import Path

import pytest
from conftest import run_python

pytestmark = pytest.mark.slow

APP = """
import sys
import numpy as np
from helpers import scale

N = 3

def kernel(a):
    s = 0.0
    for i in range(a.shape[0]):
        s += scale(a[i]) * N
    return s

def other(a):
    s = 0.0
    for i in range(a.shape[0]):
        s += a[i] * a[i]
    return s

if __name__ == "__main__":
    a = np.linspace(0.0, 1.0, 2000)
    kernel(a)
    print("first call done", file=sys.stderr, flush=True)
    for _ in range(12):
        r1, r2 = kernel(a), other(a)
    print(repr(r1), repr(r2))
"""

HELPERS = """
def scale(x):
    return x * 2.0
"""

# Functions' warm start: loops off, or the script's own driver loop (top level) would be
# promoted with kernel and other compiled into it, and they would never be called alone.
CONFIG = """
modules = ["__main__", "helpers"]
min_calls = 4
min_gain = 0.0
loops = false
# On the calling thread: the script ends before a background compile would, and a compile
# running at exit is given up, so the first run would leave nothing to warm-start from.
background_compile = false
"""


def _write(tmp_path: Path, app: str = APP, helpers: str = HELPERS, config: str = CONFIG) -> None:
    (tmp_path / "app.py").write_text(textwrap.dedent(app))
    (tmp_path / "helpers.py").write_text(textwrap.dedent(helpers))
    (tmp_path / "python_optimizer.toml").write_text(textwrap.dedent(config))


def _run(tmp_path: Path, *options: str, env: dict | None = None) -> tuple[str, str, dict]:
    """stdout, stderr and the report's variants by function of one run of app.py."""
    report = tmp_path / "report.json"
    result = run_python(
        "-m", "autoaccel", "-v", "--report-json", str(report), *options, "app.py",
        cwd=tmp_path, env=env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    functions = json.loads(report.read_text())["functions"]
    variants = {f["name"].split(".")[-1]: f for f in functions}
    return result.stdout, result.stderr, variants


def _from_cache(variants: dict, name: str) -> bool:
    return all(v["from_cache"] for v in variants[name]["variants"]) and bool(
        variants[name]["variants"]
    )


def test_second_run_promotes_from_the_first_call_without_compiling(tmp_path):
    _write(tmp_path)
    plain = run_python("app.py", cwd=tmp_path).stdout
    out1, err1, first = _run(tmp_path)
    out2, err2, second = _run(tmp_path)
    assert out1 == out2 == plain
    assert not _from_cache(first, "kernel") and "compiled" in err1
    assert _from_cache(second, "kernel") and _from_cache(second, "other")
    assert ": compiled" not in err2  # no trial: nothing compiled, nothing validated again
    promoted = err2.index("kernel(array(float64, 1d, C)): promoted")
    assert promoted < err2.index("first call done")
    assert "(saved decision)" in err2


@pytest.mark.parametrize(
    ("change", "recompiled", "cached"),
    [
        ("edit other", {"other"}, {"kernel"}),
        ("edit helper in another module", {"kernel"}, {"other"}),
        ("change a global the kernel reads", {"kernel"}, {"other"}),
        ("change jit options", {"kernel", "other"}, set()),
    ],
)
def test_a_change_drops_exactly_the_entries_it_affects(tmp_path, change, recompiled, cached):
    _write(tmp_path)
    _run(tmp_path)
    app, helpers, config = APP, HELPERS, CONFIG
    if change == "edit other":
        app = APP.replace("s += a[i] * a[i]", "s += a[i] * a[i] * 1.0")
    elif change == "edit helper in another module":
        helpers = HELPERS.replace("2.0", "2.5")
    elif change == "change a global the kernel reads":
        app = APP.replace("N = 3", "N = 4")
    else:
        config = CONFIG + "[jit]\nboundscheck = false\n"
    _write(tmp_path, app, helpers, config)
    plain = run_python("app.py", cwd=tmp_path).stdout
    out, _, variants = _run(tmp_path)
    assert out == plain
    assert {name for name in recompiled | cached if _from_cache(variants, name)} == cached


def test_a_new_min_gain_retries_the_decision_but_loads_the_variant(tmp_path):
    _write(tmp_path)
    _run(tmp_path)
    _write(tmp_path, config=CONFIG.replace("min_gain = 0.0", "min_gain = 1.0"))
    _, err, variants = _run(tmp_path)
    assert "(saved decision)" not in err  # the policy changed: trialled again
    assert _from_cache(variants, "kernel")  # but its code came from the cache


def test_a_rejection_is_not_tried_again(tmp_path):
    # Under a min_gain no variant can reach, calls are too short to be compiled at all.
    _write(tmp_path, config=CONFIG.replace("min_gain = 0.0", "min_gain = 1000000.0"))
    _, err1, first = _run(tmp_path)
    _, _, second = _run(tmp_path)
    assert first["other"]["state"] == "rejected" and "other: compiled" not in err1
    assert second["other"]["state"] == "rejected"
    assert second["other"]["reason"] == first["other"]["reason"] + " (saved decision)"
    assert "too short for any compiled variant" in second["other"]["reason"]


FAILING_APP = """
import numpy as np

def other(a):
    return a.no_such_attribute

if __name__ == "__main__":
    for _ in range(8):
        try:
            other(np.zeros(3))
        except AttributeError as exc:
            print(exc)
"""


def test_a_compile_failure_is_remembered(tmp_path):
    _write(tmp_path, app=FAILING_APP)
    out1, _, first = _run(tmp_path)
    out2, err2, second = _run(tmp_path)
    assert out1 == out2 == run_python("app.py", cwd=tmp_path).stdout
    assert "Numba cannot compile it" in first["other"]["reason"]
    # Marked as loaded from the cache, as every saved decision is.
    assert second["other"]["reason"] == first["other"]["reason"] + " (saved decision)"
    assert "other: compiled" not in err2


def _damage(cache: Path, how: str) -> int:
    damaged = 0
    for path in sorted(cache.rglob("*")):
        if path.is_file():
            data = path.read_bytes()
            path.write_bytes(data[: len(data) // 2] if how == "truncate" else b"\x80junk" * 7)
            damaged += 1
    for section in ("code", "decisions", "variants"):
        (cache / section).mkdir(exist_ok=True)
        (cache / section / "foreign.pickle").write_bytes(b"not ours")
    return damaged


@pytest.mark.parametrize("how", ["truncate", "garbage"])
def test_a_damaged_cache_changes_nothing_but_speed(tmp_path, private_cache, how):
    _write(tmp_path)
    plain = run_python("app.py", cwd=tmp_path).stdout
    _run(tmp_path)
    assert _damage(private_cache, how) > 0
    out, err, variants = _run(tmp_path)
    assert out == plain and "Traceback" not in err
    assert not _from_cache(variants, "kernel")
    out, _, variants = _run(tmp_path)  # the damaged entries were replaced
    assert out == plain and _from_cache(variants, "kernel")


def test_an_unwritable_cache_changes_nothing(tmp_path, private_cache):
    _write(tmp_path)
    plain = run_python("app.py", cwd=tmp_path).stdout
    # Every write fails as on a full or read-only disk (root ignores permission bits).
    failing = tmp_path / "sitecustomize.py"
    failing.write_text(
        "import os, errno\n"
        "def _full(*args, **kwargs):\n"
        "    raise OSError(errno.ENOSPC, 'No space left on device')\n"
        "os.replace = _full\n"
    )
    out, err, variants = _run(tmp_path, env={"PYTHONPATH": str(tmp_path)})
    assert out == plain and "Traceback" not in err
    assert variants["kernel"]["state"] == "promoted"


POOL_APP = """
import multiprocessing
import numpy as np

def kernel(a):
    s = 0.0
    for i in range(a.shape[0]):
        s += a[i] * 0.5
    return s

def work(seed):
    a = np.random.default_rng(seed).random(3000)
    return [repr(kernel(a)) for _ in range(8)][-1]

if __name__ == "__main__":
    with multiprocessing.get_context("fork").Pool(4) as pool:
        print(pool.map(work, range(16)))
"""


def test_a_pool_of_processes_shares_the_cache(tmp_path):
    _write(tmp_path, app=POOL_APP, config=CONFIG.replace('"helpers"', ""))
    plain = run_python("app.py", cwd=tmp_path).stdout
    for _ in range(3):
        result = run_python("-m", "autoaccel", "app.py", cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        assert result.stdout == plain


@pytest.mark.skipif(not hasattr(os, "getuid"), reason="POSIX ownership")
def test_a_directory_others_can_write_is_refused(tmp_path, private_cache):
    _write(tmp_path)
    plain = run_python("app.py", cwd=tmp_path).stdout
    os.chmod(private_cache, 0o777)
    out, err, variants = _run(tmp_path)
    assert out == plain
    assert "can be written by other users" in err and str(private_cache) in err
    assert list(private_cache.iterdir()) == []
    assert variants["kernel"]["state"] == "promoted"


@pytest.mark.skipif(not hasattr(os, "getuid") or os.getuid() != 0, reason="needs root to chown")
def test_a_directory_owned_by_someone_else_is_refused(tmp_path, private_cache):
    _write(tmp_path)
    os.chown(private_cache, 12345, -1)
    _, err, _ = _run(tmp_path)
    assert "is owned by uid 12345" in err


def test_a_new_cache_directory_is_private(tmp_path):
    _write(tmp_path)
    target = tmp_path / "fresh" / "cache"
    _run(tmp_path, env={"AUTOACCEL_CACHE_DIR": str(target)})
    assert stat.S_IMODE(target.stat().st_mode) == 0o700
    assert any(target.rglob("*.json"))
    for path in target.rglob("*"):
        assert stat.S_IMODE(path.lstat().st_mode) == (0o700 if path.is_dir() else 0o600), path


def test_cache_off_writes_nothing(tmp_path, private_cache):
    _write(tmp_path)
    _, _, variants = _run(tmp_path, env={"AUTOACCEL_CACHE": "0"})
    assert variants["kernel"]["state"] == "promoted"
    assert list(private_cache.iterdir()) == []


def test_cache_info_and_clear(tmp_path, private_cache):
    _write(tmp_path)  # loops off: functions' variants only
    _run(tmp_path)
    info = run_python("-m", "autoaccel", "cache", "info", "-v", cwd=tmp_path)
    assert info.returncode == 0 and str(private_cache) in info.stdout
    assert "compiled variants: 3" in info.stdout  # kernel, other and the helper scale
    assert "promoted kernel(array(float64, 1d, C))" in info.stdout
    cleared = run_python("-m", "autoaccel", "cache", "clear", cwd=tmp_path)
    assert cleared.returncode == 0 and "removed" in cleared.stdout
    assert "compiled variants: 0" in run_python("-m", "autoaccel", "cache", "info").stdout
    _, _, variants = _run(tmp_path)
    assert not _from_cache(variants, "kernel")


def test_cache_info_names_an_unsafe_directory(tmp_path, private_cache):
    os.chmod(private_cache, 0o777)
    info = run_python("-m", "autoaccel", "cache", "info", cwd=tmp_path)
    assert info.returncode == 1 and "can be written by other users" in info.stdout


def test_a_declared_signature_is_promoted_without_min_calls_and_cached(tmp_path):
    config = CONFIG.replace("min_calls = 4", "min_calls = 100") + (
        '[functions."__main__.other"]\nsignatures = ["float64(float64[:])"]\n'
    )
    _write(tmp_path, config=config)
    plain = run_python("app.py", cwd=tmp_path).stdout
    out1, err1, first = _run(tmp_path)
    out2, err2, second = _run(tmp_path)
    assert out1 == out2 == plain
    assert "compiled declared signature float64(float64[:])" in err1
    assert [v["signature"] for v in first["other"]["variants"]] == ["(array(float64, 1d, A))"]
    assert first["kernel"]["state"] != "promoted", "12 calls stay below min_calls"
    assert _from_cache(second, "other") and "(saved decision)" in err2


RECURSIVE_HELPERS = """
def scale(x):
    return depth(x, 40) + halve(x, 7)

def depth(x, n):
    return x * 2.0 if n == 0 else 0.5 * depth(x + 1.0, n - 1)

def halve(x, n):
    return x if n == 0 else halve(x / 2.0 + n, n - 1) - 1.0
"""


def test_a_variant_calling_recursive_code_is_loaded_from_the_cache(tmp_path):
    # Numba compiles a recursive call as a load from a global it points at the function once
    # defined; its cache loaded the object code without that step, and the second run
    # crashed (numba#6061). The variant, with two recursive helpers, is loaded in each later run.
    _write(tmp_path, helpers=RECURSIVE_HELPERS)
    plain = run_python("app.py", cwd=tmp_path).stdout
    out1, _, first = _run(tmp_path)
    out2, err2, second = _run(tmp_path)
    out3, _, third = _run(tmp_path)
    assert out1 == out2 == out3 == plain
    assert first["kernel"]["variants"] and not _from_cache(first, "kernel")
    assert _from_cache(second, "kernel") and _from_cache(third, "kernel")
    assert "(saved decision)" in err2


LOOP_APP = """
import numpy as np

def fit(a, epochs):
    total = 0.0
    for epoch in range(epochs):
        for i in range(a.shape[0]):
            total += a[i] * 0.5
    return total

if __name__ == "__main__":
    print(repr(fit(np.linspace(0.0, 1.0, 2000), 400)))
"""


def test_a_loop_promoted_in_one_run_is_promoted_from_its_first_iteration_in_the_next(tmp_path):
    # The loop's decision, with the Python types of its assignment sites, is saved: the next
    # run loads the variant and enters it at the first boundary, with no validation window.
    _write(tmp_path, app=LOOP_APP, config='modules = ["__main__"]\nbackground_compile = false\n')
    plain = run_python("app.py", cwd=tmp_path).stdout
    runs = []
    for _ in range(2):
        result = run_python(
            "-m", "autoaccel", "--report-json", "report.json", "app.py", cwd=tmp_path
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        assert result.stdout == plain
        (loop,) = [lp for lp in json.loads((tmp_path / "report.json").read_text())["loops"]
                   if lp["name"].endswith("<loop@6>")]  # fmt: skip
        runs.append(loop)
    first, second = runs
    assert first["state"] == second["state"] == "promoted", runs
    assert not first["variants"][0]["saved_decision"]
    assert second["variants"][0]["saved_decision"] and second["variants"][0]["from_cache"]
    assert second["iterations"] == 1 and second["trial_seconds"] == 0.0
