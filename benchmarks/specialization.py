"""Variant-cache dispatch cost and value specialization, measured.

Prints two Markdown tables (the figures in docs/specialization.md):

1. nanoseconds per call of a trivial kernel (``a.shape[0]``) reached through the trampoline
   when its function holds 1, 4 or 16 promoted variants (array dtypes and layouts, all of
   Python type ndarray, so Numba's C dispatcher picks among them), beside the bare Numba
   dispatcher and plain Python;
2. one steady-state ``workload()`` batch of examples/signals: plain Python, autoaccel
   (value-specialized variants per ``ma_type``; no generic variant exists), and the
   hand-written njit twin; plus a small int-flag kernel where both a generic and a
   value-specialized variant exist.

Usage: python benchmarks/specialization.py [--repeat N]
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import sys
import tempfile
import textwrap
import timeit
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from autoaccel import Config, install, load_config  # noqa: E402
from autoaccel.config import SpecializationOptions  # noqa: E402
from autoaccel.runtime.registry import lookup, registry  # noqa: E402

KERNELS = """
def size(a):
    return a.shape[0]

def flagged(x, mode):
    s = 0.0
    for i in range(x.shape[0]):
        if mode == 0:
            s += x[i]
        elif mode == 1:
            s += x[i] * x[i]
        else:
            s += abs(x[i])
    return s
"""

DTYPES = ("f8", "f4", "i8", "i4", "i2", "u8", "u4", "u2")


def arrays(count: int) -> list[np.ndarray]:
    """``count`` arrays with distinct Numba signatures (dtype x layout C or A)."""
    out = []
    for dtype in DTYPES:
        out.append(np.zeros(8, dtype=dtype))
        out.append(np.zeros(16, dtype=dtype)[::2])
    return out[:count]


def per_call_ns(function, arg, repeat: int) -> float:
    number = 20000
    best = min(timeit.repeat(lambda: function(arg), number=number, repeat=repeat))
    return best / number * 1e9


def load(name: str, directory: Path, config: Config | None):
    if config is None:
        spec = importlib.util.spec_from_file_location(name + "_plain", directory / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    sys.path.insert(0, str(directory))
    with install(config):
        return importlib.import_module(name)


def dispatch_table(repeat: int, workdir: Path) -> list[str]:
    (workdir / "aa_bench_kernels.py").write_text(textwrap.dedent(KERNELS))
    plain = load("aa_bench_kernels", workdir, None)
    rows = [
        "| variants held | trampoline ns/call | bare Numba dispatcher ns/call | plain Python ns/call |",
        "|---|---|---|---|",
    ]
    config = Config(
        modules=("aa_bench_kernels",),
        min_calls=1,
        min_gain=0.0,
        cache=False,
        isolate_first_run=False,
    )
    module = load("aa_bench_kernels", workdir, config)
    held = 0
    for count in (1, 4, 16):
        for array in arrays(count)[held:]:
            for _ in range(5):
                module.size(array)
        held = count
        trampoline = lookup(module.size)
        assert len(trampoline._exact) == count, trampoline.failures
        probe = arrays(count)[0]
        entry = trampoline.compiled.entry
        rows.append(
            f"| {count} | {per_call_ns(module.size, probe, repeat):.0f} "
            f"| {per_call_ns(entry, probe, repeat):.0f} | {per_call_ns(plain.size, probe, repeat):.0f} |"
        )
    return rows


def flag_table(repeat: int, workdir: Path) -> list[str]:
    x = np.linspace(-1.0, 1.0, 2000)
    rows = []
    for label, options in (
        ("generic variant only", SpecializationOptions(values=False)),
        ("value-specialized (mode=1)", SpecializationOptions(values=True, min_gain=0.0)),
    ):
        name = "aa_bench_flag_" + ("v" if options.values else "g")
        (workdir / f"{name}.py").write_text(textwrap.dedent(KERNELS))
        config = Config(
            modules=(name,), min_calls=5, min_gain=0.0, cache=False, specialization=options
        )
        module = load(name, workdir, config)
        for _ in range(30):
            module.flagged(x, 1)
        rows.append(
            f"| int-flag kernel, {label} | {per_call_ns(lambda a, m=module: m.flagged(a, 1), x, repeat) / 1000:.2f} µs |"
        )
    plain = load(name, workdir, None)
    rows.append(
        f"| int-flag kernel, plain Python | {per_call_ns(lambda a: plain.flagged(a, 1), x, 1) / 1000:.2f} µs |"
    )
    return rows


def signals_table(repeat: int) -> list[str]:
    directory = ROOT / "examples" / "signals"
    plain = load("signals", directory, None)
    # The example's own settings ([specialization] values = true among them), for this name.
    overrides = {"modules": ["signals"], "cache": False}
    config = load_config(search_from=[directory], overrides=overrides)
    accelerated = load("signals", directory, config)
    spec = importlib.util.spec_from_file_location(
        "signals_njit", ROOT / "benchmarks" / "handwritten" / "signals_njit.py"
    )
    handwritten = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(handwritten)
    for _ in range(30):  # promote (autoaccel) and compile (njit) before timing
        accelerated.workload()
        handwritten.workload()
    promoted = sorted(t.name for t in registry() if t.promotions and "moving_average[" in t.name)
    rows = []
    for label, module in (
        ("plain Python", plain),
        ("autoaccel (value-specialized)", accelerated),
        ("hand-written njit", handwritten),
    ):
        best = min(timeit.repeat(module.workload, number=1, repeat=repeat))
        rows.append(f"| signals workload(), {label} | {best * 1000:.2f} ms |")
    rows.append(f"\npromoted specializations: {', '.join(promoted)}")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="timing repeats (best is kept)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        print("\n".join(dispatch_table(args.repeat, workdir)))
        print()
        print("| case | per call |")
        print("|---|---|")
        print("\n".join(flag_table(args.repeat, workdir)))
        print("\n".join(signals_table(args.repeat)))


if __name__ == "__main__":
    main()
