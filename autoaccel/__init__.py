"""autoaccel: a transparent accelerator for numeric Python.

Run ``python -m autoaccel app.py`` (or ``import autoaccel.install`` first thing in a program)
and the modules named in the configuration are rewritten as they are imported: each function
gets a call-counting trampoline, and hot functions are compiled with Numba, validated against
the original on real calls, and promoted only when they are measurably faster.

For opt-in use without the hook, decorate functions with ``@autoaccel.optimize`` (same
engine, guards and report; docs/api.md).

Public API: :func:`install`, :func:`stats`, :func:`load_config`, :class:`Config`,
:class:`Installation`, :class:`ConfigError`; the explicit API :func:`optimize`,
:func:`configure_specialization`, :func:`get_specialization_stats`,
:func:`get_cache_stats`, :func:`clear_specialization_cache`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from autoaccel._version import __version__
from autoaccel.api.optimize import optimize
from autoaccel.api.specialization import configure_specialization
from autoaccel.api.stats import get_cache_stats, get_specialization_stats
from autoaccel.config import Config, load_config
from autoaccel.errors import AutoaccelError, ConfigError
from autoaccel.hook.finder import Installation, install_hook
from autoaccel.report.stats import stats
from autoaccel.runtime.table import clear_specialization_cache


def load_ipython_extension(shell: Any) -> None:
    """``%load_ext autoaccel`` in IPython or Jupyter: accelerate the cells run after it.

    See :func:`autoaccel.notebook.load_ipython_extension` (docs/api.md, "Notebooks").

    Args:
        shell: the ``InteractiveShell`` IPython passes.

    Raises:
        ConfigError: the configuration discovered from the working directory is invalid.
    """
    from autoaccel.notebook import load_ipython_extension as load

    load(shell)


def unload_ipython_extension(shell: Any) -> None:
    """``%unload_ext autoaccel``: cells run plain again (:mod:`autoaccel.notebook`)."""
    from autoaccel.notebook import unload_ipython_extension as unload

    unload(shell)


def install(config: Config | None = None, **overrides: Any) -> Installation:
    """Install the import hook so that selected modules imported from now on are accelerated.

    ``autoaccel.install`` is also a module: ``import autoaccel.install`` installs the hook with
    the discovered configuration, and the name stays callable as this function
    (:mod:`autoaccel.install` says how).

    Args:
        config: the configuration; when omitted it is discovered from the working directory
            (``python_optimizer.toml`` or ``[tool.autoaccel]``), with ``AUTOACCEL_*``
            environment variables applied.
        **overrides: field values of :class:`Config` that take precedence (e.g.
            ``modules=["myapp.kernels"]``, ``min_calls=5``); used only when ``config`` is
            omitted.

    Returns:
        An :class:`Installation`; its ``uninstall()`` removes the hook and may be called twice.

    Raises:
        ConfigError: the configuration file or an override is invalid.
    """
    if config is None:
        config = load_config(search_from=[Path.cwd()], overrides=overrides)
    return install_hook(config)


__all__ = [
    "AutoaccelError",
    "Config",
    "ConfigError",
    "Installation",
    "__version__",
    "clear_specialization_cache",
    "configure_specialization",
    "get_cache_stats",
    "get_specialization_stats",
    "install",
    "load_config",
    "load_ipython_extension",
    "optimize",
    "stats",
    "unload_ipython_extension",
]
