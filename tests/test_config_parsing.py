"""autoaccel.config.parsing: tables and environment values checked against the option table."""

from __future__ import annotations

import pytest

from autoaccel.config import Config, FunctionOverride, JitOptions, config_from_table, load_config
from autoaccel.config.options import SpecializationOptions
from autoaccel.config.parsing import (
    environment_fields,
    environment_value,
    parse_function_arguments,
    parse_table,
    parse_top_level,
    with_function_arguments,
)
from autoaccel.errors import ConfigError


def test_config_from_table_validates_like_a_file():
    with pytest.raises(ConfigError, match=r"^the table: key 'min_calls' must be >= 1, got 0"):
        config_from_table("the table", {"min_calls": 0})
    assert config_from_table("the table", {}) == Config()


def test_parse_table_checks_type_range_and_named_check():
    assert parse_table("w", {"max_variants": 4, "threshold": 1}, SpecializationOptions) == {
        "max_variants": 4,
        "threshold": 1,  # an int where a float is expected
    }
    with pytest.raises(ConfigError, match=r"^w: key 'threshold' must be <= 1, got 1.5$"):
        parse_table("w", {"threshold": 1.5}, SpecializationOptions)
    with pytest.raises(ConfigError, match=r"^w: key 'max_variants' must be int, got True"):
        parse_table("w", {"max_variants": True}, SpecializationOptions)
    with pytest.raises(ConfigError, match="key 'policy' must be one of"):
        parse_table("w", {"policy": "mru"}, SpecializationOptions)


def test_parse_table_warns_about_an_unknown_key_and_keeps_the_rest():
    with pytest.warns(
        UserWarning, match=r"^w: unknown key 'fast_math' ignored; did you mean 'fastmath'\?$"
    ):
        parsed = parse_table("w", {"fast_math": True, "fastmath": True}, JitOptions)
    assert parsed == {"fastmath": True}


def test_nested_tables_and_function_overrides_are_parsed_in_place():
    fields = parse_top_level(
        "f.toml",
        {"min_calls": 3, "jit": {"nogil": True}, "functions": {"m.f": {"min_gain": 2}}},
    )
    assert fields == {
        "min_calls": 3,
        "jit": {"nogil": True},
        "functions": {"m.f": FunctionOverride(min_gain=2)},
    }
    with pytest.raises(ConfigError, match=r"^f.toml: key 'jit' must be"):
        parse_top_level("f.toml", {"jit": 1})


def test_function_arguments_apply_to_that_function_only():
    arguments = {"min_calls": 2, "jit": {"parallel": True}, "cache": False}
    parsed = parse_function_arguments("@x", arguments)
    assert parsed == {"function": {"min_calls": 2}, "jit": {"parallel": True}, "cache": False}
    base = Config(min_calls=20, functions={"m.f": FunctionOverride(min_gain=3.0)})
    config = with_function_arguments(base, "m.f", parsed)
    assert config.override("m.f") == FunctionOverride(min_calls=2, min_gain=3.0)
    assert config.jit.parallel is True and config.cache is False
    assert config.min_calls == 20  # the function's own min_calls is in its override
    assert base.override("m.f") == FunctionOverride(min_gain=3.0)  # unchanged


@pytest.mark.parametrize(
    ("raw", "kind", "value"),
    [
        ("a, b,,c", list, ["a", "b", "c"]),
        ("Off", bool, False),
        ("yes", bool, True),
        ("5", int, 5),
        ("0.5", float, 0.5),
    ],
)
def test_environment_values_are_read_as_their_kind(raw, kind, value):
    assert environment_value({"V": raw}, "V", kind) == value


def test_a_bad_environment_value_names_the_variable():
    with pytest.raises(ConfigError, match=r"^environment variable V: 'maybe' is not a valid bool"):
        environment_value({"V": "maybe"}, "V", bool)


def test_environment_fields_read_only_autoaccel_variables():
    environ = {"AUTOACCEL_MIN_CALLS": "4", "AUTOACCEL_MODULES": "a,b", "MIN_CALLS": "9"}
    assert environment_fields(environ) == {"min_calls": 4, "modules": ("a", "b")}
    with pytest.raises(ConfigError, match="environment variable AUTOACCEL_MIN_CALLS"):
        environment_fields({"AUTOACCEL_MIN_CALLS": "0"})


# Targets and tolerances --------------------------------------------------------------------


def test_targets_default_to_cpu_and_accept_the_listed_ones():
    assert config_from_table("t", {}).targets == ("cpu",)
    config = config_from_table("t", {"targets": ["cuda", "cpu"], "rtol": 1e-9, "atol": 0})
    assert config.targets == ("cuda", "cpu") and config.rtol == 1e-9 and config.atol == 0.0
    assert config_from_table("t", config.as_table()) == config


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"targets": []}, "key 'targets' must name at least one"),
        ({"targets": ["gpu"]}, "key 'targets' has 'gpu'"),
        ({"targets": ["cpu", "cpu"]}, "names a target twice"),
        ({"targets": "cpu"}, "key 'targets' must be list"),
        ({"rtol": -1e-9}, "key 'rtol' must be >= 0.0"),
        ({"atol": float("inf")}, "key 'atol' must be finite"),
    ],
)
def test_bad_targets_and_tolerances_are_named(table, message):
    with pytest.raises(ConfigError, match=message):
        config_from_table("file.toml", table)


def test_targets_come_from_the_environment(tmp_path):
    environ = {"AUTOACCEL_TARGETS": "cpu, parallel", "AUTOACCEL_RTOL": "1e-12"}
    config = load_config(search_from=[tmp_path], environ=environ)
    assert config.targets == ("cpu", "parallel") and config.rtol == 1e-12
