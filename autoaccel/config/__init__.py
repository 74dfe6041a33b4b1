"""Configuration: the option table, validation, discovery of the file, and precedence.

Layer 1 of the package (docs/how-it-works.md): it imports nothing of autoaccel but
:mod:`autoaccel.errors`. :mod:`~autoaccel.config.options` holds the settings' dataclasses,
written as one table of options; :mod:`~autoaccel.config.parsing` validates tables against it;
:mod:`~autoaccel.config.loading` finds the file and applies the sources in order;
:mod:`~autoaccel.config.signatures` reads declared Numba signatures.
"""

from autoaccel.config.loading import (
    disabled_by_environment,
    find_config_file,
    load_config,
    read_config_table,
    search_dirs,
)
from autoaccel.config.options import (
    ALWAYS_EXCLUDED,
    CONFIG_FILENAME,
    POLICIES,
    TARGETS,
    Config,
    FunctionOverride,
    JitOptions,
    SpecializationOptions,
)
from autoaccel.config.parsing import (
    config_from_table,
    parse_function_arguments,
    parse_specialization,
    with_function_arguments,
)

__all__ = [
    "ALWAYS_EXCLUDED",
    "CONFIG_FILENAME",
    "POLICIES",
    "TARGETS",
    "Config",
    "FunctionOverride",
    "JitOptions",
    "SpecializationOptions",
    "config_from_table",
    "disabled_by_environment",
    "find_config_file",
    "load_config",
    "parse_function_arguments",
    "parse_specialization",
    "read_config_table",
    "search_dirs",
    "with_function_arguments",
]
