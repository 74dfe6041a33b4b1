"""Configuration: one table of options, discovery of the project's file, and precedence.

Why this design: as in coverage.py's ``config.py``, every option is one row of ``OPTIONS``
(key, type, default, meaning), and precedence is written out once, in :func:`load_config`:
defaults, then the file, then ``AUTOACCEL_*`` environment variables, then explicit arguments.
The file is ``python_optimizer.toml`` (keys at top level, as ``ruff.toml`` does) or the
``[tool.autoaccel]`` table of ``pyproject.toml``.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import os
import re
import sys
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from autoaccel.errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

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

_PATTERN_RE = re.compile(r"^[A-Za-z_*?\[][\w*?\[\]!.]*$")

# Compilation targets, in the order candidates are built and reported (docs/targets.md).
TARGETS = ("cpu", "parallel", "cuda")


@dataclasses.dataclass(frozen=True)
class FunctionOverride:
    """Per-function settings from ``[functions."module.qualname"]``.

    ``None`` means "use the global value": for ``specialize``, ``[specialization] values``
    (``True`` turns value specialization on for this function even where it is off
    globally, ``False`` off even where it is on).
    """

    enabled: bool = True
    min_calls: int | None = None
    min_gain: float | None = None
    specialize: bool | None = None
    # Numba signature strings compiled when the module has been imported; their calls
    # start their trial at the first call instead of after min_calls.
    signatures: tuple[str, ...] = ()
    # Arrays with fewer elements than this are a signature of their own, promoted only on
    # the gain measured with them (None: arrays of any size are one signature).
    min_size: int | None = None


POLICIES = ("lru", "lfu", "ttl", "size", "adaptive")


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

    max_variants: int = 16
    max_memory_mb: float = 256.0
    policy: str = "adaptive"
    ttl_seconds: float = 600.0
    values: bool = False
    threshold: float = 0.8
    max_values: int = 8
    min_calls: int | None = None
    min_gain: float | None = None


@dataclasses.dataclass(frozen=True)
class JitOptions:
    """Options passed to ``numba.njit`` for every variant (the ``[jit]`` table).

    ``fastmath`` and ``parallel`` change floating-point results, so both are off by default;
    ``boundscheck`` is on by default so an out-of-range index raises ``IndexError`` as in
    CPython instead of reading garbage (shared/numba-divergences.md, row 18).
    """

    fastmath: bool = False
    parallel: bool = False
    boundscheck: bool = True
    nogil: bool = False


@dataclasses.dataclass(frozen=True)
class Config:
    """The settings in force for one process.

    Attributes:
        modules: module names or glob patterns (``fnmatch``) selecting modules to rewrite;
            ``"__main__"`` selects the script run by ``python -m autoaccel``.
        exclude: patterns removed from the selection.
        min_calls: calls with one argument-type signature before a variant is tried.
        min_gain: speed-up ratio (original time / variant time) a variant must reach.
        validation_calls: real calls on which a new variant is checked against the original
            and both are timed before the promotion decision.
        isolate_first_run: run each new variant once in a forked child first, so that a
            crash in compiled code rejects the variant instead of killing the program.
        cache: keep compiled variants, decisions and rewritten module code on disk, so a
            later run starts from them (docs/caching.md).
        cache_dir: the cache directory; ``None`` means :func:`default_cache_dir`.
        background_compile: compile in a worker thread while calls keep running the
            original, instead of compiling on the calling thread.
        children: accelerate Python child processes (multiprocessing, ``subprocess`` with
            ``sys.executable``) of ``python -m autoaccel`` with the same settings.
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
        enabled: ``False`` turns autoaccel off entirely (``AUTOACCEL_DISABLE=1``).
        source: the file the settings came from, or ``None`` for defaults only.
    """

    modules: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    min_calls: int = 20
    min_gain: float = 1.2
    validation_calls: int = 3
    isolate_first_run: bool = True
    cache: bool = True
    cache_dir: str | None = None
    background_compile: bool = False
    children: bool = True
    targets: tuple[str, ...] = ("cpu",)
    rtol: float = 0.0
    atol: float = 0.0
    jit: JitOptions = JitOptions()
    specialization: SpecializationOptions = SpecializationOptions()
    functions: Mapping[str, FunctionOverride] = dataclasses.field(default_factory=dict)
    report: bool = False
    report_json: str | None = None
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
        """The settings as a table of the file's shape; :func:`config_from_table` reads it back.

        Child processes get their configuration this way (:mod:`autoaccel.hook.children`).
        ``report`` and ``report_json`` are left out, because the report belongs to the
        process the user started; so are ``enabled`` and ``source``, which are not keys of
        the file. ``cache_dir`` is left out when unset.
        """
        table: dict[str, Any] = {
            "modules": list(self.modules),
            "exclude": list(self.exclude),
            "min_calls": self.min_calls,
            "min_gain": self.min_gain,
            "validation_calls": self.validation_calls,
            "isolate_first_run": self.isolate_first_run,
            "cache": self.cache,
            "background_compile": self.background_compile,
            "children": self.children,
            "targets": list(self.targets),
            "rtol": self.rtol,
            "atol": self.atol,
            "jit": dataclasses.asdict(self.jit),
            "specialization": {
                k: v for k, v in dataclasses.asdict(self.specialization).items() if v is not None
            },
            "functions": {
                name: {
                    k: list(v) if isinstance(v, tuple) else v
                    for k, v in dataclasses.asdict(o).items()
                    if v is not None
                }
                for name, o in self.functions.items()
            },
        }
        if self.cache_dir is not None:
            table["cache_dir"] = self.cache_dir
        return table


_NO_OVERRIDE = FunctionOverride()


def _matches(name: str, patterns: tuple[str, ...]) -> bool:
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns)


# One row per top-level option: (key, python type, meaning). Defaults live on Config.
OPTIONS: tuple[tuple[str, type, str], ...] = (
    ("modules", list, "module names or glob patterns to accelerate"),
    ("exclude", list, "module names or glob patterns never to accelerate"),
    ("min_calls", int, "calls with one signature before a variant is tried"),
    ("min_gain", float, "speed-up a variant must reach to be promoted"),
    ("validation_calls", int, "calls comparing a new variant with the original"),
    ("isolate_first_run", bool, "run each new variant once in a forked child first"),
    ("cache", bool, "keep variants, decisions and rewritten code on disk for later runs"),
    ("cache_dir", str, "the cache directory (default: AUTOACCEL_CACHE_DIR, else ~/.cache)"),
    ("background_compile", bool, "compile in a worker thread; calls run the original meanwhile"),
    ("children", bool, "accelerate Python child processes with the same settings"),
    ("targets", list, "compilation targets that compete: cpu, parallel, cuda"),
    ("rtol", float, "relative tolerance for validating parallel and cuda variants"),
    ("atol", float, "absolute tolerance for validating parallel and cuda variants"),
    ("report", bool, "print a table of decisions on stderr at exit"),
    ("report_json", str, "write the decisions as JSON to this file at exit"),
)
JIT_OPTIONS: tuple[tuple[str, type], ...] = (
    ("fastmath", bool),
    ("parallel", bool),
    ("boundscheck", bool),
    ("nogil", bool),
)
FUNCTION_OPTIONS: tuple[tuple[str, type], ...] = (
    ("enabled", bool),
    ("min_calls", int),
    ("min_gain", float),
    ("specialize", bool),
    ("signatures", list),
    ("min_size", int),
)
SPECIALIZATION_OPTIONS: tuple[tuple[str, type], ...] = (
    ("max_variants", int),
    ("max_memory_mb", float),
    ("policy", str),
    ("ttl_seconds", float),
    ("values", bool),
    ("threshold", float),
    ("max_values", int),
    ("min_calls", int),
    ("min_gain", float),
)


def find_config_file(start_dirs: list[Path]) -> Path | None:
    """The nearest configuration file above any of ``start_dirs``, searched in order.

    In each directory ``python_optimizer.toml`` wins over ``pyproject.toml``; a
    ``pyproject.toml`` without a ``[tool.autoaccel]`` table is skipped.

    Raises:
        ConfigError: a ``pyproject.toml`` on the way is not valid TOML.
    """
    for start in start_dirs:
        for directory in (start, *start.parents):
            candidate = directory / CONFIG_FILENAME
            if candidate.is_file():
                return candidate
            pyproject = directory / "pyproject.toml"
            if pyproject.is_file() and "autoaccel" in _read_toml(pyproject).get("tool", {}):
                return pyproject
    return None


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read: {exc}") from exc


def read_config_table(path: Path) -> dict[str, Any]:
    """The raw autoaccel table of ``path`` (whole file, or ``[tool.autoaccel]``).

    Raises:
        ConfigError: the file is missing, unreadable, not TOML, or has no autoaccel table.
    """
    data = _read_toml(path)
    if path.name == "pyproject.toml":
        table = data.get("tool", {}).get("autoaccel")
        if not isinstance(table, dict):
            raise ConfigError(f"{path}: has no [tool.autoaccel] table")
        return table
    return data


def _check_type(where: str, key: str, value: Any, expected: type) -> Any:
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if (expected is int and isinstance(value, bool)) or not isinstance(value, expected):
        raise ConfigError(
            f"{where}: key '{key}' must be {expected.__name__}, got {value!r} "
            f"({type(value).__name__})"
        )
    return value


def _check_patterns(where: str, key: str, value: list[Any]) -> tuple[str, ...]:
    for item in value:
        if not isinstance(item, str) or not _PATTERN_RE.match(item):
            raise ConfigError(
                f"{where}: key '{key}' has {item!r}, which is not a module name or glob "
                "pattern (examples: 'myapp.kernels', 'myapp.sim.*', '__main__')"
            )
    return tuple(value)


_RANGES = (
    ("min_calls", 1),
    ("min_gain", 0.0),
    ("min_size", 0),
    ("validation_calls", 1),
    ("rtol", 0.0),
    ("atol", 0.0),
    ("max_variants", 1),
    ("max_memory_mb", 0.0),
    ("ttl_seconds", 0.0),
    ("threshold", 0.0),
    ("max_values", 1),
)


def _check_ranges(where: str, fields: Mapping[str, Any]) -> None:
    for key, low in _RANGES:
        if key in fields:
            _check_range(where, key, fields[key], low)


def _check_range(where: str, key: str, value: float, low: float) -> None:
    if not value >= low:  # also rejects NaN
        raise ConfigError(f"{where}: key '{key}' must be >= {low}, got {value!r}")
    if key in ("rtol", "atol") and value == float("inf"):
        raise ConfigError(f"{where}: key '{key}' must be finite, got {value!r}")


def _check_targets(where: str, value: list[Any]) -> tuple[str, ...]:
    if not value:
        raise ConfigError(f"{where}: key 'targets' must name at least one of {list(TARGETS)}")
    for item in value:
        if item not in TARGETS:
            raise ConfigError(
                f"{where}: key 'targets' has {item!r}, which is not one of {list(TARGETS)}"
            )
    if len(set(value)) != len(value):
        raise ConfigError(f"{where}: key 'targets' names a target twice: {value!r}")
    return tuple(value)


def _parse_table(
    where: str, table: Mapping[str, Any], options: tuple[tuple[str, type], ...]
) -> dict[str, Any]:
    known = dict(options)
    parsed = {}
    for key, value in table.items():
        if key not in known:
            warnings.warn(f"{where}: unknown key '{key}' ignored", stacklevel=3)
            continue
        parsed[key] = _check_type(where, key, value, known[key])
    return parsed


def _parse_top_level(where: str, table: Mapping[str, Any]) -> dict[str, Any]:
    """Validated ``Config`` fields from one source (file table or environment)."""
    plain = {k: v for k, v in table.items() if k not in ("jit", "functions", "specialization")}
    fields = _parse_table(where, plain, tuple((key, kind) for key, kind, _ in OPTIONS))
    for key in ("modules", "exclude"):
        if key in fields:
            fields[key] = _check_patterns(where, key, fields[key])
    if "targets" in fields:
        fields["targets"] = _check_targets(where, fields["targets"])
    _check_ranges(where, fields)
    if "jit" in table:
        jit = _check_type(where, "jit", table["jit"], dict)
        fields["jit"] = _parse_table(f"{where} [jit]", jit, JIT_OPTIONS)
    if "specialization" in table:
        body = _check_type(where, "specialization", table["specialization"], dict)
        fields["specialization"] = parse_specialization(f"{where} [specialization]", body)
    if "functions" in table:
        functions = _check_type(where, "functions", table["functions"], dict)
        fields["functions"] = {
            name: _function_override(where, name, body) for name, body in functions.items()
        }
    return fields


def parse_specialization(where: str, table: Mapping[str, Any]) -> dict[str, Any]:
    """Validated fields of :class:`SpecializationOptions` from one table.

    Raises:
        ConfigError: a key has a wrong type, is out of range, or ``policy`` is unknown.
    """
    fields = _parse_table(where, table, SPECIALIZATION_OPTIONS)
    _check_ranges(where, fields)
    if "threshold" in fields and fields["threshold"] > 1.0:
        raise ConfigError(f"{where}: key 'threshold' must be <= 1, got {fields['threshold']!r}")
    if "policy" in fields and fields["policy"] not in POLICIES:
        raise ConfigError(
            f"{where}: key 'policy' must be one of {', '.join(POLICIES)}, got {fields['policy']!r}"
        )
    return fields


def parse_function_arguments(where: str, arguments: Mapping[str, Any]) -> dict[str, Any]:
    """Validated settings for one function, given as arguments (``@optimize``'s keywords).

    Args:
        where: what the arguments came from, for error messages.
        arguments: keys of ``[functions."m.f"]`` (``enabled``, ``min_calls``, ``min_gain``,
            ``specialize``), which apply to the function alone, and top-level keys and a
            ``jit`` table of the file, which apply to it through its own :class:`Config`.

    Returns:
        The top-level fields, with the per-function ones under ``"function"``; what
        :func:`with_function_arguments` takes.

    Raises:
        ConfigError: a value has a wrong type or is out of range; the message names the key.
    """
    own = dict(FUNCTION_OPTIONS)
    function = _parse_table(
        where, {k: v for k, v in arguments.items() if k in own}, FUNCTION_OPTIONS
    )
    _check_ranges(where, function)
    fields = _parse_top_level(where, {k: v for k, v in arguments.items() if k not in own})
    return {**fields, "function": function}


def with_function_arguments(config: Config, name: str, parsed: Mapping[str, Any]) -> Config:
    """``config`` with one function's arguments on top: the configuration that function uses.

    Arguments come last in precedence (after the file's ``[functions."m.f"]`` too), so
    ``@optimize(min_calls=5)`` wins over the file for that function.

    Args:
        config: the configuration in force.
        name: the function's ``"module.qualname"``.
        parsed: the result of :func:`parse_function_arguments`.
    """
    fields = dict(parsed)
    override = dataclasses.replace(config.override(name), **fields.pop("function", {}))
    jit = dataclasses.replace(config.jit, **fields.pop("jit", {}))
    functions = {**config.functions, name: override}
    return dataclasses.replace(config, **fields, jit=jit, functions=functions)


def search_dirs() -> list[Path]:
    """Where a program's configuration is looked for: the script's directory, then the cwd."""
    script = sys.argv[0] if sys.argv and sys.argv[0] else ""
    here = [Path(script).resolve().parent] if script and Path(script).is_file() else []
    return [*here, Path.cwd()]


def config_from_table(where: str, table: Mapping[str, Any]) -> Config:
    """A :class:`Config` from one table of the file's shape; absent keys keep their defaults.

    Args:
        where: what the table came from, for error messages (a file, a variable).
        table: keys and values as in ``python_optimizer.toml`` (e.g. :meth:`Config.as_table`).

    Raises:
        ConfigError: a key has a wrong type or value; the message starts with ``where``.
    """
    fields = _parse_top_level(where, table)
    fields["jit"] = JitOptions(**fields.get("jit", {}))
    fields["specialization"] = SpecializationOptions(**fields.get("specialization", {}))
    return Config(**fields)


def disabled_by_environment(environ: Mapping[str, str]) -> bool:
    """Whether ``AUTOACCEL_DISABLE`` in ``environ`` turns autoaccel off.

    Raises:
        ConfigError: the value is not a boolean word (``1``, ``0``, ``true``, ``off``...).
    """
    return bool(
        environ.get("AUTOACCEL_DISABLE", "").strip()
        and _environment_value(environ, "AUTOACCEL_DISABLE", bool)
    )


def _function_override(where: str, name: str, body: Any) -> FunctionOverride:
    table_where = f'{where} [functions."{name}"]'
    table = _check_type(where, f"functions.{name}", body, dict)
    fields = _parse_table(table_where, table, FUNCTION_OPTIONS)
    _check_ranges(table_where, fields)
    if "signatures" in fields:
        fields["signatures"] = _check_signatures(table_where, fields["signatures"])
    return FunctionOverride(**fields)


def _check_signatures(where: str, value: list[Any]) -> tuple[str, ...]:
    """Each entry parsed by Numba now (imported only for this), so a typo fails at start."""
    from autoaccel.backends.cpu import parse_signature, python_types

    for text in value:
        if not isinstance(text, str):
            raise ConfigError(f"{where}: key 'signatures' must list strings, got {text!r}")
        try:
            python_types(parse_signature(text))
        except ValueError as exc:
            raise ConfigError(
                f"{where}: key 'signatures': {exc}; write it as Numba does, "
                'e.g. "float64[:](float64[:], float64)"'
            ) from None
    return tuple(value)


def _environment_fields(environ: Mapping[str, str]) -> dict[str, Any]:
    """``AUTOACCEL_MODULES=a,b``, ``AUTOACCEL_MIN_CALLS=5``... parsed like file values."""
    fields: dict[str, Any] = {}
    for key, kind, _ in OPTIONS:
        variable = f"AUTOACCEL_{key.upper()}"
        if variable in environ:
            value = _environment_value(environ, variable, kind)
            fields.update(_parse_top_level(f"environment variable {variable}", {key: value}))
    return fields


def _environment_value(environ: Mapping[str, str], variable: str, kind: type) -> Any:
    raw = environ[variable]
    try:
        return _parse_environment_value(raw, kind)
    except ValueError:
        raise ConfigError(
            f"environment variable {variable}: {raw!r} is not a valid {kind.__name__}"
        ) from None


def _parse_environment_value(raw: str, kind: type) -> Any:
    if kind is list:
        return [part.strip() for part in raw.split(",") if part.strip()]
    if kind is bool:
        lowered = raw.strip().lower()
        if lowered not in ("1", "0", "true", "false", "yes", "no", "on", "off"):
            raise ValueError(raw)
        return lowered in ("1", "true", "yes", "on")
    return kind(raw)


def _merge(base: dict[str, Any], layer: dict[str, Any]) -> dict[str, Any]:
    merged = {**base, **layer}
    for table in ("jit", "specialization"):
        if table in base and table in layer:
            merged[table] = {**base[table], **layer[table]}
    return merged


def load_config(
    *,
    config_file: Path | None = None,
    search_from: list[Path] | None = None,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
    default_modules: tuple[str, ...] = (),
) -> Config:
    """Build the configuration in force, in precedence order.

    Args:
        config_file: an explicit file (``--config``); else ``AUTOACCEL_CONFIG``; else the
            nearest file found above ``search_from`` (directories, searched in order).
        search_from: directories to start discovery from; defaults to the working directory.
        environ: the environment to read (defaults to ``os.environ``).
        overrides: already-parsed field values from command-line arguments (highest).
        default_modules: the selection used when no file names ``modules`` (the CLI passes
            ``("__main__",)`` so a script with no config accelerates itself).

    Returns:
        The frozen :class:`Config`.

    Raises:
        ConfigError: bad file, key, type or value; the message names each of them.
    """
    environ = os.environ if environ is None else environ
    if disabled_by_environment(environ):
        return Config(enabled=False)
    path = config_file or (
        Path(environ["AUTOACCEL_CONFIG"]) if environ.get("AUTOACCEL_CONFIG") else None
    )
    if path is not None and not path.is_file():
        raise ConfigError(f"{path}: configuration file not found")
    if path is None:
        path = find_config_file(search_from or [Path.cwd()])
    fields: dict[str, Any] = {"modules": default_modules}
    if path is not None:
        fields = _merge(fields, _parse_top_level(str(path), read_config_table(path)))
    fields = _merge(fields, _environment_fields(environ))
    fields = _merge(fields, _parse_top_level("arguments", overrides or {}))
    fields["jit"] = JitOptions(**fields.get("jit", {}))
    fields["specialization"] = SpecializationOptions(**fields.get("specialization", {}))
    return Config(source=path, **fields)
