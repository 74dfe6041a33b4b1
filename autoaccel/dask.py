"""Dask: accelerate the functions that run on every worker of a ``distributed`` cluster.

::

    from dask.distributed import Client
    import autoaccel.dask

    client = Client(...)
    client.register_plugin(autoaccel.dask.Accelerate())   # the client's configuration
    futures = client.map(mykernels.step, chunks)           # mykernels is accelerated there
    print(autoaccel.dask.stats(client))                    # each worker's decisions

Why this design: a ``WorkerPlugin`` registered with ``client.register_plugin`` is the way
``distributed`` runs set-up code in every worker, present and future (it is pickled to the
scheduler and sent to each worker that joins, before it runs tasks). Its ``setup`` installs
the import hook with the client's configuration, so the selected modules a worker imports
afterwards (as it unpickles a task's function) are rewritten. ``client.run`` then gathers
each worker's statistics.
"""

from __future__ import annotations

from typing import Any

from distributed.diagnostics.plugin import WorkerPlugin

from autoaccel.config import Config
from autoaccel.hook.finder import config_in_force
from autoaccel.hook.workers import install_worker, uninstall_worker, worker_stats, worker_table


class Accelerate(WorkerPlugin):
    """A worker plugin that installs autoaccel's import hook in every worker.

    Args:
        config: the configuration the workers use; by default the client's (the installed
            hook's, else the one discovered from the script's directory or the working
            directory). Its ``modules`` must name the modules the tasks' functions live in
            (``__main__`` is the worker's own, not the client's script).

    Raises:
        ConfigError: the discovered configuration is invalid.
    """

    name = "autoaccel"
    idempotent = True  # registering it twice keeps the first

    def __init__(self, config: Config | None = None) -> None:
        self.table = worker_table(config or config_in_force())

    def setup(self, worker: Any) -> None:
        """Install the hook in ``worker``'s process (once per process)."""
        install_worker(self.table, "autoaccel.dask.Accelerate")

    def teardown(self, worker: Any) -> None:
        """Remove the hook; functions already rewritten keep their trampolines."""
        uninstall_worker()


def stats(client: Any) -> dict[str, dict[str, Any]]:
    """Every worker's decisions: worker address -> its :func:`autoaccel.stats`.

    Each value also has the worker's ``pid`` and ``host``.

    Args:
        client: a ``distributed.Client`` of the cluster.
    """
    return client.run(worker_stats)
