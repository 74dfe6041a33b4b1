"""autoaccel.ray: the driver's configuration installed in every Ray worker process.

A local Ray with two CPUs; tasks and an actor.
"""

from __future__ import annotations

import importlib

import pytest
from conftest import WORKER_SEEDS, promoted_in


@pytest.mark.slow
def test_ray_tasks_and_actors_accelerate_through_the_runtime_env(worker_kernels):
    ray = pytest.importorskip("ray")
    import autoaccel.ray

    module, expected, config = worker_kernels
    ray.init(
        num_cpus=2,
        runtime_env=autoaccel.ray.runtime_env(config),
        include_dashboard=False,
        log_to_driver=False,
    )
    try:
        task = ray.remote(module.task)
        assert ray.get([task.remote(seed) for seed in WORKER_SEEDS]) == expected

        @ray.remote
        class Runner:
            def run(self, seed):
                return importlib.import_module(module.__name__).task(seed)

        runner = Runner.remote()
        assert ray.get([runner.run.remote(seed) for seed in WORKER_SEEDS]) == expected
        workers = autoaccel.ray.stats()
        smooth = f"{module.__name__}.smooth"
        promoted = [key for key, w in workers.items() if promoted_in(w, smooth)]
        assert len(promoted) >= 2, workers  # a task worker and the actor
    finally:
        ray.shutdown()
