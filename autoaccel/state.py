"""Process-wide state: everything autoaccel keeps for the life of a process, in one object.

Why this design (after beartype's ``claw/_clawstate.py``): registries scattered over modules
are hard to find and harder to reset, so each layer keeps its per-process data in a field of
:data:`STATE`, and tests start from a clean slate with :meth:`ProcessState.reset`. This
module is at the bottom of the layers (docs/how-it-works.md): its fields hold objects of
higher layers, typed loosely so that it imports none of them.
"""

from __future__ import annotations

import threading
from typing import Any


class ProcessState:
    """The per-process data of every layer.

    Attributes:
        lock: guards the registries below against concurrent imports.
        trampolines: every trampoline made in this process, in creation order
            (:mod:`autoaccel.runtime.registry`).
        loops: every loop trampoline made in this process, in creation order.
        by_id: ``id(trampoline) -> trampoline``, to find the trampoline among a function's
            code constants.
        by_code: ``id(original code) -> trampoline``, for functions left without a
            prologue (statically refused ones).
        cache_dirs: cache directory path -> its checked ``CacheDir``, or ``None`` when it is
            unusable (:mod:`autoaccel.cache.directory`).
        decision_stores: ``(cache path, module, source file) -> DecisionStore``
            (:mod:`autoaccel.runtime.saved`).
        variant_table: the ``VariantTable`` of promoted variants, made at first use
            (:mod:`autoaccel.runtime.table`).
        decorated: ``(original code, keywords) -> (globals, decorated code)`` made by
            ``@optimize`` (:mod:`autoaccel.api.optimize`).
        reports_scheduled: ``(report, report_json)`` destinations with an exit handler
            (:mod:`autoaccel.report.text`).
        notebook: the ``NotebookSession`` of ``%load_ext autoaccel``, or ``None``
            (:mod:`autoaccel.notebook`).
        worker_installation: the hook a Dask or Ray worker installed, or ``None``
            (:mod:`autoaccel.dask`, :mod:`autoaccel.ray`).
        methods: ``function -> dispatcher``: the dispatcher through which compiled code
            calls a method of a converted object (:mod:`autoaccel.runtime.methods` builds
            it, :mod:`autoaccel.boundary.instance_type` calls it).
        compile_seconds: the wall time (seconds) of each compile or cache load of a variant
            this process made, functions and loops alike (:mod:`autoaccel.policy.cost`).
        gc_freeze: whether long-lived objects are frozen out of the garbage collector's
            full collections (the installed configuration's ``gc_freeze``;
            :mod:`autoaccel.backends.collector`).
        numba_start_seconds: the wall time (seconds) of importing Numba in this process, or
            0.0 (:func:`autoaccel.backends.signatures.load_numba`).
        warm_start: whether this run loads its saved promotions: ``None`` until first asked,
            then a 1-tuple of the reason it does not, or of ``None``
            (:mod:`autoaccel.runtime.warm_start`).
    """

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.trampolines: list[Any] = []
        self.loops: list[Any] = []
        self.by_id: dict[int, Any] = {}
        self.by_code: dict[int, Any] = {}
        self.cache_dirs: dict[Any, Any] = {}
        self.decision_stores: dict[tuple, Any] = {}
        self.variant_table: Any = None
        self.decorated: dict[tuple, tuple] = {}
        self.reports_scheduled: set[tuple] = set()
        self.notebook: Any = None
        self.worker_installation: Any = None
        self.methods: dict[Any, Any] = {}
        self.compile_seconds: list[float] = []
        self.gc_freeze: bool | None = None  # None: no hook installed (nothing frozen)
        self.numba_start_seconds = 0.0
        self.warm_start: tuple[str | None] | None = None

    def reset(self) -> None:
        """Forget everything (tests): as in a new process, except modules already imported."""
        self.__init__()  # type: ignore[misc]


STATE = ProcessState()
