"""Finding the project's configuration file, and the precedence of its sources.

Why this design: as in coverage.py's ``config.py``, precedence is written out once, in
:func:`load_config`: defaults, then the file, then ``AUTOACCEL_*`` environment variables,
then explicit arguments. The file is ``python_optimizer.toml`` (keys at top level, as
``ruff.toml`` does) or the ``[tool.autoaccel]`` table of ``pyproject.toml``; ``tomllib`` reads
it on Python 3.11+, ``tomli`` before.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from autoaccel.config.options import CONFIG_FILENAME, TABLES, Config
from autoaccel.config.parsing import (
    build_config,
    environment_fields,
    environment_value,
    parse_top_level,
)
from autoaccel.errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib


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
    except UnicodeDecodeError as exc:  # TOML is UTF-8; tomllib lets this through
        raise ConfigError(
            f"{path}: not valid TOML: byte {exc.start} is not UTF-8 text ({exc.reason})"
        ) from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a directory, not a configuration file") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read: {exc.strerror or exc}") from exc


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


def search_dirs() -> list[Path]:
    """Where a program's configuration is looked for: the script's directory, then the cwd."""
    script = sys.argv[0] if sys.argv and sys.argv[0] else ""
    here = [Path(script).resolve().parent] if script and Path(script).is_file() else []
    return [*here, Path.cwd()]


def disabled_by_environment(environ: Mapping[str, str]) -> bool:
    """Whether ``AUTOACCEL_DISABLE`` in ``environ`` turns autoaccel off.

    Raises:
        ConfigError: the value is not a boolean word (``1``, ``0``, ``true``, ``off``...).
    """
    return bool(
        environ.get("AUTOACCEL_DISABLE", "").strip()
        and environment_value(environ, "AUTOACCEL_DISABLE", bool)
    )


def _merge(base: dict[str, Any], layer: dict[str, Any]) -> dict[str, Any]:
    merged = {**base, **layer}
    for table in TABLES:
        if table in base and table in layer:
            merged[table] = {**base[table], **layer[table]}
    return merged


def load_config(
    *,
    config_file: str | os.PathLike[str] | None = None,
    search_from: list[Path] | None = None,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
    default_modules: tuple[str, ...] = (),
) -> Config:
    """Build the configuration in force, in precedence order.

    Args:
        config_file: an explicit file (``--config``; a path or a str); else
            ``AUTOACCEL_CONFIG``; else the nearest file found above ``search_from``
            (directories, searched in order).
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
    path = Path(config_file) if config_file else None
    if path is None and environ.get("AUTOACCEL_CONFIG"):
        path = Path(environ["AUTOACCEL_CONFIG"])
    if path is not None and not path.exists():
        raise ConfigError(f"{path}: configuration file not found")
    if path is None:
        path = find_config_file(search_from or [Path.cwd()])
    fields: dict[str, Any] = {"modules": default_modules}
    if path is not None:
        fields = _merge(fields, parse_top_level(str(path), read_config_table(path), path))
    fields = _merge(fields, environment_fields(environ))
    fields = _merge(fields, parse_top_level("arguments", overrides or {}))
    return build_config(fields, source=path)
