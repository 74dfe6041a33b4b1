"""The programs of the benchmark suite, and how each mode runs one of them once.

Programs are unmodified code that nobody here wrote, pyperformance's benchmark scripts (taken
from the installed ``pyperformance`` package, pinned in the ``bench`` extra), plus this
repository's ``examples/``. Modes:

* ``plain``: ``python SCRIPT``;
* ``autoaccel``: ``python -m autoaccel --config CFG --report-json FILE SCRIPT``, with
  ``modules = ["__main__"]`` and every other key at its default (a real user's configuration:
  ``min_calls = 20``, ``min_gain = 1.2``; the examples' own files say the same);
* ``njit``: the hand-written port ``benchmarks/handwritten/<name>_njit.py``, where there is one;
* ``pypy``: ``pypy3 SCRIPT``, where a PyPy interpreter was found and can import what the
  program needs (Debian's pypy3 has no NumPy, so the examples have no PyPy column).

The pyperformance scripts run in one process with ``tests/realcode/pyperf.py`` standing in for
pyperf (see docs/performance.md for why): ``PYPERF_ARGS`` warm-up values and measured values,
one loop each. Its ``--timings`` file gives the seconds of each value, its stdout a digest of
the answers and of the script's global state, and ``--probe`` expressions add answers that a
benchmark keeps in local variables.

Each run happens in a new temporary working directory, with a new empty autoaccel cache
directory (``AUTOACCEL_CACHE_DIR``), so every autoaccel run starts cold.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STANDIN = ROOT / "tests" / "realcode"
HANDWRITTEN = ROOT / "benchmarks" / "handwritten"
MODES = ("plain", "autoaccel", "njit", "pypy")
# Enough warm-up values for a function called once per value to reach promotion at the
# default thresholds (min_calls 20 + validation_calls 3), then the measured values.
WARMUPS, VALUES = 25, 5
PYPERF_ARGS = ("-l", "1", "-w", str(WARMUPS), "-n", str(VALUES), "--timings", "timings.json")
AUTOACCEL_CONFIG = 'modules = ["__main__"]\n'
# Digest lines about the script's global state rather than its answers: the hand-written
# ports keep their data in other objects (NumPy arrays), so for them only the rest counts.
STATE_PREFIXES = ("global ", "class ", "random state ")


@dataclass(frozen=True)
class Program:
    """One program of the suite: a pyperformance benchmark or one of ``examples/``."""

    name: str
    kind: str  # "pyperformance" or "example"
    args: tuple[str, ...] = ()
    # --probe expressions (pyperformance only): answers the benchmark does not return.
    probes: tuple[str, ...] = ()
    # Files the program writes in its working directory, compared across modes.
    files: tuple[str, ...] = ()

    @property
    def script(self) -> Path:
        """The program's unmodified script."""
        if self.kind == "example":
            return ROOT / "examples" / self.name / f"{self.name}.py"
        return pyperformance_folder() / f"bm_{self.name}" / "run_benchmark.py"

    @property
    def port(self) -> Path | None:
        """The hand-written ``@numba.njit`` port, or ``None`` if there is none."""
        path = HANDWRITTEN / f"{self.name}_njit.py"
        return path if path.is_file() else None

    def modes(self, pypy: str | None) -> list[str]:
        """The modes that apply to this program, in ``MODES`` order."""
        available = {"plain", "autoaccel"}
        if self.port is not None:
            available.add("njit")
        if pypy is not None and (self.kind == "pyperformance" or _pypy_has_numpy(pypy)):
            available.add("pypy")
        return [mode for mode in MODES if mode in available]

    def arguments(self) -> list[str]:
        """Command-line arguments after the script, the same in every mode."""
        if self.kind == "example":
            return list(self.args)
        return [*self.args, *PYPERF_ARGS, *(f"--probe={probe}" for probe in self.probes)]

    def command(self, mode: str, pypy: str | None) -> list[str]:
        """The command line of one run in ``mode`` (relative paths are in its directory)."""
        if mode == "plain":
            return [sys.executable, str(self.script), *self.arguments()]
        if mode == "autoaccel":
            options = ["--config", "autoaccel.toml", "--report-json", "report.json"]
            script = [str(self.script), *self.arguments()]
            return [sys.executable, "-m", "autoaccel", *options, *script]
        if mode == "njit" and self.port is not None:
            return [sys.executable, str(self.port), *self.arguments()]
        if mode == "pypy" and pypy is not None:
            return [pypy, str(self.script), *self.arguments()]
        raise ValueError(f"{self.name} has no mode {mode!r}")

    def config_text(self) -> str:
        """The autoaccel configuration file of this program's runs."""
        if self.kind == "example":
            return (self.script.parent / "python_optimizer.toml").read_text()
        return AUTOACCEL_CONFIG


PROGRAMS = (
    Program("nbody", "pyperformance", probes=("report_energy()",)),
    Program("fannkuch", "pyperformance", probes=("[fannkuch(n) for n in range(1, 9)]",)),
    Program(
        "spectral_norm",
        "pyperformance",
        probes=("eval_AtA_times_u(eval_AtA_times_u([1] * DEFAULT_N))",),
    ),
    Program(
        "scimark",
        "pyperformance",
        # The timed kernels at the benchmark's sizes on random data (the benchmark's own
        # SOR and sparse inputs are all zeros), and the sparse kernel on a small matrix.
        probes=(
            "MonteCarlo(100 * 1000)",
            "[FFT_transform(2048, x := Random(7).RandomVector(2048)), FFT_inverse(2048, x),"
            " x.tolist()]",
            "[SOR_execute(1.25, g := Random(7).RandomMatrix(Array2D(100, 100)), 10, Array2D),"
            " g.data]",
            "[LU(lu := ArrayList(100, 100), Random(7).RandomMatrix(ArrayList(100, 100)),"
            " pivot := array('i', [0]) * 100), lu.data, pivot]",
            "[SparseCompRow_matmult(3, y := array('d', [0.0]) * 3,"
            " array('d', [1.5, -2.0, 0.25, 3.0]), array('i', [0, 2, 3, 4]),"
            " array('i', [0, 2, 1, 0]), array('d', [0.5, 1.0, 4.0]), 2) >= 0, y]",
        ),
    ),
    Program("float", "pyperformance"),
    Program("nqueens", "pyperformance", probes=("list(n_queens(8))",)),
    Program("richards", "pyperformance"),
    Program("raytrace", "pyperformance", ("--filename", "image.ppm"), files=("image.ppm",)),
    Program("chaos", "pyperformance", ("--filename", "image.ppm"), files=("image.ppm",)),
    Program("indicators", "example"),
    Program("mlkernels", "example"),
    Program("montecarlo", "example"),
    Program("mixed", "example"),
)


@dataclass
class Run:
    """What one process of one program in one mode did."""

    seconds: float  # wall time of the whole process
    peak_rss_kib: int
    output: str  # stdout, plus a hash of each file the program wrote
    steady: float | None  # seconds per measured value (pyperformance only)
    report: dict | None  # autoaccel's --report-json data (autoaccel mode only)

    def answers(self) -> str:
        """The output without the stand-in's lines about global state."""
        lines = self.output.splitlines()
        return "\n".join(line for line in lines if not line.startswith(STATE_PREFIXES))


def run_once(program: Program, mode: str, pypy: str | None) -> Run:
    """Run ``program`` once in ``mode`` in a fresh directory; raise if it fails."""
    with tempfile.TemporaryDirectory(prefix=f"aa-bench-{program.name}-") as folder:
        directory = Path(folder)
        (directory / "autoaccel.toml").write_text(program.config_text())
        command = program.command(mode, pypy)
        seconds, rss, stdout = _timed_process(command, directory, environment(directory))
        for name in program.files:
            digest = hashlib.sha256((directory / name).read_bytes()).hexdigest()
            stdout += f"file {name} sha256 {digest}\n"
        timings = directory / "timings.json"
        report = directory / "report.json"
        return Run(
            seconds=seconds,
            peak_rss_kib=rss,
            output=stdout,
            steady=steady_seconds(json.loads(timings.read_text())) if timings.exists() else None,
            report=json.loads(report.read_text()) if report.exists() else None,
        )


def steady_seconds(timings: dict) -> float:
    """Median seconds per measured value, summed over the script's benchmarks.

    ``timings`` is the stand-in's ``--timings`` data; the warm-up values are left out.
    """
    per_benchmark = timings["seconds"].values()
    totals = [sum(values) for values in zip(*per_benchmark, strict=True)]
    return statistics.median(totals[timings["warmups"] :])


def environment(directory: Path) -> dict[str, str]:
    """The environment of a measured process whose working directory is ``directory``."""
    environment = {
        key: value for key, value in os.environ.items() if not key.startswith("AUTOACCEL_")
    }
    # Installed packages import from .pyc files; without them every process would also
    # compile autoaccel's sources (about 40 ms here), which no user's second run pays.
    environment.pop("PYTHONDONTWRITEBYTECODE", None)
    environment["PYTHONPATH"] = str(STANDIN)  # the pyperf stand-in shadows the real pyperf
    environment["AUTOACCEL_CACHE_DIR"] = str(directory / "autoaccel-cache")
    return environment


# Runs a command and writes its wall seconds and peak RSS to the file named first. The
# kernel counts the memory of the process a child was forked from, up to its exec, in the
# child's peak RSS; this small launcher (python -S) keeps that floor at a few MiB, where
# forking from the runner would put the runner's own size there.
LAUNCHER = """
import os, sys, time
start = time.perf_counter()
pid = os.fork()
if pid == 0:
    try:
        os.execvp(sys.argv[2], sys.argv[2:])
    finally:
        os._exit(127)
_, status, usage = os.wait4(pid, 0)
seconds = time.perf_counter() - start
with open(sys.argv[1], "w") as file:
    file.write(f"{seconds!r} {usage.ru_maxrss}")
code = os.waitstatus_to_exitcode(status)
sys.exit(code if code >= 0 else 128 - code)
"""


def _timed_process(
    command: list[str], cwd: Path, environment: dict[str, str]
) -> tuple[float, int, str]:
    """Wall seconds, peak RSS (KiB) and stdout of one process; raise if it fails."""
    launcher = [sys.executable, "-S", "-c", LAUNCHER, "measured.txt"]
    with open(cwd / "stderr.txt", "w+") as stderr:
        process = subprocess.run(
            [*launcher, *command], cwd=cwd, env=environment, stdout=subprocess.PIPE, stderr=stderr
        )
        if process.returncode != 0:
            stderr.seek(0)
            message = f"{' '.join(command)} exited with {process.returncode}"
            raise RuntimeError(f"{message}:\n{stderr.read()[-3000:]}")
    seconds, rss = (cwd / "measured.txt").read_text().split()
    return float(seconds), int(rss), process.stdout.decode()


def pyperformance_folder() -> Path:
    """``data-files/benchmarks`` of the installed pyperformance package."""
    spec = importlib.util.find_spec("pyperformance")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("pyperformance is not installed: python -m pip install -e '.[bench]'")
    return Path(next(iter(spec.submodule_search_locations))) / "data-files" / "benchmarks"


_PYPY_NUMPY: dict[str, bool] = {}


def _pypy_has_numpy(pypy: str) -> bool:
    if pypy not in _PYPY_NUMPY:
        probe = subprocess.run([pypy, "-c", "import numpy"], capture_output=True)
        _PYPY_NUMPY[pypy] = probe.returncode == 0
    return _PYPY_NUMPY[pypy]
