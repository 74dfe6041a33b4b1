"""Ray: accelerate the functions that Ray tasks and actors run, in every worker process.

::

    import ray
    import autoaccel.ray

    ray.init(runtime_env=autoaccel.ray.runtime_env())   # the driver's configuration
    results = ray.get([mykernels_task.remote(c) for c in chunks])
    print(autoaccel.ray.stats())                          # each worker's decisions

Why this design: Ray's ``runtime_env`` is how a job configures every worker process it
starts, tasks' and actors' alike, on every node: ``env_vars`` carries the configuration
(``AUTOACCEL_CHILD_CONFIG``, the variable child processes read) and
``worker_process_setup_hook`` names :func:`setup_worker`, which each worker runs at start-up,
before it imports the functions of its tasks. Ray can run a function in a given process only
if that process is an actor, and task workers are pooled, so statistics are gathered by a
named actor (:class:`Collector`) that every worker waits on from a daemon thread: a call of
:func:`stats` wakes them all, and each answers with its own statistics.
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
import time
from typing import Any

import ray

from autoaccel.config import Config
from autoaccel.hook.children import CONFIG_VARIABLE, child_config
from autoaccel.hook.finder import config_in_force
from autoaccel.hook.workers import install_worker, worker_stats, worker_table

COLLECTOR = "autoaccel-stats"
NAMESPACE = "autoaccel"
_WAIT_SECONDS = 30.0  # a worker's wait for a request is renewed this often (stale ones end)


def runtime_env(config: Config | None = None) -> dict[str, Any]:
    """A ``runtime_env`` (for ``ray.init`` or ``.options``) that accelerates every worker.

    Merge its two keys into a ``runtime_env`` of your own (add to ``env_vars``).

    Args:
        config: the configuration the workers use; by default the driver's (the installed
            hook's, else the one discovered from the script's directory or the working
            directory). Its ``modules`` must name the modules the tasks' functions live in.

    Raises:
        ConfigError: the discovered configuration is invalid.
    """
    table = worker_table(config or config_in_force())
    return {
        "worker_process_setup_hook": "autoaccel.ray.setup_worker",
        "env_vars": {CONFIG_VARIABLE: json.dumps(table)},
    }


def setup_worker() -> None:
    """Ray's ``worker_process_setup_hook``: install the hook, then answer :func:`stats`.

    Does nothing without the configuration variable, or with ``AUTOACCEL_DISABLE=1``; an
    invalid configuration warns (naming the variable) and leaves the worker plain.
    """
    config = child_config()
    if config is None:
        return
    if install_worker(config.as_table(), f"environment variable {CONFIG_VARIABLE}") is None:
        return
    threading.Thread(target=_answer_requests, name="autoaccel-stats", daemon=True).start()


def _collector() -> Any:
    """The job's :class:`Collector` actor, made by the first process that asks.

    Detached, so that it outlives the worker that made it (Ray stops idle task workers);
    named after the job, so that jobs sharing a cluster keep their statistics apart. It
    holds no CPU, and ends with the cluster.
    """
    name = f"{COLLECTOR}-{ray.get_runtime_context().get_job_id()}"
    return Collector.options(  # type: ignore[attr-defined]
        name=name, namespace=NAMESPACE, get_if_exists=True, lifetime="detached", num_cpus=0
    ).remote()


def _answer_requests() -> None:
    """A worker's daemon thread: wait for each :func:`stats` request and answer it."""
    key = f"{os.uname().nodename}:{os.getpid()}"
    collector = _collector()
    seen = 0
    while True:
        try:
            request = ray.get(collector.next_request.remote(key, seen, _WAIT_SECONDS))
            if request > seen:
                seen = request
                collector.answer.remote(request, key, worker_stats())
        except Exception:  # Ray is shutting down, or the collector went: stop answering
            return


@ray.remote
class Collector:
    """Gathers the workers' statistics on request (an async actor: waits cost no thread).

    Workers wait in :meth:`next_request`; :meth:`collect` raises the request number, wakes
    them, and waits until every worker that was waiting has answered, or ``timeout``.
    """

    def __init__(self) -> None:
        self.request = 0
        self.changed = asyncio.Condition()
        self.waiting: set[str] = set()
        self.answers: dict[str, Any] = {}

    async def next_request(self, key: str, seen: int, timeout: float) -> int:
        """The first request number above ``seen`` (``seen`` again after ``timeout`` s)."""
        async with self.changed:
            self.waiting.add(key)
            try:
                await asyncio.wait_for(self.changed.wait_for(lambda: self.request > seen), timeout)
            except asyncio.TimeoutError:
                pass
            finally:
                self.waiting.discard(key)
            return self.request

    def answer(self, request: int, key: str, data: dict[str, Any]) -> None:
        """A worker's statistics for request number ``request``."""
        if request == self.request:
            self.answers[key] = data

    async def collect(self, timeout: float) -> dict[str, Any]:
        """Ask every waiting worker for its statistics; ``key -> stats`` of those that
        answered within ``timeout`` seconds."""
        async with self.changed:
            self.request += 1
            self.answers = {}
            expected = set(self.waiting)
            self.changed.notify_all()
        deadline = time.monotonic() + timeout
        while not expected <= set(self.answers) and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        # This actor's own process runs the setup hook too; it accelerates nothing.
        return {k: v for k, v in self.answers.items() if v.get("pid") != os.getpid()}


def stats(timeout: float = 10.0) -> dict[str, dict[str, Any]]:
    """Every accelerated worker's decisions: ``"host:pid"`` -> its :func:`autoaccel.stats`.

    Each value also has the worker's ``pid`` and ``host``. Workers that Ray has stopped
    (idle task workers are reaped) are gone, and their statistics with them.

    Args:
        timeout: seconds to wait for the workers' answers.

    Raises:
        RuntimeError: Ray is not initialized (``ray.init``) in this process.
    """
    if not ray.is_initialized():
        raise RuntimeError("autoaccel.ray.stats() needs ray.init() first")
    return ray.get(_collector().collect.remote(timeout))
