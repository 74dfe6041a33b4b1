"""``import autoaccel.install`` installs the import hook with the discovered configuration.

Put it first in a program; modules imported after it that the configuration selects are
accelerated (the importing script itself is already running and is not: use
``python -m autoaccel script.py`` for that). Discovery starts from the script's directory,
then the working directory.

Importing this module makes ``autoaccel.install`` refer to it instead of the
:func:`autoaccel.install` function, so the module stays callable and does what the
function does.
"""

from __future__ import annotations

import sys
import types
from typing import Any

import autoaccel
from autoaccel.config import load_config, search_dirs
from autoaccel.hook.finder import install_hook

_install_function = autoaccel.install


class _CallableModule(types.ModuleType):
    def __call__(self, *args: Any, **kwargs: Any) -> autoaccel.Installation:
        return _install_function(*args, **kwargs)


installation = install_hook(load_config(search_from=search_dirs()))
sys.modules[__name__].__class__ = _CallableModule
