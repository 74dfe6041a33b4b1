"""autoaccel.config.options: the option table, Config.selects(), overrides and the table form."""

from __future__ import annotations

import dataclasses
import re

import pytest
from conftest import REPO

from autoaccel.config import ALWAYS_EXCLUDED, Config, FunctionOverride, JitOptions, options
from autoaccel.config.options import Option, option, rows

# Config.selects ------------------------------------------------------------------------------


def test_selects_exact_names():
    config = Config(modules=("app.kernels", "__main__"))
    assert config.selects("app.kernels")
    assert config.selects("__main__")
    assert not config.selects("app")
    assert not config.selects("app.kernels.sub")
    assert not config.selects("app.kernelsx")


def test_selects_glob_patterns():
    config = Config(modules=("pkg.sim.*",))
    assert config.selects("pkg.sim.a")
    assert config.selects("pkg.sim.a.b")
    assert not config.selects("pkg.simx")
    assert not config.selects("pkg.sim")
    assert not config.selects("other.pkg.sim.a")


def test_selects_is_case_sensitive():
    assert not Config(modules=("App",)).selects("app")


def test_exclude_wins_over_modules():
    config = Config(modules=("pkg.*",), exclude=("pkg.slow", "pkg.io.*"))
    assert config.selects("pkg.fast")
    assert not config.selects("pkg.slow")
    assert not config.selects("pkg.io.files")


@pytest.mark.parametrize(
    "name",
    ["autoaccel", "autoaccel.hook.finder", "numba", "numba.core.types", "llvmlite", "llvmlite.ir"],
)
def test_own_and_compiler_modules_are_never_selected(name):
    assert name.split(".")[0] + ".*" in ALWAYS_EXCLUDED
    assert not Config(modules=("*",)).selects(name)
    assert not Config(modules=(name,)).selects(name)


def test_star_selects_other_modules():
    config = Config(modules=("*",))
    assert config.selects("numpyish")
    assert config.selects("numbax")
    assert config.selects("__main__")


def test_disabled_config_selects_nothing():
    assert not Config(modules=("*",), enabled=False).selects("app")


def test_empty_selection_selects_nothing():
    assert not Config().selects("__main__")


# The option table ------------------------------------------------------------------------------


def test_the_config_example_documents_every_key():
    text = (REPO / "python_optimizer.toml.example").read_text()
    keys = [key for key, _, _ in options.OPTIONS]
    keys += [key for key, _ in options.JIT_OPTIONS] + [key for key, _ in options.FUNCTION_OPTIONS]
    keys += [key for key, _ in options.SPECIALIZATION_OPTIONS]
    for key in keys:
        assert re.search(rf"^#? ?{key} = ", text, re.MULTILINE), f"{key} is not documented"


def test_every_field_of_the_file_is_a_row_with_its_meaning():
    for cls in (Config, JitOptions, FunctionOverride, options.SpecializationOptions):
        found = dict(rows(cls))
        assert found, cls
        for key, row in found.items():
            assert isinstance(row, Option) and row.meaning, (cls.__name__, key)
    # Not keys of the file: nested tables and what the loader records.
    assert set(dict(rows(Config))).isdisjoint({"jit", "specialization", "functions", "source"})


def test_an_option_is_its_default_and_its_row():
    @dataclasses.dataclass(frozen=True)
    class Settings:
        count: int = option(3, "how many", minimum=1)
        names: tuple[str, ...] = option(("a",), "which ones")
        limit: float | None = option(None, "how far", float, maximum=2.0, inherited=False)

    assert Settings() == Settings(count=3, names=("a",), limit=None)
    table = dict(rows(Settings))
    assert table["count"] == Option("how many", int, minimum=1)
    assert table["names"].kind is list  # a tuple default is a TOML list
    assert table["limit"] == Option("how far", float, maximum=2.0, inherited=False)


def test_the_key_lists_are_derived_from_the_fields():
    assert [key for key, _, _ in options.OPTIONS] == [key for key, _ in rows(Config)]
    assert dict(options.JIT_OPTIONS) == {"fastmath": bool, "parallel": bool,
                                         "boundscheck": bool, "nogil": bool}  # fmt: skip
    assert {"jit": JitOptions, "specialization": options.SpecializationOptions} == options.TABLES


def test_override_gives_defaults_for_a_function_not_listed():
    listed = FunctionOverride(min_calls=2)
    config = Config(functions={"m.f": listed})
    assert config.override("m.f") is listed
    assert config.override("m.g") == FunctionOverride()


def test_as_table_leaves_out_unset_and_uninherited_options():
    config = Config(
        modules=("app",),
        report=True,
        report_json="out.json",
        functions={"m.f": FunctionOverride(min_gain=2.0)},
    )
    table = config.as_table()
    assert table["modules"] == ["app"]  # a TOML list, as the file has it
    assert "report" not in table and "report_json" not in table  # the parent's alone
    assert "cache_dir" not in table  # None: unset
    assert table["functions"] == {"m.f": {"enabled": True, "min_gain": 2.0, "signatures": []}}
    assert table["jit"] == dataclasses.asdict(JitOptions())


@pytest.mark.parametrize("pattern", ["app", "app.*", "__main__", "a.[bc]*", "x?"])
def test_module_patterns_are_recognised(pattern):
    assert options.PATTERN_RE.match(pattern)


@pytest.mark.parametrize("pattern", ["my app", "1abc", "", "a-b", "pkg/mod"])
def test_what_is_not_a_module_pattern(pattern):
    assert not options.PATTERN_RE.match(pattern)
