"""Child processes of ``python -m autoaccel`` are accelerated with the parent's configuration.

Unit tests of the environment hand-over, then subprocess tests: ``multiprocessing`` with each
start method, ``subprocess.run([sys.executable, ...])``, turning it off, the shared cache,
the report, and a user's own ``sitecustomize``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from conftest import run_python, write

from autoaccel._version import __version__
from autoaccel.cache.directory import cache_path
from autoaccel.config import Config, FunctionOverride, JitOptions
from autoaccel.hook.children import (
    BOOTSTRAP_DIR,
    CONFIG_VARIABLE,
    RERUN_VARIABLE,
    child_config,
    prepare_children,
)

# A kernel Numba compiles, with the configuration that promotes it on its first calls. The
# worker reports the results and what the process it ran in made of the kernel.
CONFIG = """
modules = ["__main__", "aa_kmod"]
min_calls = 1
min_gain = 0
validation_calls = 1

[functions."__main__.work"]
enabled = false

[functions."aa_kmod.work"]
enabled = false
"""

KERNEL = """
import os
import numpy as np


def kernel(a):
    total = 0.0
    for i in range(a.shape[0]):
        total += a[i] * a[i]
    return total


def work(n):
    from autoaccel.runtime.registry import lookup

    a = np.arange(n, dtype=np.float64) / 7.0
    results = [float(kernel(a)) for _ in range(6)]
    trampoline = lookup(kernel)
    return {
        "results": results,
        "accelerated": trampoline is not None,
        "promoted": bool(trampoline and trampoline.promotions),
        "cache_dir": trampoline.config.cache_dir if trampoline else None,
        "name": __name__,
        "pid": os.getpid(),
    }
"""

POOL_APP = (
    KERNEL
    + """
import json
import multiprocessing
import sys

if __name__ == "__main__":
    context = multiprocessing.get_context(sys.argv[1])
    with context.Pool(1) as pool:
        print(json.dumps(pool.map(work, [1000])[0]))
"""
)

# The child prints its own view; the parent passes it on with the child's exit status and pid.
CHILD = (
    KERNEL
    + """
import json
import sys

if __name__ == "__main__":
    seen = work(500)
    seen.update(argv=sys.argv, file=__file__, path0=sys.path[0])
    print(json.dumps(seen))
    sys.exit(3)
"""
)

PARENT = """
import json
import subprocess
import sys

with subprocess.Popen(
    [sys.executable, *sys.argv[1:]], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
) as proc:
    out, err = proc.communicate()
sys.stderr.write(err)
print(json.dumps({"child": json.loads(out), "rc": proc.returncode, "pid": proc.pid}))
"""


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    """No ``AUTOACCEL_*`` variable of the caller reaches the subprocesses but the private cache."""
    for name in list(os.environ):
        if name.startswith("AUTOACCEL_") and name != "AUTOACCEL_CACHE_DIR":
            monkeypatch.delenv(name)


def project(tmp_path: Path, config: str = CONFIG) -> Path:
    """``tmp_path/app`` holding the configuration, the programs and a selected module."""
    app = tmp_path / "app"
    write(app / "python_optimizer.toml", config)
    write(app / "pool_app.py", POOL_APP)
    write(app / "child.py", CHILD)
    write(app / "parent.py", PARENT)
    write(app / "aa_kmod.py", KERNEL)
    return app


def last_json(proc) -> dict:
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


# The environment hand-over (unit) ----------------------------------------------------------


def test_prepare_children_puts_config_and_bootstrap_in_the_environment():
    config = Config(modules=("__main__",), min_calls=3, report=True, report_json="r.json")
    environ = {"PYTHONPATH": "/user/lib"}
    prepare_children(config, environ)
    assert environ["PYTHONPATH"] == os.pathsep.join([BOOTSTRAP_DIR, "/user/lib"])
    assert (Path(BOOTSTRAP_DIR) / "sitecustomize.py").is_file()
    table = json.loads(environ[CONFIG_VARIABLE])
    assert table["min_calls"] == 3
    assert "report" not in table and "report_json" not in table
    assert table["cache_dir"] == str(cache_path(config))
    assert Path(table["cache_dir"]).is_absolute()
    assert environ[RERUN_VARIABLE] == "1"
    prepare_children(Config(modules=("app.*",)), environ)
    assert environ[RERUN_VARIABLE] == "0"  # the child's script is not selected


def test_prepare_children_twice_adds_the_bootstrap_once():
    environ: dict[str, str] = {}
    prepare_children(Config(), environ)
    prepare_children(Config(), environ)
    assert environ["PYTHONPATH"] == BOOTSTRAP_DIR


@pytest.mark.parametrize("config", [Config(children=False), Config(enabled=False)])
def test_prepare_children_off_removes_what_an_accelerated_parent_passed_on(config):
    environ: dict[str, str] = {}
    prepare_children(Config(), environ)
    environ["PYTHONPATH"] += os.pathsep + "/user/lib"
    prepare_children(config, environ)
    assert environ == {"PYTHONPATH": "/user/lib"}


def test_child_config_round_trip_uses_the_parents_settings(tmp_path):
    config = Config(
        modules=("__main__", "app.*"),
        exclude=("app.plot",),
        min_calls=2,
        min_gain=0.5,
        cache_dir=str(tmp_path / "c"),
        jit=JitOptions(boundscheck=False),
        functions={"app.k.f": FunctionOverride(enabled=False, min_calls=4)},
        report=True,
    )
    environ: dict[str, str] = {}
    prepare_children(config, environ)
    child = child_config(environ)
    assert child == Config(
        modules=config.modules,
        exclude=config.exclude,
        min_calls=2,
        min_gain=0.5,
        cache_dir=str(tmp_path / "c"),
        jit=JitOptions(boundscheck=False),
        functions={"app.k.f": FunctionOverride(enabled=False, min_calls=4)},
    )


def test_child_config_absent_or_disabled_is_none():
    assert child_config({}) is None
    environ: dict[str, str] = {}
    prepare_children(Config(), environ)
    assert child_config({**environ, "AUTOACCEL_DISABLE": "1"}) is None


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("{not json", "Expecting property name"),
        ("[1]", "not a JSON object"),
        ('{"min_calls": "many"}', "key 'min_calls' must be int, got 'many'"),
    ],
)
def test_bad_child_config_warns_naming_the_variable(raw, shown):
    with pytest.warns(UserWarning, match="runs unaccelerated") as caught:
        assert child_config({CONFIG_VARIABLE: raw}) is None
    message = str(caught[0].message)
    assert shown in message
    if "key" in shown:
        assert CONFIG_VARIABLE in message


# multiprocessing ------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("method", ["fork", "spawn", "forkserver"])
def test_pool_workers_are_accelerated_with_each_start_method(tmp_path, method, private_cache):
    app = project(tmp_path)
    plain = last_json(run_python("pool_app.py", method, cwd=app))
    seen = last_json(run_python("-m", "autoaccel", "pool_app.py", method, cwd=app))
    assert not plain["accelerated"]
    assert seen["results"] == plain["results"]
    assert seen["accelerated"] and seen["promoted"], seen
    # spawn and forkserver re-run the script as __mp_main__, as plain Python does.
    assert seen["name"] == plain["name"] == ("__main__" if method == "fork" else "__mp_main__")
    assert seen["cache_dir"] == str(private_cache)


# subprocess.run([sys.executable, ...]) ----------------------------------------------------------


@pytest.mark.slow
def test_subprocess_script_child_is_accelerated_in_the_same_process(tmp_path, private_cache):
    app = project(tmp_path)
    plain = last_json(run_python("parent.py", "child.py", "x y", cwd=app))
    seen = last_json(run_python("-m", "autoaccel", "parent.py", "child.py", "x y", cwd=app))
    child = seen["child"]
    assert child["results"] == plain["child"]["results"]
    assert child["accelerated"] and child["promoted"], seen
    assert not plain["child"]["accelerated"]
    # Re-run with os.execv: same pid, exit status, argv, __file__ and sys.path[0] as plain.
    assert child["pid"] == seen["pid"]
    assert seen["rc"] == plain["rc"] == 3
    for key in ("argv", "file", "path0", "name"):
        assert child[key] == plain["child"][key], key
    assert child["cache_dir"] == str(private_cache)


@pytest.mark.slow
def test_subprocess_c_child_gets_the_hook_for_selected_modules(tmp_path):
    app = project(tmp_path)
    code = "import aa_kmod, json; print(json.dumps(aa_kmod.work(300)))"
    plain = last_json(run_python("parent.py", "-c", code, cwd=app))
    seen = last_json(run_python("-m", "autoaccel", "parent.py", "-c", code, cwd=app))
    assert seen["child"]["results"] == plain["child"]["results"]
    assert seen["child"]["promoted"], seen
    assert not plain["child"]["accelerated"]


@pytest.mark.slow
def test_children_share_the_parents_cache_directory_from_any_working_directory(
    tmp_path, monkeypatch
):
    monkeypatch.delenv("AUTOACCEL_CACHE_DIR")  # the file's relative cache_dir is used
    app = project(tmp_path, 'cache_dir = "relative-cache"\n' + CONFIG)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    code = (
        f"import json, os, sys; sys.path.insert(0, {str(app)!r}); os.chdir({str(elsewhere)!r}); "
        "import aa_kmod; print(json.dumps(aa_kmod.work(100)))"
    )
    seen = last_json(run_python("-m", "autoaccel", "parent.py", "-c", code, cwd=app))
    assert seen["child"]["promoted"], seen
    assert seen["child"]["cache_dir"] == str(app / "relative-cache")


# Turning it off -------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("how", ["config", "environment"])
def test_children_off_leaves_children_plain(tmp_path, how):
    config = CONFIG.replace("validation_calls", "children = false\nvalidation_calls")
    app = project(tmp_path, config if how == "config" else CONFIG)
    env = {"AUTOACCEL_CHILDREN": "0"} if how == "environment" else {}
    seen = last_json(run_python("-m", "autoaccel", "parent.py", "child.py", cwd=app, env=env))
    assert not seen["child"]["accelerated"]
    pool = last_json(run_python("-m", "autoaccel", "pool_app.py", "spawn", cwd=app, env=env))
    assert not pool["accelerated"]


# The report belongs to the parent ---------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("program", [["parent.py", "child.py"], ["pool_app.py", "fork"]])
def test_only_the_parent_writes_the_report(tmp_path, program):
    app = project(tmp_path)
    options = ["--report", "--report-json", "out.json"]
    proc = run_python("-m", "autoaccel", *options, *program, cwd=app)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.count(f"autoaccel {__version__} report") == 1, proc.stderr
    report = json.loads((app / "out.json").read_text())
    calls = {entry["name"]: entry["calls"] for entry in report["functions"]}
    # The parent never calls kernel: a report written by a child would show the child's calls.
    assert calls.get("__main__.kernel", 0) == 0, calls


# A user's own sitecustomize ---------------------------------------------------------------------


@pytest.mark.slow
def test_users_sitecustomize_still_runs_once_in_each_process(tmp_path):
    app = project(tmp_path)
    site = write(
        tmp_path / "site" / "sitecustomize.py",
        f"""
        import os
        with open({str(tmp_path / "ran.txt")!r}, "a") as handle:
            handle.write(f"{{os.getpid()}}\\n")
        """,
    )
    env = {"PYTHONPATH": str(site.parent)}
    seen = last_json(run_python("-m", "autoaccel", "parent.py", "child.py", cwd=app, env=env))
    assert seen["child"]["promoted"], seen
    pids = (tmp_path / "ran.txt").read_text().split()
    assert sorted(pids) == sorted({*pids}), pids  # once per process, also across the execv
    assert str(seen["pid"]) in pids and len(pids) == 2


@pytest.mark.slow
def test_bad_child_config_runs_the_child_plain_with_a_warning(tmp_path):
    app = project(tmp_path)
    env = {CONFIG_VARIABLE: '{"min_calls": 0}', "PYTHONPATH": BOOTSTRAP_DIR}
    proc = run_python("child.py", cwd=app, env=env)
    assert proc.returncode == 3
    assert CONFIG_VARIABLE in proc.stderr and "min_calls" in proc.stderr
    assert not json.loads(proc.stdout)["accelerated"]


@pytest.mark.slow
def test_autoaccel_run_in_a_child_installs_one_hook(tmp_path):
    app = project(tmp_path)
    write(
        app / "count.py",
        """
        import sys
        print(sum(type(f).__name__ == "AccelFinder" for f in sys.meta_path))
        """,
    )
    code = "import subprocess, sys; subprocess.run([sys.executable, '-m', 'autoaccel', 'count.py'])"
    environ: dict[str, str] = {}
    prepare_children(Config(modules=("__main__",)), environ)
    proc = run_python("-c", code, cwd=app, env=environ)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "1"


@pytest.mark.slow
def test_script_child_not_selected_is_not_rerun_but_gets_the_hook(tmp_path):
    app = project(tmp_path, CONFIG.replace('"__main__", ', ""))
    write(
        app / "child2.py",
        """
        import json, sys
        import aa_kmod
        print(json.dumps({"promoted": aa_kmod.work(100)["promoted"], "argv": sys.orig_argv}))
        """,
    )
    seen = last_json(run_python("-m", "autoaccel", "parent.py", "child2.py", cwd=app))
    assert seen["child"]["promoted"], seen
    assert "autoaccel" not in seen["child"]["argv"]


@pytest.mark.slow
@pytest.mark.parametrize("method", ["spawn", "forkserver"])
def test_pool_workers_of_a_module_run_with_dash_m_are_accelerated(tmp_path, method):
    app = project(tmp_path)
    plain = last_json(run_python("-m", "pool_app", method, cwd=app))
    seen = last_json(run_python("-m", "autoaccel", "-m", "pool_app", method, cwd=app))
    assert seen["results"] == plain["results"]
    assert seen["promoted"], seen
    assert seen["name"] == plain["name"] == "__mp_main__"
