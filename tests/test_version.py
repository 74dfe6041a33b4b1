"""autoaccel._version: the one version string, which the installed distribution reports."""

from __future__ import annotations

import importlib.metadata
import re

import autoaccel
from autoaccel._version import __version__


def test_the_distribution_reports_the_packages_version():
    assert importlib.metadata.version("autoaccel") == __version__ == autoaccel.__version__


def test_the_version_is_pep_440():
    assert re.fullmatch(r"\d+(\.\d+)*((a|b|rc)\d+)?(\.post\d+)?(\.dev\d+)?", __version__)
