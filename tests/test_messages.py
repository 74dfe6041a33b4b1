"""What autoaccel says about a configuration or a run: named files, clear reasons, no noise.

Every message names what is wrong and where (the file, its line); warnings point at the
user's code or the configuration file, never at autoaccel's own source lines.
"""

from __future__ import annotations

import json
import os
import re
import textwrap
import warnings
from pathlib import Path

import pytest
from conftest import REPO, run_python

from autoaccel import Config, ConfigError, install
from autoaccel.cache.directory import open_cache
from autoaccel.config import load_config
from autoaccel.errors import CacheWarning

PACKAGE = str(REPO / "autoaccel") + os.sep
APP = "import numpy as np\nprint(float(np.ones(3).sum()))\n"


def test_a_config_file_that_is_not_utf8_names_the_file(tmp_path):
    path = tmp_path / "python_optimizer.toml"
    path.write_bytes(b'modules = ["__main__"]\n# caf\xe9\n')
    with pytest.raises(
        ConfigError, match=re.escape(f"{path}: not valid TOML: byte 28 is not UTF-8")
    ):
        load_config(config_file=path)
    (tmp_path / "app.py").write_text(APP)
    result = run_python("-m", "autoaccel", "app.py", cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert f"autoaccel: error: {path}: not valid TOML" in result.stderr


def test_a_directory_given_as_the_config_file_is_called_one(tmp_path):
    with pytest.raises(ConfigError, match="is a directory, not a configuration file"):
        load_config(config_file=tmp_path)
    with pytest.raises(ConfigError, match="configuration file not found"):
        load_config(config_file=tmp_path / "missing.toml")


def test_an_unknown_key_suggests_the_known_one_at_its_line_of_the_file(tmp_path):
    path = tmp_path / "python_optimizer.toml"
    path.write_text('min_calls = 3\nmodule = ["app"]\n')
    with pytest.warns(
        UserWarning, match="unknown key 'module' ignored; did you mean 'modules'"
    ) as record:
        load_config(config_file=path)
    assert (record[0].filename, record[0].lineno) == (str(path), 2)


def _unsafe_cache(tmp_path: Path) -> Path:
    cache = tmp_path / "shared"
    cache.mkdir()
    cache.chmod(0o777)
    return cache


@pytest.mark.skipif(not hasattr(os, "getuid"), reason="POSIX permissions")
def test_a_cache_warning_points_at_the_callers_code(tmp_path):
    with pytest.warns(CacheWarning, match="can be written by other users") as record:
        assert open_cache(Config(cache_dir=str(_unsafe_cache(tmp_path)))) is None
    assert record[0].filename == __file__


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(os, "getuid"), reason="POSIX permissions")
def test_no_warning_of_a_run_shows_a_line_of_autoaccel(tmp_path):
    (tmp_path / "app.py").write_text(APP)
    (tmp_path / "python_optimizer.toml").write_text('modules = ["__main__", "nosuch"]\nmodle = 1\n')
    env = {"AUTOACCEL_CACHE_DIR": str(_unsafe_cache(tmp_path))}
    result = run_python("-m", "autoaccel", "--report", "app.py", cwd=tmp_path, env=env)
    assert result.returncode == 0 and result.stdout == "3.0\n", result.stderr
    locations = re.findall(r"^(\S+):(\d+): \w*Warning: ", result.stderr, re.MULTILINE)
    assert len(locations) == 3, result.stderr  # the unknown key, the cache, the pattern
    assert all(not path.startswith(PACKAGE) for path, _ in locations), result.stderr
    assert "did you mean 'modules'?" in result.stderr
    assert "modules pattern 'nosuch' matched no imported module" in result.stderr


def test_a_configuration_that_selects_nothing_says_so(tmp_path, isolated_imports):
    path = tmp_path / "python_optimizer.toml"
    path.write_text("min_calls = 3\n")
    with pytest.warns(UserWarning, match="selects no module") as record:
        install(load_config(config_file=path)).uninstall()
    assert record[0].filename == str(path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        install(Config(modules=("app",))).uninstall()


@pytest.mark.slow
def test_a_compile_unfinished_at_exit_is_reported_as_compiling(tmp_path):
    # The worker imports Numba first (a fraction of a second); the program ends before,
    # so the compile is still queued at exit.
    (tmp_path / "app.py").write_text(
        textwrap.dedent(
            """
            import numpy as np

            def total(a):
                s = 0.0
                for i in range(a.shape[0]):
                    s += a[i]
                return s

            print(total(np.ones(5)))
            """
        )
    )
    (tmp_path / "python_optimizer.toml").write_text(
        'modules = ["__main__"]\nmin_calls = 1\nbackground_compile = true\n'
    )
    result = run_python("-m", "autoaccel", "--report-json", "out.json", "app.py", cwd=tmp_path)
    assert result.returncode == 0 and result.stdout == "5.0\n", result.stderr
    (entry,) = json.loads((tmp_path / "out.json").read_text())["functions"]
    assert entry["reason"].startswith("compiling in the background: "), entry
