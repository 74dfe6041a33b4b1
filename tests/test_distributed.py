"""Dask and Ray workers: the client's configuration installed in every worker process.

Real engines: a ``distributed.LocalCluster`` with two worker processes, and a local Ray with
two CPUs. The kernels live in a module written to ``tmp_path``, on the workers' path, and
run as tasks; results must equal plain execution in this process, and the workers must
report the kernel promoted.
"""

from __future__ import annotations

import importlib
import sys
import textwrap

import pytest

from autoaccel import Config

KERNELS = textwrap.dedent(
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
SEEDS = list(range(6))


@pytest.fixture
def kernels(tmp_path, monkeypatch):
    """The kernels module, importable here (plain) and by worker processes started now.

    Only this module leaves ``sys.modules`` afterwards: dropping every module the test
    imported (``isolated_imports``) would drop the engines' own, and a later import of
    nbformat then found no package metadata.
    """
    name = f"aa_dist_kernels_{tmp_path.name}"
    (tmp_path / f"{name}.py").write_text(KERNELS)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    module = importlib.import_module(name)
    expected = [module.task(seed) for seed in SEEDS]
    config = Config(modules=(name,), min_calls=3, min_gain=0.0)
    yield module, expected, config
    sys.modules.pop(name, None)


def _promoted(worker: dict, name: str) -> bool:
    return any(f["name"] == name and f["state"] == "promoted" for f in worker["functions"])


@pytest.mark.slow
def test_dask_workers_accelerate_with_the_clients_configuration(kernels):
    distributed = pytest.importorskip("distributed")
    import autoaccel.dask

    module, expected, config = kernels
    with (
        distributed.LocalCluster(
            n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        client.register_plugin(autoaccel.dask.Accelerate(config))
        results = client.gather(client.map(module.task, SEEDS, pure=False))
        assert results == expected
        workers = autoaccel.dask.stats(client)
        assert len(workers) == 2
        smooth = f"{module.__name__}.smooth"
        assert any(_promoted(w, smooth) for w in workers.values()), workers
        # A worker that joins later gets the plugin too.
        cluster.scale(3)
        client.wait_for_workers(3)
        assert all(w["functions"] is not None for w in autoaccel.dask.stats(client).values())
        late = client.run(_hook_installed)
        assert all(late.values()), late


def _hook_installed() -> bool:
    from autoaccel.state import STATE

    return STATE.worker_installation is not None and STATE.worker_installation.finder in (
        sys.meta_path
    )


@pytest.mark.slow
def test_ray_tasks_and_actors_accelerate_through_the_runtime_env(kernels):
    ray = pytest.importorskip("ray")
    import autoaccel.ray

    module, expected, config = kernels
    ray.init(
        num_cpus=2,
        runtime_env=autoaccel.ray.runtime_env(config),
        include_dashboard=False,
        log_to_driver=False,
    )
    try:
        task = ray.remote(module.task)
        assert ray.get([task.remote(seed) for seed in SEEDS]) == expected

        @ray.remote
        class Runner:
            def run(self, seed):
                return importlib.import_module(module.__name__).task(seed)

        runner = Runner.remote()
        assert ray.get([runner.run.remote(seed) for seed in SEEDS]) == expected
        workers = autoaccel.ray.stats()
        smooth = f"{module.__name__}.smooth"
        promoted = [key for key, w in workers.items() if _promoted(w, smooth)]
        assert len(promoted) >= 2, workers  # a task worker and the actor
    finally:
        ray.shutdown()
