"""``import autoaccel.install`` installs the import hook with the discovered configuration.

Put it first in a program; modules imported after it that the configuration selects are
accelerated (the importing script itself is already running and is not: use
``python -m autoaccel script.py`` for that). Discovery starts from the script's directory,
then the working directory. The hook's handle is :data:`installation`.

One name, a module and a function. The public API documents both ``import
autoaccel.install`` (this module) and ``autoaccel.install(config)`` (the function
:func:`autoaccel.install`, defined in ``autoaccel/__init__.py``). When a submodule is
imported, Python binds it to the attribute of its package with the same name (the language
reference, "The import system", 5.4.2 "Submodules"), so after ``import autoaccel.install``
the name ``autoaccel.install`` is this module and no longer the function. So that calls keep
working, this module then makes itself callable: :func:`_answer_calls` sets its class to
:class:`CallableModule` (assigning a module's ``__class__`` is supported since Python 3.5,
bpo-22986), whose ``__call__`` is the function. Before the import, and wherever the function
was bound earlier (``from autoaccel import install``), the name is the function itself.
``tests/test_install.py`` checks both.
"""

from __future__ import annotations

import sys
import types
from typing import Any

import autoaccel
from autoaccel.config import load_config, search_dirs
from autoaccel.hook.finder import Installation, install_hook
from autoaccel.runtime.warm_start import settle_at_exit

# The package's function, taken before the import system rebinds its name to this module.
_install_function = autoaccel.install


class CallableModule(types.ModuleType):
    """The class of this module once imported: calling it calls :func:`autoaccel.install`."""

    def __call__(self, *args: Any, **kwargs: Any) -> Installation:
        """:func:`autoaccel.install` with the same arguments, errors and result."""
        return _install_function(*args, **kwargs)


def _answer_calls(module: types.ModuleType) -> None:
    """Make ``module`` (this one) callable as :func:`autoaccel.install` is."""
    module.__class__ = CallableModule


installation: Installation = install_hook(load_config(search_from=search_dirs()))
settle_at_exit(installation.config)  # the script's run ledger
_answer_calls(sys.modules[__name__])
