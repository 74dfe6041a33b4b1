"""autoaccel.dask: the client's configuration installed in every Dask worker process.

A real ``distributed.LocalCluster`` with two worker processes.
"""

from __future__ import annotations

import sys

import pytest
from conftest import WORKER_SEEDS, promoted_in


@pytest.mark.slow
def test_dask_workers_accelerate_with_the_clients_configuration(worker_kernels):
    distributed = pytest.importorskip("distributed")
    import autoaccel.dask

    module, expected, config = worker_kernels
    with (
        distributed.LocalCluster(
            n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        client.register_plugin(autoaccel.dask.Accelerate(config))
        results = client.gather(client.map(module.task, WORKER_SEEDS, pure=False))
        assert results == expected
        workers = autoaccel.dask.stats(client)
        assert len(workers) == 2
        smooth = f"{module.__name__}.smooth"
        assert any(promoted_in(w, smooth) for w in workers.values()), workers
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
