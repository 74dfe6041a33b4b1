"""Import time of accelerated packages: plain, first accelerated import, second (cache warm).

Each measurement is a fresh ``python`` process that imports autoaccel, installs the hook (not
for "plain") and times the import of every module of the package, in wall time
(``perf_counter``) and in the thread's CPU time (``thread_time``: on a machine shared with
other work, wall times include time the process spent preempted). The three kinds of run
are interleaved round by round and the median of ``--runs`` rounds is reported. "first"
runs with an empty cache directory (each module is compiled, rewritten and its entry
saved), "second" with a directory a previous run filled. The plain imports read the
``__pycache__`` files a warm-up run wrote, as a plain second run of a program does.

Packages:
- ``generated``: 20 modules x 40 functions of mixed code (array loops, scalar loops, dict and
  string handling, a class with methods, some that the static guards refuse), written to a
  temporary directory: the size of a numeric application.
- ``email``: the standard library's ``email`` package (29 modules, 9,600 lines, 524
  functions): a large real pure-Python package that every interpreter has and that neither
  autoaccel nor NumPy imports first, so the hook sees every module.
- ``geographiclib``: the numeric package the third-party test accelerates
  (docs/thirdparty.md); small (8 modules, 64 functions) but the kind autoaccel is for.

A second part breaks the warm import down per module, in this process (best of 7, garbage
collector off): reading the source, hashing it for the key, reading, checking and
unmarshalling the entry, binding trampolines, against reading and unmarshalling the plain
``.pyc``.

    python benchmarks/import_overhead.py [--runs 21] [--packages generated,email,geographiclib]
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import itertools
import json
import marshal
import os
import pkgutil
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
MODULES, FUNCTIONS = 20, 40
KINDS = ("plain", "first", "second")

CHILD = """
import importlib, json, sys, time
start = time.perf_counter()
import autoaccel
from autoaccel import Config
ready = time.perf_counter()
kind, path, selected, names = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
if path:
    sys.path.insert(0, path)
if kind != "plain":
    autoaccel.install(Config(modules=tuple(selected.split(",")), min_calls=10**9))
begin, begin_cpu = time.perf_counter(), time.thread_time()
for name in names:
    importlib.import_module(name)
end, end_cpu = time.perf_counter(), time.thread_time()
print(json.dumps({
    "import_ms": (end - begin) * 1e3,
    "cpu_ms": (end_cpu - begin_cpu) * 1e3,
    "autoaccel_ms": (ready - start) * 1e3,
}))
"""


def _numeric(index: int) -> str:
    return textwrap.dedent(
        f"""
        def kernel_{index}(a, b, scale):
            out = np.empty_like(a)
            for i in range(a.shape[0]):
                x = a[i] * scale + b[i]
                if x > {index}.5:
                    x = math.sqrt(x) - {index}
                out[i] = x * x
            return out
        """
    )


def _scalar(index: int) -> str:
    return textwrap.dedent(
        f"""
        def scalar_{index}(x, y, n):
            total = 0.0
            for k in range(n):
                total += (x * k + y) / (k + {index + 1})
                if total > 1e6:
                    total = total % {index + 7}
            return total, math.floor(total)
        """
    )


def _objects(index: int) -> str:
    return textwrap.dedent(
        f"""
        def describe_{index}(record, keys):
            fields = {{}}
            for key in keys:
                value = record.get(key)
                if value is None:
                    continue
                fields[key] = str(value).strip().lower()
            return ", ".join(f"{{k}}={{v}}" for k, v in sorted(fields.items()))

        def parse_{index}(text, sep=","):
            try:
                parts = [float(p) for p in text.split(sep) if p]
            except ValueError:
                return None
            return sum(parts) / max(len(parts), 1)
        """
    )


def _class(methods: int) -> str:
    body = "\n".join(
        textwrap.indent(
            textwrap.dedent(
                f"""
                def step_{m}(self, dt):
                    for i in range(self.state.shape[0]):
                        self.state[i] += self.rate * dt * {m + 1}
                    self.steps += 1
                    return self.state
                """
            ),
            "    ",
        )
        for m in range(methods)
    )
    return (
        textwrap.dedent(
            """
        class Model:
            def __init__(self, n, rate=0.5):
                self.state = np.zeros(n)
                self.rate = rate
                self.steps = 0
        """
        )
        + body
    )


def generate_package(root: Path, name: str = "aa_bench_pkg") -> list[str]:
    """Write the generated package under ``root``; returns its module names."""
    package = root / name
    package.mkdir(parents=True)
    (package / "__init__.py").write_text('"""Generated for benchmarks/import_overhead.py."""\n')
    names = [name]
    # 40 functions a module: 14 array kernels, 12 scalar loops, 4 x 2 object functions,
    # and a class with __init__ and 5 methods.
    for number in range(MODULES):
        parts = ["import math\n\nimport numpy as np\n"]
        if number:
            parts.append(f"from {name} import mod_{number - 1:02d} as previous\n")
        parts += [_numeric(i) for i in range(14)]
        parts += [_scalar(i) for i in range(12)]
        parts += [_objects(i) for i in range(4)]
        parts.append(_class(5))
        (package / f"mod_{number:02d}.py").write_text("".join(parts))
        names.append(f"{name}.mod_{number:02d}")
    return names


def package_modules(name: str) -> list[str]:
    """``name`` and every module below it, as ``pkgutil`` finds them."""
    package = importlib.import_module(name)
    found = [name]
    for info in pkgutil.walk_packages(package.__path__, prefix=f"{name}."):
        if ".test" not in info.name:
            found.append(info.name)
    return found


def _child(kind: str, path: str, selected: str, names: list[str], cache: Path) -> dict:
    environment = {**os.environ, "AUTOACCEL_CACHE_DIR": str(cache)}
    environment.pop("PYTHONDONTWRITEBYTECODE", None)  # plain imports use .pyc files, as usual
    environment["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(REPO), environment.get("PYTHONPATH")])
    )
    result = subprocess.run(
        [sys.executable, "-c", CHILD, kind, path, selected, json.dumps(names)],
        env=environment,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def measure(path: str, selected: str, names: list[str], runs: int, scratch: Path) -> dict:
    """Median and best wall time, median CPU time of the imports, median time of
    ``import autoaccel`` (ms), for each kind of run."""
    warm = scratch / "warm-cache"
    _child("plain", path, selected, names, scratch / "unused")  # writes the plain .pyc files
    _child("first", path, selected, names, warm)  # fills the warm cache
    samples: dict[str, list[dict]] = {kind: [] for kind in KINDS}
    for round_ in range(runs):
        order = KINDS[round_ % 3 :] + KINDS[: round_ % 3]  # interleaved, rotating
        for kind in order:
            cache = warm if kind == "second" else scratch / f"empty-{round_}"
            samples[kind].append(_child(kind, path, selected, names, cache))
            if kind == "first":
                shutil.rmtree(cache, ignore_errors=True)
    return {
        kind: {
            "import_ms": statistics.median(sample["import_ms"] for sample in samples[kind]),
            "best_ms": min(sample["import_ms"] for sample in samples[kind]),
            "cpu_ms": statistics.median(sample["cpu_ms"] for sample in samples[kind]),
            "autoaccel_ms": statistics.median(sample["autoaccel_ms"] for sample in samples[kind]),
        }
        for kind in KINDS
    }


STEPS = (
    "pyc read + unmarshal (plain)",
    "source read",
    "source hash (key)",
    "entry read + check + unmarshal",
    "bind + trampolines",
)


def _steps(name: str, cache, config) -> list[float]:
    """One warm import of ``name`` split into :data:`STEPS` (seconds each)."""
    from autoaccel.cache.code import SourceCode, decode, entry_key, entry_name
    from autoaccel.hook.finder import _bind

    spec = importlib.util.find_spec(name)
    assert spec is not None and spec.origin and spec.cached
    times = [time.perf_counter()]
    marshal.loads(Path(spec.cached).read_bytes()[16:])
    times.append(time.perf_counter())
    source = SourceCode(Path(spec.origin).read_bytes(), spec.origin)
    times.append(time.perf_counter())
    key = entry_key(source)
    times.append(time.perf_counter())
    entry = cache.directory.read("code", entry_name(name, source, key))
    assert entry is not None
    rewritten = decode(entry, key)
    times.append(time.perf_counter())
    _bind(rewritten, name, {"__name__": name}, config)
    times.append(time.perf_counter())
    return [after - before for before, after in itertools.pairwise(times)]


def breakdown(names: list[str], path: str, scratch: Path, repeat: int = 7) -> dict[str, float]:
    """Per-step cost of a warm import, summed over ``names`` (ms), in this process.

    Each step is the best of ``repeat`` tries with the garbage collector off, so the
    figures are the steps' own costs; the end-to-end table above includes collections.
    """
    if path:
        sys.path.insert(0, path)
    os.environ["AUTOACCEL_CACHE_DIR"] = str(scratch / "breakdown-cache")
    from autoaccel import Config
    from autoaccel.cache.code import SourceCode, code_cache
    from autoaccel.rewrite.module import rewrite_module

    config = Config(modules=("*",), min_calls=10**9)
    cache = code_cache(config)
    assert cache.enabled, "the benchmark needs a usable cache directory"
    totals = dict.fromkeys((*STEPS, "functions"), 0.0)
    for name in names:
        spec = importlib.util.find_spec(name)
        assert spec is not None and spec.origin
        source = SourceCode(Path(spec.origin).read_bytes(), spec.origin)
        rewritten = rewrite_module(source.compile())
        cache.save(name, source, rewritten)
        totals["functions"] += len(rewritten.functions)
        gc.disable()
        try:
            best = [
                min(column)
                for column in zip(
                    *(_steps(name, cache, config) for _ in range(repeat)), strict=True
                )
            ]
        finally:
            gc.enable()
        for step, seconds in zip(STEPS, best, strict=True):
            totals[step] += seconds * 1e3
    return totals


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=21, help="rounds per package (median)")
    parser.add_argument(
        "--packages", default="generated,email,geographiclib", help="comma-separated"
    )
    options = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="aa-import-"))
    try:
        rows = []
        for package in options.packages.split(","):
            if package == "generated":
                names, path = generate_package(scratch / "src"), str(scratch / "src")
                selected = "aa_bench_pkg,aa_bench_pkg.*"
            else:
                names, path, selected = package_modules(package), "", f"{package},{package}.*"
            figures = measure(path, selected, names, options.runs, scratch / package)
            rows.append((package, len(names), figures, breakdown(names, path, scratch / package)))
        _print(rows, options.runs)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _print(rows: list, runs: int) -> None:
    print(f"Import time of the package, ms: median of {runs} fresh processes per kind, interleaved")
    print("(CPU: the importing thread's CPU time, which time spent preempted by other processes")
    print("does not inflate; wall: median (best))\n")
    print(
        "| package | modules | functions | plain CPU | first CPU | second CPU | second / plain "
        "| plain wall | first wall | second wall |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for package, modules, figures, totals in rows:
        cpu = [f"{figures[k]['cpu_ms']:.1f}" for k in KINDS]
        wall = [f"{figures[k]['import_ms']:.1f} ({figures[k]['best_ms']:.1f})" for k in KINDS]
        ratio = figures["second"]["cpu_ms"] / figures["plain"]["cpu_ms"]
        print(
            f"| {package} | {modules} | {totals['functions']:.0f} | "
            + " | ".join(cpu)
            + f" | {ratio:.2f}x | "
            + " | ".join(wall)
            + " |"
        )
    startup = statistics.median(row[2]["plain"]["autoaccel_ms"] for row in rows)
    print(f"\n`import autoaccel` itself (all kinds, not included above): {startup:.0f} ms\n")
    print("Warm import, per step, ms summed over the package's modules (one process, best of 7)\n")
    print("| package | " + " | ".join(STEPS) + " |")
    print("|---|" + "---:|" * len(STEPS))
    for package, _, _, totals in rows:
        print(f"| {package} | " + " | ".join(f"{totals[s]:.2f}" for s in STEPS) + " |")


if __name__ == "__main__":
    main()
