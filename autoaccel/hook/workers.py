"""Workers of a distributed engine (Dask, Ray): the client's configuration, installed there.

A worker is a process the engine starts, often on another host, so the configuration travels
as data: the table of :meth:`Config.as_table <autoaccel.config.options.Config.as_table>`,
read back with :func:`~autoaccel.config.config_from_table` in the worker. The cache
directory travels only when the client's configuration names one: by default every worker
uses its own user's default directory on its host, which the workers of one host then share
(docs/distributed.md).
"""

from __future__ import annotations

import os
from typing import Any

from autoaccel.cache.directory import cache_path
from autoaccel.config import Config, config_from_table, disabled_by_environment
from autoaccel.hook.finder import Installation, install_hook
from autoaccel.state import STATE


def worker_table(config: Config) -> dict[str, Any]:
    """``config`` as the table a worker installs (:func:`install_worker`).

    Args:
        config: the client's configuration; ``report`` and ``report_json`` are left out (the
            report belongs to the client, which gathers the workers' statistics).
    """
    table = config.as_table()
    if config.cache_dir:
        table["cache_dir"] = str(cache_path(config))
    return table


def install_worker(table: dict[str, Any], source: str) -> Installation | None:
    """Install the import hook in this worker process with ``table``'s configuration, once.

    Args:
        table: from :func:`worker_table`.
        source: what the table came from, for error messages.

    Returns:
        The installation (the one made before, when called again), or ``None`` when
        ``AUTOACCEL_DISABLE`` in the worker's environment leaves it plain.

    Raises:
        ConfigError: the table is not a valid configuration.
    """
    if disabled_by_environment(os.environ):
        return None
    with STATE.lock:
        if STATE.worker_installation is None:
            STATE.worker_installation = install_hook(config_from_table(source, table))
        return STATE.worker_installation


def uninstall_worker() -> None:
    """Remove the hook :func:`install_worker` installed (modules imported keep theirs)."""
    with STATE.lock:
        installation, STATE.worker_installation = STATE.worker_installation, None
    if installation is not None:
        installation.uninstall()


def worker_stats() -> dict[str, Any]:
    """This worker's :func:`autoaccel.stats`, with its ``pid`` and ``host`` name."""
    import socket

    from autoaccel.report.stats import stats

    return {**stats(), "pid": os.getpid(), "host": socket.gethostname()}
