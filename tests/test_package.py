"""autoaccel/__init__.py: the public API, and ``install()`` with discovery and overrides."""

from __future__ import annotations

import inspect
import sys

import pytest

import autoaccel
from autoaccel.hook.finder import AccelFinder, Installation


@pytest.mark.parametrize("name", autoaccel.__all__)
def test_every_public_name_exists_and_is_documented(name):
    value = getattr(autoaccel, name)
    if name != "__version__":
        assert inspect.getdoc(value), f"autoaccel.{name} has no docstring"


def test_install_discovers_the_config_from_the_working_directory(
    tmp_path, monkeypatch, isolated_imports
):
    (tmp_path / "python_optimizer.toml").write_text('modules = ["kern"]\nmin_calls = 4\n')
    monkeypatch.chdir(tmp_path)
    with autoaccel.install(min_calls=7) as handle:
        assert isinstance(handle, Installation)
        assert handle.config.modules == ("kern",)  # from the file
        assert handle.config.min_calls == 7  # the override wins
        assert handle.config.source == tmp_path / "python_optimizer.toml"
        assert handle.finder in sys.meta_path
    assert handle.finder not in sys.meta_path


def test_install_with_a_config_ignores_discovery(tmp_path, monkeypatch, isolated_imports):
    (tmp_path / "python_optimizer.toml").write_text('modules = ["kern"]\n')
    monkeypatch.chdir(tmp_path)
    config = autoaccel.Config(modules=("other",))
    with autoaccel.install(config) as handle:
        assert handle.config is config and handle.config.source is None
        assert isinstance(handle.finder, AccelFinder) and handle.finder in sys.meta_path
