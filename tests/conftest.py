"""Shared fixtures and helpers (listed in tests/README.md, with the rule naming test modules)."""

from __future__ import annotations

import dataclasses
import importlib
import os
import signal
import subprocess
import sys
import textwrap
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from autoaccel import Config, install
from autoaccel.analysis.bound import needs_binding
from autoaccel.cache import authentication
from autoaccel.cache.directory import CacheDir, open_checked
from autoaccel.state import STATE

REPO = Path(__file__).resolve().parent.parent
_INFRASTRUCTURE = {"numba", "llvmlite", "autoaccel"}

# A kernel whose result holds a float constant (``short``'s ``0.0``, returned where no demand
# exceeds the stock) beside computed NumPy floats and an int constant: the shape of
# examples/mixed's simulate_policy, shared by the tests of returned constants.
SHORTFALL = """
def shortfall(demand, stock):
    total = 0.0
    short = 0.0
    for t in range(demand.shape[0]):
        total += demand[t]
        if demand[t] > stock:
            short += demand[t] - stock
    return total, short, 0
"""


@pytest.fixture(autouse=True)
def private_cache(tmp_path_factory, monkeypatch):
    """Each test gets its own empty cache directory (also for its subprocesses)."""
    path = tmp_path_factory.mktemp("cache")
    monkeypatch.setenv("AUTOACCEL_CACHE_DIR", str(path))
    # The compile budget is CPU time, and under coverage (CI) Numba's own Python code is
    # traced: a small compile can take over the 5 s default there. Subprocesses read this;
    # tests of the budget set it themselves (tests/test_backends_budget.py).
    monkeypatch.setenv("AUTOACCEL_COMPILE_BUDGET", "0")
    STATE.reset()
    yield path
    STATE.reset()


@pytest.fixture
def python_sigint():
    """SIGINT handled by Python (``default_int_handler``) for the test, as in a terminal.

    A suite started in the background by a non-interactive shell inherits SIGINT ignored, and
    CPython then installs no handler of its own: simulated Ctrl-C would do nothing.
    """
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


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
        # Compiled on the calling thread, so a test sees each decision at the call that
        # makes it (tests/test_backends_background.py tests the worker).
        settings.setdefault("background_compile", False)
        # Freezing (tests/test_backends_collector.py) would keep every earlier test's
        # objects alive in this process; a collection per import would slow the suite.
        settings.setdefault("gc_freeze", False)
        settings.setdefault("compile_budget", 0.0)  # CPU time: see private_cache
        with install(Config(modules=(name,), **settings)):
            return importlib.import_module(name)

    return load


@dataclasses.dataclass(eq=False)
class Unit:
    """A function as the back-ends see it (``autoaccel.backends.screening.Unit``), made
    without the hook: its original code, its module's globals, a static refusal."""

    code: types.CodeType
    globals: dict
    refusal: str | None = None
    compiled: Any = None
    binds: bool = False


def units(source: str, module: str = "aa_units") -> tuple[dict[str, Unit], Callable[[Any], Any]]:
    """``source`` run as module ``module``: a :class:`Unit` per function, and their lookup.

    The lookup finds a function's unit as ``autoaccel.runtime.registry.lookup`` finds a
    trampoline: functions of other modules have none.
    """
    namespace: dict = {"__name__": module}
    exec(compile(textwrap.dedent(source), f"<{module}>", "exec"), namespace)
    found = {
        name: Unit(value.__code__, namespace, binds=needs_binding(value.__code__))
        for name, value in namespace.items()
        if isinstance(value, types.FunctionType) and value.__module__ == module
    }
    by_code = {unit.code: unit for unit in found.values()}
    return found, lambda function: by_code.get(getattr(function, "__code__", None))


def compiled_variant(source: str, name: str, args: tuple, **jit: Any) -> Any:
    """Function ``name`` of ``source`` compiled as the CPU back-end compiles a variant
    (checked operations, range analysis, helpers inlined) for the types of ``args``.

    Returns the overload (``.entry_point`` runs it; ``.metadata`` holds the range
    analysis's ``Summary``).
    """
    from autoaccel.backends import cpu
    from autoaccel.backends.signatures import numba_signature
    from autoaccel.config import JitOptions

    found, lookup = units(source, f"aa_variant_{abs(hash(source))}")
    compiled = cpu.build(found[name], JitOptions(**jit), lookup)
    signature = numba_signature(args)
    cpu.compile_signature(compiled, signature)
    return compiled.entry.overloads[signature]


def typed_ssa(source: str, name: str, args: tuple) -> tuple[dict, dict]:
    """``(blocks, typemap)`` of function ``name`` of ``source`` with checked operations, in
    the SSA form Numba's typed IR has right after type inference (what the range analysis
    reads)."""
    import numba

    from autoaccel.backends.variant_code import checked_code

    namespace: dict = {}
    exec(compile(textwrap.dedent(source), f"<{name}>", "exec"), namespace)
    code, stand_ins = checked_code(namespace[name].__code__, namespace)
    function = types.FunctionType(code, {**namespace, **stand_ins}, name)
    dispatcher = numba.njit(pipeline_class=_capturing_compiler())(function)
    signature = tuple(numba.typeof(a) for a in args)
    dispatcher.compile(signature)
    return dispatcher.overloads[signature].metadata["aa_typed_ssa"]


_CAPTURING: list = []


def _capturing_compiler() -> type:
    """A Numba compiler keeping the typed SSA IR in the overload's metadata (built once)."""
    if _CAPTURING:
        return _CAPTURING[0]
    from numba.core.compiler import CompilerBase, DefaultPassBuilder
    from numba.core.compiler_machinery import FunctionPass, register_pass
    from numba.core.typed_passes import NopythonTypeInference

    @register_pass(mutates_CFG=False, analysis_only=True)
    class CaptureTypedSSA(FunctionPass):
        _name = "aa_capture_typed_ssa"

        def __init__(self) -> None:
            FunctionPass.__init__(self)

        def run_pass(self, state: Any) -> bool:
            state.metadata["aa_typed_ssa"] = (state.func_ir.blocks, dict(state.typemap))
            return False

    class Compiler(CompilerBase):
        def define_pipelines(self) -> list:
            manager = DefaultPassBuilder.define_nopython_pipeline(self.state)
            manager.add_pass_after(CaptureTypedSSA, NopythonTypeInference)
            manager.finalize()
            return [manager]

    _CAPTURING.append(Compiler)
    return Compiler


@pytest.fixture
def decorated(tmp_path, isolated_imports, monkeypatch, request):
    """``decorated(source) -> module``, imported with no hook installed (``@optimize`` alone).

    ``source`` defaults to the test module's ``KERNELS``. The working directory is
    ``tmp_path``, so a ``python_optimizer.toml`` written there is the discovered
    configuration.
    """
    monkeypatch.chdir(tmp_path)
    sys.path.insert(0, str(tmp_path))

    def load(source: str | None = None):
        source = request.module.KERNELS if source is None else source
        name = f"aa_api_{tmp_path.name}"  # unique: the report keeps earlier tests' functions
        (tmp_path / f"{name}.py").write_text(textwrap.dedent(source))
        return importlib.import_module(name)

    return load


def write(path: Path, text: str) -> Path:
    """Write ``text`` (dedented) to ``path``, making its directory; returns ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


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


def cache_at(path: Path) -> CacheDir:
    """The cache directory at ``path``, made (private) and opened as autoaccel opens it."""
    return open_checked(path, create=True)


def read_entry(cache_dir: Path, relative: str) -> bytes:
    """The data of cache file ``relative`` (``"code/name"``), after checking its tag."""
    secret = (cache_dir / authentication.SECRET_NAME).read_bytes()
    return authentication.unseal(secret, relative, (cache_dir / relative).read_bytes())


def write_entry(cache_dir: Path, relative: str, data: bytes) -> None:
    """Store ``data`` as cache file ``relative`` with a valid tag, as autoaccel would."""
    secret = (cache_dir / authentication.SECRET_NAME).read_bytes()
    (cache_dir / relative).write_bytes(authentication.seal(secret, relative, data))


# Dask and Ray workers (tests/test_dask.py, tests/test_ray.py) -------------------------------

WORKER_KERNELS = textwrap.dedent(
    """
    import numpy as np

    def smooth(x, alpha):
        out = np.empty_like(x)
        acc = x[0]
        for i in range(x.shape[0]):
            acc = alpha * x[i] + (1.0 - alpha) * acc
            out[i] = acc
        return out

    def task(seed):
        x = np.linspace(0.0, 1.0 + seed, 4000) ** 2
        return [float(smooth(x, 0.01 * (k + 1))[-1]) for k in range(12)]
    """
)
WORKER_SEEDS = list(range(6))


@pytest.fixture
def worker_kernels(tmp_path, monkeypatch):
    """The kernels module, importable here (plain) and by worker processes started now.

    Only this module leaves ``sys.modules`` afterwards: dropping every module the test
    imported (``isolated_imports``) would drop the engines' own, and a later import of
    nbformat then found no package metadata.
    """
    name = f"aa_dist_kernels_{tmp_path.name}"
    (tmp_path / f"{name}.py").write_text(WORKER_KERNELS)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    module = importlib.import_module(name)
    expected = [module.task(seed) for seed in WORKER_SEEDS]
    config = Config(modules=(name,), min_calls=3, min_gain=0.0, compile_budget=0.0)
    yield module, expected, config
    sys.modules.pop(name, None)


def promoted_in(worker: dict, name: str) -> bool:
    return any(f["name"] == name and f["state"] == "promoted" for f in worker["functions"])
