"""Unit tests of configuration discovery, parsing, validation and precedence."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from conftest import write

from autoaccel import install
from autoaccel.config import (
    Config,
    FunctionOverride,
    JitOptions,
    config_from_table,
    disabled_by_environment,
    find_config_file,
    load_config,
)
from autoaccel.errors import ConfigError


def load(tmp_path: Path, **kwargs) -> Config:
    """``load_config`` searching from ``tmp_path`` with an empty environment by default."""
    kwargs.setdefault("search_from", [tmp_path])
    kwargs.setdefault("environ", {})
    return load_config(**kwargs)


def load_file(tmp_path: Path, text: str, **kwargs) -> Config:
    return load(tmp_path, config_file=write(tmp_path / "python_optimizer.toml", text), **kwargs)


# Defaults ------------------------------------------------------------------------------------


def test_defaults_without_a_file(tmp_path):
    config = load(tmp_path)
    assert config == Config(source=None)
    assert config.modules == ()
    assert config.exclude == ()
    assert config.min_calls == 20
    assert config.min_gain == 1.2
    assert config.validation_calls == 3
    assert config.report is False
    assert config.report_json is None
    assert config.enabled is True
    assert config.functions == {}
    assert config.source is None


def test_default_modules_pass_through_when_no_file_names_modules(tmp_path):
    assert load(tmp_path, default_modules=("__main__",)).modules == ("__main__",)
    write(tmp_path / "python_optimizer.toml", "min_calls = 4\n")
    config = load(tmp_path, default_modules=("__main__",))
    assert config.modules == ("__main__",)
    assert config.min_calls == 4


def test_file_modules_replace_default_modules(tmp_path):
    config = load_file(tmp_path, 'modules = ["app.kernels"]\n', default_modules=("__main__",))
    assert config.modules == ("app.kernels",)


# Discovery -----------------------------------------------------------------------------------


def test_python_optimizer_toml_keys_at_top_level(tmp_path):
    path = write(
        tmp_path / "python_optimizer.toml",
        """
        modules = ["app.kernels", "app.sim.*"]
        exclude = ["app.sim.slow"]
        min_calls = 7
        min_gain = 2.5
        validation_calls = 4
        report = true
        report_json = "out.json"
        """,
    )
    config = load(tmp_path)
    assert config.source == path
    assert config.modules == ("app.kernels", "app.sim.*")
    assert config.exclude == ("app.sim.slow",)
    assert config.min_calls == 7
    assert config.min_gain == 2.5
    assert config.validation_calls == 4
    assert config.report is True
    assert config.report_json == "out.json"


def test_pyproject_tool_autoaccel_table_is_read(tmp_path):
    path = write(
        tmp_path / "pyproject.toml",
        """
        [project]
        name = "demo"

        [tool.autoaccel]
        modules = ["demo.*"]
        min_calls = 3

        [tool.autoaccel.jit]
        fastmath = true
        """,
    )
    config = load(tmp_path)
    assert config.source == path
    assert config.modules == ("demo.*",)
    assert config.min_calls == 3
    assert config.jit.fastmath is True


def test_python_optimizer_toml_wins_over_pyproject_in_same_dir(tmp_path):
    write(tmp_path / "pyproject.toml", "[tool.autoaccel]\nmin_calls = 3\n")
    ours = write(tmp_path / "python_optimizer.toml", "min_calls = 9\n")
    assert find_config_file([tmp_path]) == ours
    config = load(tmp_path)
    assert config.source == ours
    assert config.min_calls == 9


def test_pyproject_without_tool_autoaccel_is_skipped_and_search_goes_up(tmp_path):
    outer = write(tmp_path / "python_optimizer.toml", "min_calls = 11\n")
    inner = tmp_path / "project"
    write(inner / "pyproject.toml", '[project]\nname = "x"\n\n[tool.ruff]\nline-length = 99\n')
    assert find_config_file([inner]) == outer
    assert load(inner).min_calls == 11


def test_discovery_searches_upward_from_nested_dir(tmp_path):
    path = write(tmp_path / "python_optimizer.toml", "min_calls = 6\n")
    nested = tmp_path / "a" / "b" / "c"
    nested.mkdir(parents=True)
    assert find_config_file([nested]) == path
    config = load(nested)
    assert config.source == path
    assert config.min_calls == 6


def test_nearest_file_wins_over_one_further_up(tmp_path):
    write(tmp_path / "python_optimizer.toml", "min_calls = 6\n")
    near = write(tmp_path / "sub" / "pyproject.toml", "[tool.autoaccel]\nmin_calls = 2\n")
    assert find_config_file([tmp_path / "sub"]) == near


def test_first_start_dir_with_a_hit_wins(tmp_path):
    first = write(tmp_path / "one" / "python_optimizer.toml", "min_calls = 1\n")
    second = write(tmp_path / "two" / "python_optimizer.toml", "min_calls = 2\n")
    assert find_config_file([tmp_path / "one", tmp_path / "two"]) == first
    assert find_config_file([tmp_path / "two", tmp_path / "one"]) == second
    assert load(tmp_path, search_from=[tmp_path / "two", tmp_path / "one"]).min_calls == 2


def test_later_start_dir_is_searched_when_first_has_no_file(tmp_path):
    (tmp_path / "empty").mkdir()
    found = write(tmp_path / "full" / "python_optimizer.toml", "min_calls = 5\n")
    assert find_config_file([tmp_path / "empty", tmp_path / "full"]) == found


def test_find_config_file_returns_none_without_files(tmp_path):
    assert find_config_file([tmp_path]) is None


def test_malformed_pyproject_on_the_way_raises(tmp_path):
    write(tmp_path / "pyproject.toml", "[tool.autoaccel\n")
    with pytest.raises(ConfigError, match=r"pyproject\.toml"):
        find_config_file([tmp_path])


# Explicit files ------------------------------------------------------------------------------


def test_explicit_config_file_overrides_discovery(tmp_path):
    write(tmp_path / "python_optimizer.toml", "min_calls = 6\n")
    explicit = write(tmp_path / "elsewhere" / "custom.toml", "min_calls = 13\n")
    config = load(tmp_path, config_file=explicit)
    assert config.source == explicit
    assert config.min_calls == 13


def test_an_explicit_config_file_may_be_given_as_a_str(tmp_path):
    explicit = write(tmp_path / "custom.toml", "min_calls = 13\n")
    assert load(tmp_path, config_file=str(explicit)).min_calls == 13
    with pytest.raises(ConfigError, match="configuration file not found"):
        load(tmp_path, config_file=str(tmp_path / "missing.toml"))


def test_explicit_pyproject_uses_tool_autoaccel_table(tmp_path):
    explicit = write(tmp_path / "cfg" / "pyproject.toml", "[tool.autoaccel]\nmin_calls = 8\n")
    assert load(tmp_path, config_file=explicit).min_calls == 8


def test_explicit_pyproject_without_table_raises(tmp_path):
    explicit = write(tmp_path / "cfg" / "pyproject.toml", '[project]\nname = "x"\n')
    with pytest.raises(ConfigError, match=r"\[tool\.autoaccel\]") as info:
        load(tmp_path, config_file=explicit)
    assert str(explicit) in str(info.value)


def test_autoaccel_config_env_overrides_discovery(tmp_path):
    write(tmp_path / "python_optimizer.toml", "min_calls = 6\n")
    chosen = write(tmp_path / "elsewhere" / "chosen.toml", "min_calls = 17\n")
    config = load(tmp_path, environ={"AUTOACCEL_CONFIG": str(chosen)})
    assert config.source == chosen
    assert config.min_calls == 17


def test_explicit_config_file_wins_over_autoaccel_config_env(tmp_path):
    explicit = write(tmp_path / "explicit.toml", "min_calls = 2\n")
    from_env = write(tmp_path / "env.toml", "min_calls = 3\n")
    config = load(tmp_path, config_file=explicit, environ={"AUTOACCEL_CONFIG": str(from_env)})
    assert config.source == explicit
    assert config.min_calls == 2


def test_missing_explicit_file_raises_naming_path(tmp_path):
    missing = tmp_path / "nope.toml"
    with pytest.raises(ConfigError, match="not found") as info:
        load(tmp_path, config_file=missing)
    assert str(missing) in str(info.value)


def test_missing_file_from_env_raises_naming_path(tmp_path):
    missing = tmp_path / "gone.toml"
    with pytest.raises(ConfigError) as info:
        load(tmp_path, environ={"AUTOACCEL_CONFIG": str(missing)})
    assert str(missing) in str(info.value)


def test_os_environ_is_read_by_default(tmp_path, monkeypatch):
    monkeypatch.setenv("AUTOACCEL_MIN_CALLS", "42")
    monkeypatch.delenv("AUTOACCEL_DISABLE", raising=False)
    monkeypatch.delenv("AUTOACCEL_CONFIG", raising=False)
    assert load_config(search_from=[tmp_path]).min_calls == 42


# AUTOACCEL_DISABLE ---------------------------------------------------------------------------


def test_disable_turns_everything_off(tmp_path):
    write(tmp_path / "python_optimizer.toml", 'modules = ["*"]\n')
    config = load(tmp_path, environ={"AUTOACCEL_DISABLE": "1"})
    assert config.enabled is False
    assert not config.selects("anything")
    assert not config.selects("__main__")


def test_disable_zero_or_empty_leaves_it_on(tmp_path):
    write(tmp_path / "python_optimizer.toml", 'modules = ["app"]\n')
    for value in ("0", ""):
        config = load(tmp_path, environ={"AUTOACCEL_DISABLE": value})
        assert config.enabled is True
        assert config.selects("app")


@pytest.mark.parametrize("value", ["false", "no", "off"])
def test_disable_false_words_leave_it_on(tmp_path, value):
    assert load(tmp_path, environ={"AUTOACCEL_DISABLE": value}).enabled is True


# Precedence ----------------------------------------------------------------------------------


def test_environment_overrides_file(tmp_path):
    write(
        tmp_path / "python_optimizer.toml",
        'modules = ["a"]\nmin_calls = 6\nmin_gain = 1.5\nreport = false\n',
    )
    environ = {
        "AUTOACCEL_MIN_CALLS": "9",
        "AUTOACCEL_MIN_GAIN": "3.5",
        "AUTOACCEL_MODULES": "x.y, z.*",
        "AUTOACCEL_REPORT": "true",
    }
    config = load(tmp_path, environ=environ)
    assert config.min_calls == 9
    assert config.min_gain == 3.5
    assert config.modules == ("x.y", "z.*")
    assert config.report is True


def test_environment_keeps_file_values_it_does_not_name(tmp_path):
    write(tmp_path / "python_optimizer.toml", "min_calls = 6\nmin_gain = 1.5\n")
    config = load(tmp_path, environ={"AUTOACCEL_MIN_CALLS": "9"})
    assert config.min_calls == 9
    assert config.min_gain == 1.5


@pytest.mark.parametrize(
    ("raw", "expected"), [("1", True), ("yes", True), ("ON", True), ("0", False), ("off", False)]
)
def test_environment_bool_spellings(tmp_path, raw, expected):
    assert load(tmp_path, environ={"AUTOACCEL_REPORT": raw}).report is expected


def test_overrides_beat_environment_and_file(tmp_path):
    write(tmp_path / "python_optimizer.toml", "min_calls = 6\nreport = false\n")
    config = load(
        tmp_path,
        environ={"AUTOACCEL_MIN_CALLS": "9", "AUTOACCEL_REPORT": "false"},
        overrides={"min_calls": 2, "report": True, "report_json": "r.json"},
    )
    assert config.min_calls == 2
    assert config.report is True
    assert config.report_json == "r.json"


def test_jit_table_merges_across_layers(tmp_path):
    write(tmp_path / "python_optimizer.toml", "[jit]\nfastmath = true\n")
    config = load(tmp_path, overrides={"jit": {"nogil": True}})
    assert config.jit == JitOptions(fastmath=True, nogil=True)


# Errors --------------------------------------------------------------------------------------


def test_malformed_toml_raises_naming_file(tmp_path):
    path = write(tmp_path / "python_optimizer.toml", "min_calls = [\n")
    with pytest.raises(ConfigError, match="not valid TOML") as info:
        load(tmp_path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize(
    ("text", "key", "shown"),
    [
        ('min_calls = "ten"\n', "min_calls", "'ten'"),
        ("min_calls = 2.5\n", "min_calls", "2.5"),
        ("min_calls = true\n", "min_calls", "True"),
        ("min_gain = true\n", "min_gain", "True"),
        ('min_gain = "fast"\n', "min_gain", "'fast'"),
        ('modules = "x"\n', "modules", "'x'"),
        ("exclude = 3\n", "exclude", "3"),
        ('report = "yes"\n', "report", "'yes'"),
        ("report_json = 1\n", "report_json", "1"),
        ("jit = 1\n", "jit", "1"),
        ("[jit]\nfastmath = 1\n", "fastmath", "1"),
        ('[functions."m.f"]\nenabled = "no"\n', "enabled", "'no'"),
        ('[functions."m.f"]\nmin_calls = "5"\n', "min_calls", "'5'"),
    ],
)
def test_wrong_type_raises_naming_file_key_and_value(tmp_path, text, key, shown):
    path = write(tmp_path / "python_optimizer.toml", text)
    with pytest.raises(ConfigError) as info:
        load(tmp_path)
    message = str(info.value)
    assert str(path) in message
    assert f"'{key}'" in message
    assert shown in message


@pytest.mark.parametrize(
    ("text", "key", "shown"),
    [
        ("min_calls = 0\n", "min_calls", "0"),
        ("min_calls = -3\n", "min_calls", "-3"),
        ("min_gain = -1\n", "min_gain", "-1"),
        ("validation_calls = 0\n", "validation_calls", "0"),
    ],
)
def test_out_of_range_raises_naming_file_key_and_value(tmp_path, text, key, shown):
    path = write(tmp_path / "python_optimizer.toml", text)
    with pytest.raises(ConfigError, match=">=") as info:
        load(tmp_path)
    message = str(info.value)
    assert str(path) in message
    assert f"'{key}'" in message
    assert shown in message


def test_min_gain_zero_is_accepted(tmp_path):
    assert load_file(tmp_path, "min_gain = 0\n").min_gain == 0.0


def test_min_gain_nan_is_rejected(tmp_path):
    with pytest.raises(ConfigError, match="min_gain"):
        load_file(tmp_path, "min_gain = nan\n")


@pytest.mark.parametrize("line", ["min_calls = 0", "min_gain = -1"])
def test_function_override_out_of_range_raises(tmp_path, line):
    with pytest.raises(ConfigError, match=r"m\.f"):
        load_file(tmp_path, f'[functions."m.f"]\n{line}\n')


@pytest.mark.parametrize("key", ["modules", "exclude"])
@pytest.mark.parametrize("pattern", ["my app", "1abc", "", "a-b", "pkg/mod"])
def test_invalid_module_pattern_raises(tmp_path, key, pattern):
    path = write(tmp_path / "python_optimizer.toml", f'{key} = ["ok.mod", "{pattern}"]\n')
    with pytest.raises(ConfigError, match="not a module name") as info:
        load(tmp_path)
    message = str(info.value)
    assert str(path) in message
    assert f"'{key}'" in message
    assert repr(pattern) in message


def test_non_string_module_pattern_raises(tmp_path):
    with pytest.raises(ConfigError, match="'modules'"):
        load_file(tmp_path, 'modules = ["ok", 3]\n')


@pytest.mark.parametrize(
    "pattern", ["__main__", "app", "app.sim.*", "*", "app.k?rn", "app.[ab]*", "_x.y_1"]
)
def test_valid_module_patterns_are_accepted(tmp_path, pattern):
    assert load_file(tmp_path, f'modules = ["{pattern}"]\n').modules == (pattern,)


@pytest.mark.parametrize(
    ("variable", "raw"),
    [
        ("AUTOACCEL_MIN_CALLS", "abc"),
        ("AUTOACCEL_MIN_CALLS", "2.5"),
        ("AUTOACCEL_MIN_GAIN", "fast"),
        ("AUTOACCEL_REPORT", "maybe"),
        ("AUTOACCEL_VALIDATION_CALLS", "x"),
    ],
)
def test_bad_environment_value_raises_naming_variable_and_value(tmp_path, variable, raw):
    with pytest.raises(ConfigError) as info:
        load(tmp_path, environ={variable: raw})
    message = str(info.value)
    assert variable in message
    assert repr(raw) in message


@pytest.mark.parametrize(
    ("variable", "raw"), [("AUTOACCEL_MIN_CALLS", "0"), ("AUTOACCEL_MODULES", "my app")]
)
def test_out_of_range_environment_value_names_variable(tmp_path, variable, raw):
    with pytest.raises(ConfigError) as info:
        load(tmp_path, environ={variable: raw})
    assert variable in str(info.value)


def test_out_of_range_environment_value_raises(tmp_path):
    with pytest.raises(ConfigError, match="min_calls"):
        load(tmp_path, environ={"AUTOACCEL_MIN_CALLS": "0"})


def test_install_rejects_invalid_override(isolated_imports):
    with pytest.raises(ConfigError, match="min_calls"):
        install(min_calls=0).uninstall()


# Unknown keys --------------------------------------------------------------------------------


def test_unknown_top_level_key_warns_and_is_ignored(tmp_path):
    path = write(tmp_path / "python_optimizer.toml", "min_calls = 4\nmin_callz = 5\n")
    with pytest.warns(UserWarning, match="min_callz") as record:
        config = load(tmp_path)
    assert str(path) in str(record[0].message)
    assert config.min_calls == 4
    assert not hasattr(config, "min_callz")


def test_unknown_jit_key_warns_and_is_ignored(tmp_path):
    write(tmp_path / "python_optimizer.toml", "[jit]\nfastmath = true\nfast_math = true\n")
    with pytest.warns(UserWarning, match="fast_math"):
        config = load(tmp_path)
    assert config.jit == JitOptions(fastmath=True)


def test_unknown_function_key_warns_and_is_ignored(tmp_path):
    write(tmp_path / "python_optimizer.toml", '[functions."m.f"]\nenable = false\n')
    with pytest.warns(UserWarning, match="enable"):
        config = load(tmp_path)
    assert config.override("m.f") == FunctionOverride()


# [jit] ---------------------------------------------------------------------------------------


def test_jit_defaults(tmp_path):
    jit = load(tmp_path).jit
    assert jit.fastmath is False
    assert jit.parallel is False
    assert jit.boundscheck is True
    assert jit.nogil is False


def test_jit_values_read(tmp_path):
    config = load_file(
        tmp_path,
        """
        [jit]
        fastmath = true
        parallel = true
        boundscheck = false
        nogil = true
        """,
    )
    assert config.jit == JitOptions(fastmath=True, parallel=True, boundscheck=False, nogil=True)


def test_partial_jit_table_keeps_other_defaults(tmp_path):
    config = load_file(tmp_path, "[jit]\nparallel = true\n")
    assert config.jit == JitOptions(parallel=True)
    assert config.jit.boundscheck is True


# [functions] ---------------------------------------------------------------------------------


def test_function_overrides(tmp_path):
    config = load_file(
        tmp_path,
        """
        min_calls = 20

        [functions."app.k.slow"]
        enabled = false

        [functions."app.k.hot"]
        min_calls = 2
        min_gain = 3
        """,
    )
    slow = config.override("app.k.slow")
    assert slow.enabled is False
    assert slow.min_calls is None
    hot = config.override("app.k.hot")
    assert hot.enabled is True
    assert hot.min_calls == 2
    assert hot.min_gain == 3.0
    assert isinstance(hot.min_gain, float)


def test_override_defaults_for_unknown_names(tmp_path):
    config = load_file(tmp_path, '[functions."app.k.slow"]\nenabled = false\n')
    default = config.override("app.k.other")
    assert default == FunctionOverride()
    assert default.enabled is True
    assert default.min_calls is None
    assert default.min_gain is None
    assert Config().override("anything") == FunctionOverride()


def test_function_body_must_be_a_table(tmp_path):
    path = write(tmp_path / "python_optimizer.toml", '[functions]\n"m.f" = 3\n')
    with pytest.raises(ConfigError, match=r"m\.f") as info:
        load(tmp_path)
    assert str(path) in str(info.value)


# Config.selects ------------------------------------------------------------------------------


def test_loaded_config_selects_by_file(tmp_path):
    config = load_file(tmp_path, 'modules = ["pkg.*"]\nexclude = ["pkg.io"]\n')
    assert config.selects("pkg.k")
    assert not config.selects("pkg.io")
    assert not config.selects("pkg")


# Numbers -------------------------------------------------------------------------------------


def test_min_gain_int_is_accepted_as_float(tmp_path):
    config = load_file(tmp_path, "min_gain = 2\n")
    assert config.min_gain == 2.0
    assert isinstance(config.min_gain, float)


def test_min_gain_from_environment_is_float(tmp_path):
    config = load(tmp_path, environ={"AUTOACCEL_MIN_GAIN": "3"})
    assert config.min_gain == 3.0
    assert isinstance(config.min_gain, float)


# The table form (what child processes inherit) -------------------------------------------------


def test_as_table_reads_back_as_the_same_settings_without_the_report(tmp_path):
    config = load_file(
        tmp_path,
        """
        modules = ["__main__", "app.*"]
        exclude = ["app.plot"]
        min_calls = 3
        min_gain = 0
        cache = false
        cache_dir = "c"
        background_compile = true
        children = false
        report = true
        report_json = "r.json"
        [jit]
        boundscheck = false
        [functions."app.k.f"]
        enabled = false
        [functions."app.k.g"]
        min_gain = 2
        """,
    )
    table = config.as_table()
    assert "report" not in table and "report_json" not in table
    again = config_from_table("the table", table)
    assert again == dataclasses.replace(config, report=False, report_json=None, source=None)


def test_disabled_by_environment():
    assert disabled_by_environment({"AUTOACCEL_DISABLE": "yes"})
    assert not disabled_by_environment({"AUTOACCEL_DISABLE": " "})
    assert not disabled_by_environment({})
    with pytest.raises(ConfigError, match="AUTOACCEL_DISABLE"):
        disabled_by_environment({"AUTOACCEL_DISABLE": "maybe"})


# [specialization] and the per-function specialization keys ----------------------------------


def test_specialization_table_is_read_and_validated(tmp_path):
    from autoaccel.config import SpecializationOptions

    config = load_file(
        tmp_path,
        '[specialization]\nmax_variants = 4\npolicy = "lru"\nthreshold = 0.5\nmax_memory_mb = 8\n',
    )
    assert config.specialization == SpecializationOptions(
        max_variants=4, policy="lru", threshold=0.5, max_memory_mb=8.0
    )
    assert config_from_table("t", config.as_table()).specialization == config.specialization


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[specialization]\npolicy = "mru"\n', "key 'policy' must be one of lru, lfu, ttl"),
        ("[specialization]\nmax_variants = 0\n", "key 'max_variants' must be >= 1"),
        ("[specialization]\nthreshold = 1.5\n", "key 'threshold' must be <= 1"),
        ("[specialization]\nmax_memory_mb = true\n", "key 'max_memory_mb' must be float"),
    ],
)
def test_bad_specialization_settings_name_the_key(tmp_path, text, message):
    with pytest.raises(ConfigError, match=message):
        load_file(tmp_path, text)


def test_value_specialization_can_be_turned_off_per_function(tmp_path):
    config = load_file(tmp_path, '[functions."m.f"]\nspecialize = false\n')
    assert config.override("m.f").specialize is False


def test_declared_signatures_and_min_size_are_read(tmp_path):
    config = load_file(
        tmp_path,
        """
        [functions."app.k.ema"]
        signatures = ["float64[:](float64[:], float64)", "(int64[:, ::1], int64)"]
        min_size = 1000
        """,
    )
    ema = config.override("app.k.ema")
    assert ema.signatures == ("float64[:](float64[:], float64)", "(int64[:, ::1], int64)")
    assert ema.min_size == 1000


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ('["flaot64(float64)"]', "flaot64"),
        ('["float64"]', "not a Numba signature"),
        ('["(unicode_type,)"]', "not a type autoaccel passes"),
        ("[3]", "must list strings"),
    ],
)
def test_a_bad_declared_signature_names_the_function_and_key(tmp_path, value, shown):
    with pytest.raises(ConfigError, match=r"m\.f") as info:
        load_file(tmp_path, f'[functions."m.f"]\nsignatures = {value}\n')
    assert "'signatures'" in str(info.value)
    assert shown in str(info.value)


def test_min_size_below_zero_is_rejected(tmp_path):
    with pytest.raises(ConfigError, match="min_size"):
        load_file(tmp_path, '[functions."m.f"]\nmin_size = -1\n')
