"""Plain vs autoaccel on a 2-worker Dask cluster: wall time, and compiles per worker.

Usage: ``python benchmarks/dask_workers.py [--runs N] [--n N] [--chunk C]``.

The workload is examples/indicators as tasks: ``indicators.analyse_chunk(chunk, params)``
for every chunk of the price series and every parameter set (the example's own loop), on a
``distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1)``. One round
runs it three times, each on a new cluster, with the tasks timed from submission to the
last result (cluster start-up not included; the workers' first import of the module is):

* ``plain``: no plugin;
* ``autoaccel, cold cache``: ``autoaccel.dask.Accelerate`` registered, an empty cache
  directory shared by both workers (the default one is per user, so workers of one host
  share it);
* ``autoaccel, warm cache``: the same, on a new cluster, with the directory the cold run
  filled.

Per worker, from ``autoaccel.dask.stats``: variants compiled, variants loaded from the
cache, and seconds spent compiling or loading. Results of every mode must equal plain
execution in this process. Prints a markdown table of medians over ``--runs`` rounds.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

EXAMPLE_DIR = Path(__file__).resolve().parent.parent / "examples" / "indicators"


def _tasks(n: int, chunk: int) -> list[tuple]:
    import indicators

    prices = indicators.make_prices(n, 12345)
    return [
        (prices[start : start + chunk], params)
        for params in indicators.PARAM_SETS
        for start in range(0, n, chunk)
    ]


def _per_worker(workers: dict) -> list[dict]:
    """Compiled and loaded variants, and compile seconds, of each worker."""
    rows = []
    for worker in workers.values():
        variants = [v for f in worker["functions"] for v in f["variants"]]
        rows.append(
            {
                "compiled": sum(not v["from_cache"] for v in variants),
                "loaded": sum(v["from_cache"] for v in variants),
                "seconds": sum(f["compile_seconds"] for f in worker["functions"]),
            }
        )
    return rows


def _run(mode: str, tasks: list[tuple], expected: list) -> tuple[float, list[dict]]:
    """Wall seconds of the tasks on a new 2-worker cluster, and each worker's compiles."""
    import distributed
    import indicators

    import autoaccel.dask
    from autoaccel import Config

    with (
        distributed.LocalCluster(
            n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        if mode != "plain":
            config = Config(modules=("indicators",))
            client.register_plugin(autoaccel.dask.Accelerate(config))
        start = time.perf_counter()
        futures = [client.submit(indicators.analyse_chunk, *task, pure=False) for task in tasks]
        results = client.gather(futures)
        seconds = time.perf_counter() - start
        if results != expected:
            raise SystemExit(f"{mode}: results differ from plain execution")
        workers = [] if mode == "plain" else _per_worker(autoaccel.dask.stats(client))
    return seconds, workers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--n", type=int, default=400_000)
    parser.add_argument("--chunk", type=int, default=10_000)
    options = parser.parse_args()
    sys.path.insert(0, str(EXAMPLE_DIR))
    os.environ["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(EXAMPLE_DIR), os.environ.get("PYTHONPATH")])
    )
    import indicators

    tasks = _tasks(options.n, options.chunk)
    expected = [indicators.analyse_chunk(*task) for task in tasks]
    modes = ("plain", "autoaccel, cold cache", "autoaccel, warm cache")
    times: dict[str, list[float]] = {mode: [] for mode in modes}
    compiles: dict[str, list[list[dict]]] = {mode: [] for mode in modes}
    for _ in range(options.runs):
        with tempfile.TemporaryDirectory() as cache:
            os.environ["AUTOACCEL_CACHE_DIR"] = cache  # inherited by the workers
            for mode in modes:
                seconds, workers = _run(mode, tasks, expected)
                times[mode].append(seconds)
                compiles[mode].append(workers)
    plain = statistics.median(times["plain"])
    print(
        f"{len(tasks)} tasks (n={options.n}, chunk={options.chunk}), 2 workers, "
        f"medians of {options.runs} round(s)\n"
    )
    print("| mode | wall s | vs plain | per worker: compiled / loaded variants, compile s |")
    print("|---|---|---|---|")
    for mode in modes:
        median = statistics.median(times[mode])
        workers = "; ".join(
            f"{w['compiled']} / {w['loaded']}, {w['seconds']:.2f} s" for w in compiles[mode][-1]
        )
        print(f"| {mode} | {median:.2f} | {plain / median:.2f}x | {workers or '-'} |")


if __name__ == "__main__":
    main()
