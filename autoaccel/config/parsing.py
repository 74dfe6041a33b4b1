"""Validation of configuration tables: types, ranges and checks read off the option table.

Every table of the file's shape (a file, an ``AUTOACCEL_*`` variable, ``@optimize``'s
keywords, a child's inherited settings) goes through :func:`parse_top_level`, which checks
each key against the :class:`~autoaccel.config.options.Option` row of its field. An error
names the source, the key and the value, and says what would be accepted.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from autoaccel.config.options import (
    PATTERN_RE,
    POLICIES,
    TABLES,
    TARGETS,
    Config,
    FunctionOverride,
    JitOptions,
    Option,
    SpecializationOptions,
    rows,
)
from autoaccel.config.signatures import parse_signature, python_types
from autoaccel.errors import ConfigError, warn


def _check_type(where: str, key: str, value: Any, expected: type) -> Any:
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if (expected is int and isinstance(value, bool)) or not isinstance(value, expected):
        raise ConfigError(
            f"{where}: key '{key}' must be {expected.__name__}, got {value!r} "
            f"({type(value).__name__})"
        )
    return value


def _check_range(where: str, key: str, value: float, row: Option) -> None:
    if row.minimum is not None and not value >= row.minimum:  # also rejects NaN
        raise ConfigError(f"{where}: key '{key}' must be >= {row.minimum}, got {value!r}")
    if row.maximum is not None and value > row.maximum:
        raise ConfigError(f"{where}: key '{key}' must be <= {row.maximum:g}, got {value!r}")


def _check_patterns(where: str, key: str, value: list[Any]) -> tuple[str, ...]:
    for item in value:
        if not isinstance(item, str) or not PATTERN_RE.match(item):
            raise ConfigError(
                f"{where}: key '{key}' has {item!r}, which is not a module name or glob "
                "pattern (examples: 'myapp.kernels', 'myapp.sim.*', '__main__')"
            )
    return tuple(value)


def _check_targets(where: str, key: str, value: list[Any]) -> tuple[str, ...]:
    if not value:
        raise ConfigError(f"{where}: key '{key}' must name at least one of {list(TARGETS)}")
    for item in value:
        if item not in TARGETS:
            raise ConfigError(
                f"{where}: key '{key}' has {item!r}, which is not one of {list(TARGETS)}"
            )
    if len(set(value)) != len(value):
        raise ConfigError(f"{where}: key '{key}' names a target twice: {value!r}")
    return tuple(value)


def _check_signatures(where: str, key: str, value: list[Any]) -> tuple[str, ...]:
    """Each entry parsed by Numba now (imported only for this), so a typo fails at start."""
    for text in value:
        if not isinstance(text, str):
            raise ConfigError(f"{where}: key '{key}' must list strings, got {text!r}")
        try:
            python_types(parse_signature(text))
        except ValueError as exc:
            raise ConfigError(
                f"{where}: key '{key}': {exc}; write it as Numba does, "
                'e.g. "float64[:](float64[:], float64)"'
            ) from None
    return tuple(value)


def _check_policy(where: str, key: str, value: str) -> str:
    if value not in POLICIES:
        raise ConfigError(
            f"{where}: key '{key}' must be one of {', '.join(POLICIES)}, got {value!r}"
        )
    return value


def _check_finite(where: str, key: str, value: float) -> float:
    if value == float("inf"):
        raise ConfigError(f"{where}: key '{key}' must be finite, got {value!r}")
    return value


_CHECKS: dict[str, Callable[[str, str, Any], Any]] = {
    "patterns": _check_patterns,
    "targets": _check_targets,
    "signatures": _check_signatures,
    "policy": _check_policy,
    "finite": _check_finite,
}


def _warn_unknown(where: str, key: str, known: Iterable[str], source: Path | None) -> None:
    """Warn about an unknown key, at its line of the file, with the nearest known key."""
    close = difflib.get_close_matches(key, list(known), n=1)
    hint = f"; did you mean '{close[0]}'?" if close else ""
    message = f"{where}: unknown key '{key}' ignored{hint}"
    warn(message, filename=str(source or ""), lineno=key_line(source, key))


def key_line(source: Path | None, key: str) -> int:
    """The first line of file ``source`` that sets ``key`` (1-based), or 0 if none is found.

    For warnings that point at the configuration file (``warnings`` shows that line).
    """
    if source is None:
        return 0
    try:
        text = source.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return 0
    found = re.search(rf'^[ \t]*["\']?{re.escape(key)}["\']?[ \t]*=', text, re.MULTILINE)
    return text.count("\n", 0, found.start()) + 1 if found else 0


def parse_table(
    where: str, table: Mapping[str, Any], cls: type, source: Path | None = None
) -> dict[str, Any]:
    """Validated fields of dataclass ``cls`` from ``table``; unknown keys warn and are ignored.

    Args:
        where: what the table came from, for messages.
        table: the keys and values.
        cls: the dataclass whose option rows the keys must match.
        source: the file the table was read from, where the warning about an unknown key
            points (at its line), or ``None``.

    Raises:
        ConfigError: a value has the wrong type, is out of range or fails its check.
    """
    known = dict(rows(cls))
    parsed = {}
    for key, value in table.items():
        row = known.get(key)
        if row is None:
            _warn_unknown(where, key, known, source)
            continue
        value = _check_type(where, key, value, row.kind)
        if row.minimum is not None or row.maximum is not None:
            _check_range(where, key, value, row)
        parsed[key] = _CHECKS[row.check](where, key, value) if row.check else value
    return parsed


def parse_top_level(
    where: str, table: Mapping[str, Any], source: Path | None = None
) -> dict[str, Any]:
    """Validated ``Config`` fields from one source (file table, environment, arguments).

    The nested tables come back as dicts of their own validated fields (``jit``,
    ``specialization``), and ``functions`` as :class:`FunctionOverride` objects.

    Args:
        where: what the table came from, for messages.
        table: the keys and values.
        source: the file it was read from (warnings point at its lines), or ``None``.

    Raises:
        ConfigError: bad key, type or value; the message starts with ``where``.
    """
    nested = ("functions", *TABLES)
    own = {k: v for k, v in table.items() if k not in nested}
    fields = parse_table(where, own, Config, source)
    for key, cls in TABLES.items():
        if key in table:
            body = _check_type(where, key, table[key], dict)
            fields[key] = parse_table(f"{where} [{key}]", body, cls, source)
    if "functions" in table:
        functions = _check_type(where, "functions", table["functions"], dict)
        fields["functions"] = {
            name: _function_override(where, name, body, source) for name, body in functions.items()
        }
    return fields


def _function_override(where: str, name: str, body: Any, source: Path | None) -> FunctionOverride:
    table = _check_type(where, f"functions.{name}", body, dict)
    where = f'{where} [functions."{name}"]'
    return FunctionOverride(**parse_table(where, table, FunctionOverride, source))


def parse_specialization(where: str, table: Mapping[str, Any]) -> dict[str, Any]:
    """Validated fields of :class:`SpecializationOptions` from one table.

    Raises:
        ConfigError: a key has a wrong type, is out of range, or ``policy`` is unknown.
    """
    return parse_table(where, table, SpecializationOptions)


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
    own = dict(rows(FunctionOverride))
    function = parse_table(
        where, {k: v for k, v in arguments.items() if k in own}, FunctionOverride
    )
    fields = parse_top_level(where, {k: v for k, v in arguments.items() if k not in own})
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


def build_config(fields: Mapping[str, Any], **extra: Any) -> Config:
    """A :class:`Config` from validated fields (nested tables still as dicts)."""
    values = dict(fields)
    values["jit"] = JitOptions(**values.get("jit", {}))
    values["specialization"] = SpecializationOptions(**values.get("specialization", {}))
    return Config(**values, **extra)


def config_from_table(where: str, table: Mapping[str, Any]) -> Config:
    """A :class:`Config` from one table of the file's shape; absent keys keep their defaults.

    Args:
        where: what the table came from, for error messages (a file, a variable).
        table: keys and values as in ``python_optimizer.toml`` (e.g. :meth:`Config.as_table`).

    Raises:
        ConfigError: a key has a wrong type or value; the message starts with ``where``.
    """
    return build_config(parse_top_level(where, table))


def environment_value(environ: Mapping[str, str], variable: str, kind: type) -> Any:
    """The value of ``environ[variable]`` as a ``kind`` (``a,b`` is a list).

    Raises:
        ConfigError: the text is not a valid ``kind``.
    """
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


def environment_fields(environ: Mapping[str, str]) -> dict[str, Any]:
    """``AUTOACCEL_MODULES=a,b``, ``AUTOACCEL_MIN_CALLS=5``... parsed like file values."""
    fields: dict[str, Any] = {}
    for key, row in rows(Config):
        variable = f"AUTOACCEL_{key.upper()}"
        if variable in environ:
            value = environment_value(environ, variable, row.kind)
            fields.update(parse_top_level(f"environment variable {variable}", {key: value}))
    return fields
