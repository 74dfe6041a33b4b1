"""NumPy, imported on first use.

Importing NumPy takes 60-120 ms, as long again as autoaccel itself. A program that never
uses NumPy, and whose earlier runs rejected everything it would compile, never needs it: its
functions are counted, its saved decisions read, its calls timed, all without NumPy. The
modules that run on that path read NumPy through :data:`np`, which imports it the first time an
attribute is read; those that only run once a variant compiles import Numba, and NumPy with
it, themselves. :func:`loaded` tells whether the program or autoaccel imported it already, so
that a check such as ``isinstance(value, np.ndarray)`` is answered without importing it (no
value can be an array before NumPy is imported).

The technique is CPython's own lazy loading (``importlib.util.LazyLoader``) without its one
side effect: the stand-in is never put into ``sys.modules``, so the program's ``import numpy``
and its ``"numpy" in sys.modules`` checks see what they would see without autoaccel.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING, Any

__all__ = ["loaded", "np"]


class LazyModule(types.ModuleType):
    """Stands for the module ``name`` and imports it when an attribute is first read.

    Args:
        name: the module's dotted name (``"numpy"``).

    Each attribute read is kept on the stand-in, so that later reads cost what reading a
    module's attribute costs. Raises what the import raises (``ImportError``), and
    ``AttributeError`` for a name the module lacks.
    """

    def __getattr__(self, attribute: str) -> Any:
        value = getattr(importlib.import_module(self.__name__), attribute)
        setattr(self, attribute, value)
        return value


def loaded() -> bool:
    """Whether NumPy is imported in this process (by the program, a library or autoaccel)."""
    return "numpy" in sys.modules


if TYPE_CHECKING:
    import numpy as np
else:
    np = LazyModule("numpy")
