"""Floating-point status flags around a compiled call, the way NumPy detects its warnings.

Why this design: NumPy reports division by zero, overflow and invalid operations (as a
``RuntimeWarning``, or an error under ``np.seterr``) by testing the CPU's floating-point
status flags after a loop (``npy_get_floatstatus_barrier``). Numba's code sets the same flags
but reports nothing (catalogue rows 9 and 10). So the flags are cleared before a variant
runs and tested after: if one is raised, the call is handed to the original, which gives
CPython's warnings, errors and values. The C99 ``<fenv.h>`` functions are called through
``ctypes``; their flag values are per architecture. Where neither is known, :data:`STATUS`
is ``None`` and the caller falls back to checking ``np.geterr()``.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import platform

import numpy as np

# (FE_INVALID | FE_DIVBYZERO | FE_OVERFLOW, FE_UNDERFLOW) in each architecture's <fenv.h>.
_FLAGS = {"x86_64": (0x01 | 0x04 | 0x08, 0x10), "aarch64": (0x1 | 0x2 | 0x4, 0x8)}
_FLAGS["amd64"] = _FLAGS["x86_64"]
_FLAGS["arm64"] = _FLAGS["aarch64"]


class FloatingPointStatus:
    """``clear()`` then ``raised()``: whether NumPy would have reported something.

    Args:
        library: a ``ctypes.CDLL`` exporting ``feclearexcept`` and ``fetestexcept``.
        flags: ``(invalid | divide-by-zero | overflow mask, underflow mask)``.
    """

    def __init__(self, library: ctypes.CDLL, flags: tuple[int, int]) -> None:
        self._clear = library.feclearexcept
        self._test = library.fetestexcept
        for function in (self._clear, self._test):
            function.argtypes = [ctypes.c_int]
            function.restype = ctypes.c_int
        self._errors, self._underflow = flags
        self._flags = self._errors | self._underflow

    def clear(self) -> None:
        """Lower the watched flags of this thread."""
        self._clear(self._flags)

    def raised(self) -> bool:
        """Whether, since :meth:`clear`, this thread raised a flag NumPy would report.

        Underflow counts only when ``np.seterr(under=...)`` is not ``"ignore"`` (NumPy's
        default), since it is common and silent by default.
        """
        raised = self._test(self._flags)
        if raised & self._errors:
            return True
        return bool(raised) and np.geterr()["under"] != "ignore"


def _load() -> FloatingPointStatus | None:
    flags = _FLAGS.get(platform.machine().lower())
    name = ctypes.util.find_library("m")
    if flags is None or name is None:
        return None
    try:
        return FloatingPointStatus(ctypes.CDLL(name), flags)
    except (OSError, AttributeError):
        return None


STATUS = _load()
