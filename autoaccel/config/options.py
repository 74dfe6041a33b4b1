"""The options: one table, written once as dataclass fields with their metadata.

Why this design: as in coverage.py's ``CONFIG_FILE_OPTIONS``, an option is one row. Here the
row is the field itself: ``option(default, meaning, minimum=...)`` gives the dataclass its
default and attaches an :class:`Option` (TOML type, range, check, whether a child process
inherits it). The validation (:mod:`autoaccel.config.parsing`), the table form that child
processes get (:meth:`Config.as_table`) and the lists of keys (:data:`OPTIONS` and its
siblings) are all derived from these fields, so adding an option is one line.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

CONFIG_FILENAME = "python_optimizer.toml"

# Modules autoaccel must never rewrite: itself and the libraries it compiles with.
ALWAYS_EXCLUDED = (
    "autoaccel",
    "autoaccel.*",
    "numba",
    "numba.*",
    "numba_cuda",
    "numba_cuda.*",
    "llvmlite",
    "llvmlite.*",
)

PATTERN_RE = re.compile(r"^[A-Za-z_*?\[][\w*?\[\]!.]*$")

# Compilation targets, in the order candidates are built and reported (docs/targets.md).
TARGETS = ("cpu", "parallel", "cuda")
# Eviction policies of the variant cache (autoaccel.policy.eviction implements each).
POLICIES = ("lru", "lfu", "ttl", "size", "adaptive")


@dataclasses.dataclass(frozen=True)
class Option:
    """One option's row of the table (the metadata of its dataclass field).

    Attributes:
        meaning: what it does, in a few words.
        kind: the type its TOML value must have (``bool``, ``int``, ``float``, ``str``,
            ``list``, ``dict``); an ``int`` is accepted where a ``float`` is expected.
        minimum, maximum: the allowed range (inclusive), or ``None``.
        check: a further validation by name (one of :mod:`autoaccel.config.parsing`'s
            checks: ``"patterns"``, ``"targets"``, ``"signatures"``, ``"policy"``,
            ``"finite"``), or ``None``.
        inherited: whether a child process gets it (:meth:`Config.as_table`); the report
            belongs to the process the user started.
    """

    meaning: str
    kind: type
    minimum: float | None = None
    maximum: float | None = None
    check: str | None = None
    inherited: bool = True


def option(default: Any, meaning: str, kind: type | None = None, **row: Any) -> Any:
    """A dataclass field with its :class:`Option` row (``kind`` defaults to the default's)."""
    row_kind = kind or (list if isinstance(default, tuple) else type(default))
    metadata = {"option": Option(meaning, row_kind, **row)}
    return dataclasses.field(default=default, metadata=metadata)


def rows(cls: type) -> tuple[tuple[str, Option], ...]:
    """``(key, Option)`` for every option field of dataclass ``cls``, in field order."""
    return tuple(
        (field.name, field.metadata["option"])
        for field in dataclasses.fields(cls)
        if "option" in field.metadata
    )


@dataclasses.dataclass(frozen=True)
class FunctionOverride:
    """Per-function settings from ``[functions."module.qualname"]``.

    ``None`` means "use the global value": for ``specialize``, ``[specialization] values``
    (``True`` turns value specialization on for this function even where it is off
    globally, ``False`` off even where it is on).

    Attributes:
        signatures: Numba signature strings compiled once the module has been imported;
            their calls start their trial at the first call instead of after ``min_calls``.
        min_size: arrays with fewer elements than this are a signature of their own,
            promoted only on the gain measured with them (``None``: any size is one).
    """

    enabled: bool = option(True, "accelerate this function at all")
    min_calls: int | None = option(None, "calls before a variant is tried", int, minimum=1)
    min_gain: float | None = option(None, "speed-up to be promoted", float, minimum=0.0)
    specialize: bool | None = option(None, "value specialization for this function", bool)
    signatures: tuple[str, ...] = option((), "Numba signatures compiled ahead", check="signatures")
    min_size: int | None = option(
        None, "arrays smaller than this form their own signature", int, minimum=0
    )


@dataclasses.dataclass(frozen=True)
class SpecializationOptions:
    """The variant cache and value specialization (the ``[specialization]`` table).

    Attributes:
        max_variants: promoted variants kept per function (value-specialized ones included).
        max_memory_mb: total machine code of promoted variants kept, in MiB (object code
            size as Numba emits it).
        policy: which variant goes when a bound is reached: ``lru`` (least recently used),
            ``lfu`` (fewest calls), ``ttl`` (unused for ``ttl_seconds``, else the oldest),
            ``size`` (largest code), ``adaptive`` (least time saved: calls x measured gain).
        ttl_seconds: under ``ttl``, a variant unused this long (seconds) is evicted.
        values: build value-specialized variants for arguments that take a few constant
            values (str, int, bool, tuple of ints) on most calls. Off by default (opt in;
            docs/specialization.md says what has been measured with it on).
        threshold: share of a signature's calls (0..1) that at most ``max_values`` values of
            one argument must cover for it to be specialized.
        max_values: most distinct values of one argument that get variants.
        min_calls: calls with one value before its variant is compiled (``None``: the
            function's ``min_calls``).
        min_gain: speed-up over the generic variant a value-specialized variant must reach
            (``None``: the function's ``min_gain``).
    """

    max_variants: int = option(16, "variants kept per function", minimum=1)
    max_memory_mb: float = option(256.0, "machine code kept, MiB", minimum=0.0)
    policy: str = option("adaptive", "eviction policy", check="policy")
    ttl_seconds: float = option(600.0, "seconds unused before a ttl eviction", minimum=0.0)
    values: bool = option(False, "specialize on argument values")
    threshold: float = option(0.8, "share of calls the values must cover", minimum=0.0, maximum=1.0)
    max_values: int = option(8, "values of one argument specialized", minimum=1)
    min_calls: int | None = option(None, "calls with one value before its variant", int, minimum=1)
    min_gain: float | None = option(None, "speed-up over the generic variant", float, minimum=0.0)


@dataclasses.dataclass(frozen=True)
class JitOptions:
    """Options passed to ``numba.njit`` for every variant (the ``[jit]`` table).

    ``fastmath`` and ``parallel`` change floating-point results, so both are off by default;
    ``boundscheck`` is on by default so an out-of-range index raises ``IndexError`` as in
    CPython instead of reading garbage (docs/divergences.md, row 18).
    """

    fastmath: bool = option(False, "numba.njit(fastmath=...)")
    parallel: bool = option(False, "numba.njit(parallel=...)")
    boundscheck: bool = option(True, "numba.njit(boundscheck=...)")
    nogil: bool = option(False, "numba.njit(nogil=...)")


@dataclasses.dataclass(frozen=True)
class Config:
    """The settings in force for one process.

    Attributes:
        modules: module names or glob patterns (``fnmatch``) selecting modules to rewrite;
            ``"__main__"`` selects the script run by ``python -m autoaccel``.
        exclude: patterns removed from the selection.
        min_calls: calls with one argument-type signature before a variant is tried.
        min_gain: speed-up ratio (original time / variant time) a variant must reach.
        min_seconds: the Python time (seconds, estimated from timed calls) a signature's
            calls add up to before it is compiled; with ``min_gain > 0``, a signature whose
            calls are too short for any variant to reach ``min_gain`` is rejected uncompiled
            (:mod:`autoaccel.policy.cost`).
        validation_calls: real calls on which a new variant is checked against the original
            and both are timed before the promotion decision (for a loop: windows of
            iterations).
        compile_payback: the ski-rental rule: a unit is compiled only once its Python time
            reaches this many times the compile time expected from this process's earlier
            compiles (ratio; ``min_seconds`` and ``loop_min_seconds`` stay the floor, and
            alone decide until the first compile). ``0``, the default, turns the rule off:
            with the cache on, a compile also serves later runs, and holding compiles back
            made warm runs slower (:mod:`autoaccel.policy.cost`).
        start_payback: the warm-start rule: a script whose last run that loaded saved
            promotions saved less than this many times what starting Numba and loading them
            took runs its next runs without loading them (ratio; every eighth such run loads
            them again to measure anew; ``0``: always load;
            :mod:`autoaccel.runtime.warm_start`).
        loops: make each loop a unit of its own, promoted mid-run when it is hot
            (docs/how-it-works.md, "Loops").
        loop_min_seconds: the Python time (seconds, summed over its runs) a loop takes before
            it is compiled and trialled.
        compile_budget: CPU seconds one compile may take before it is given up and its
            signature rejected (kept by source, so later runs do not retry it); ``0``: no
            limit (:mod:`autoaccel.backends.budget`).
        isolate_first_run: run each new variant once in a forked child first, so that a
            crash in compiled code rejects the variant instead of killing the program.
        cache: keep compiled variants, decisions and rewritten module code on disk, so a
            later run starts from them (docs/caching.md).
        cache_dir: the cache directory; ``None`` means the default one
            (:func:`autoaccel.cache.directory.default_cache_dir`).
        background_compile: compile in a worker thread while calls keep running the
            original, instead of compiling on the calling thread.
        children: accelerate Python child processes (multiprocessing, ``subprocess`` with
            ``sys.executable``) of ``python -m autoaccel`` with the same settings.
        gc_freeze: freeze the objects alive when the hook is installed and when Numba is
            imported out of the cyclic garbage collector's full collections (``gc.freeze``,
            :mod:`autoaccel.backends.collector`).
        strings: compile functions that take ``str`` arguments. Off by default: Numba
            compiles its unicode operations slowly, 1 to 10 s a function on the development
            machine (docs/boundary.md), which small string functions never pay back.
        targets: the compilation targets whose variants compete for each hot signature:
            ``"cpu"`` (``numba.njit``), ``"parallel"`` (``njit(parallel=True)``), ``"cuda"``
            (numba-cuda kernels for elementwise code); the fastest that passes validation
            and ``min_gain`` is promoted (docs/targets.md).
        rtol, atol: the tolerance with which ``parallel`` and ``cuda`` variants are
            validated (``|variant - original| <= atol + rtol * |original|`` for floats);
            ``cpu`` variants are always compared exactly.
        jit: options for ``numba.njit``.
        specialization: the variant cache's bounds and value specialization.
        functions: overrides keyed by ``"module.qualname"``.
        report: print a table of decisions on stderr at exit.
        report_json: write the decisions as JSON to this path at exit.
        report_html: write the report as a self-contained HTML page to this path at exit.
        enabled: ``False`` turns autoaccel off entirely (``AUTOACCEL_DISABLE=1``).
        source: the file the settings came from, or ``None`` for defaults only.
    """

    modules: tuple[str, ...] = option(
        (), "module names or glob patterns to accelerate", check="patterns"
    )
    exclude: tuple[str, ...] = option(
        (), "module names or glob patterns never to accelerate", check="patterns"
    )
    min_calls: int = option(20, "calls with one signature before a variant is tried", minimum=1)
    min_gain: float = option(1.2, "speed-up a variant must reach to be promoted", minimum=0.0)
    min_seconds: float = option(
        0.05,
        "Python seconds a signature's calls take (all together) before it is compiled",
        minimum=0.0,
    )
    validation_calls: int = option(3, "calls comparing a new variant with the original", minimum=1)
    compile_payback: float = option(
        0.0,
        "Python time a unit takes before it is compiled, in expected compile times (0: off)",
        minimum=0.0,
        check="finite",
    )
    start_payback: float = option(
        1.0,
        "time saved a warm run's promotions must reach, in their Numba start costs (0: off)",
        minimum=0.0,
        check="finite",
    )
    loops: bool = option(True, "promote hot loops on their own, mid-run (on-stack replacement)")
    loop_min_seconds: float = option(
        0.05,
        "Python seconds a loop runs (all its runs together) before it is compiled",
        minimum=0.0,
    )
    compile_budget: float = option(
        5.0, "CPU seconds a compile may take before it is given up (0: no limit)", minimum=0.0
    )
    isolate_first_run: bool = option(True, "run each new variant once in a forked child first")
    cache: bool = option(True, "keep variants, decisions and rewritten code on disk for later runs")
    cache_dir: str | None = option(
        None, "the cache directory (default: AUTOACCEL_CACHE_DIR, else ~/.cache)", str
    )
    background_compile: bool = option(
        False, "compile in a worker thread; calls run the original meanwhile"
    )
    children: bool = option(True, "accelerate Python child processes with the same settings")
    gc_freeze: bool = option(
        True, "keep autoaccel's and Numba's objects out of the garbage collector's full passes"
    )
    strings: bool = option(False, "compile functions that take str arguments (slow to compile)")
    targets: tuple[str, ...] = option(
        ("cpu",), "compilation targets that compete: cpu, parallel, cuda", check="targets"
    )
    rtol: float = option(
        0.0,
        "relative tolerance for validating parallel and cuda variants",
        minimum=0.0,
        check="finite",
    )
    atol: float = option(
        0.0,
        "absolute tolerance for validating parallel and cuda variants",
        minimum=0.0,
        check="finite",
    )
    jit: JitOptions = dataclasses.field(default=JitOptions())
    specialization: SpecializationOptions = dataclasses.field(default=SpecializationOptions())
    functions: Mapping[str, FunctionOverride] = dataclasses.field(default_factory=dict)
    report: bool = option(False, "print a table of decisions on stderr at exit", inherited=False)
    report_json: str | None = option(
        None, "write the decisions as JSON to this file at exit", str, inherited=False
    )
    report_html: str | None = option(
        None, "write the report as an HTML page to this file at exit", str, inherited=False
    )
    enabled: bool = True
    source: Path | None = None

    def selects(self, module_name: str) -> bool:
        """Whether ``module_name`` (a dotted name) is rewritten under this configuration."""
        if not self.enabled:
            return False
        if _matches(module_name, ALWAYS_EXCLUDED + self.exclude):
            return False
        return _matches(module_name, self.modules)

    def override(self, qualified_name: str) -> FunctionOverride:
        """The per-function settings for ``"module.qualname"`` (defaults when none given)."""
        return self.functions.get(qualified_name, _NO_OVERRIDE)

    def as_table(self) -> dict[str, Any]:
        """The settings as a table of the file's shape; ``config_from_table`` reads it back.

        Child processes get their configuration this way (:mod:`autoaccel.hook.children`).
        Options not ``inherited`` (``report``, ``report_json``) are left out, because the
        report belongs to the process the user started; so are ``enabled`` and ``source``,
        which are not keys of the file, and every key whose value is ``None`` (unset).
        """
        table = _table_of(self, rows(Config))
        table["jit"] = _table_of(self.jit, rows(JitOptions))
        table["specialization"] = _table_of(self.specialization, rows(SpecializationOptions))
        table["functions"] = {
            name: _table_of(override, rows(FunctionOverride))
            for name, override in self.functions.items()
        }
        return table


def _table_of(settings: Any, table_rows: tuple[tuple[str, Option], ...]) -> dict[str, Any]:
    """The inherited, set options of one dataclass instance, as TOML values."""
    table = {}
    for key, row in table_rows:
        value = getattr(settings, key)
        if row.inherited and value is not None:
            table[key] = list(value) if isinstance(value, tuple) else value
    return table


_NO_OVERRIDE = FunctionOverride()


def _matches(name: str, patterns: tuple[str, ...]) -> bool:
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns)


# The keys of each table of the file, derived from the fields above.
OPTIONS: tuple[tuple[str, type, str], ...] = tuple(
    (key, row.kind, row.meaning) for key, row in rows(Config)
)
JIT_OPTIONS: tuple[tuple[str, type], ...] = tuple((k, r.kind) for k, r in rows(JitOptions))
FUNCTION_OPTIONS: tuple[tuple[str, type], ...] = tuple(
    (k, r.kind) for k, r in rows(FunctionOverride)
)
SPECIALIZATION_OPTIONS: tuple[tuple[str, type], ...] = tuple(
    (k, r.kind) for k, r in rows(SpecializationOptions)
)
# The nested tables of the file, and the dataclass of each.
TABLES: Mapping[str, type] = {"jit": JitOptions, "specialization": SpecializationOptions}
