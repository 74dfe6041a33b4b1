"""Declared signatures: Numba's own parser for the ``signatures`` key, and their Python types.

The text is read with ``numba.core.sigutils`` (Numba is imported only when a configuration
declares signatures), so a typo fails when the configuration is read, not at the first call.
"""

from __future__ import annotations

from autoaccel.lazy_numpy import np


def parse_signature(text: str) -> tuple:
    """The argument types of a Numba signature string (``"float64[:](float64[:], int64)"``).

    The return type, if any, is not used: autoaccel infers it and compares results with
    the original's.

    Raises:
        ValueError: the text is not a Numba signature (the message says why).
    """
    from numba.core import sigutils

    try:
        arguments, _ = sigutils.normalize_signature(text)
    except Exception as exc:  # NameError, TypeError, SyntaxError from evaluating the text
        raise ValueError(f"{text!r} is not a Numba signature: {exc}") from None
    return tuple(arguments)


def python_types(signature: tuple) -> tuple[type, ...]:
    """The Python argument types whose calls ``signature`` (Numba types) is made for.

    ``float64`` is taken for a Python ``float``, ``int64`` for an ``int``, ``boolean`` for a
    ``bool``, ``complex128`` for a ``complex``, other scalars for the NumPy scalar type of
    that name, arrays for ``numpy.ndarray`` and tuples for ``tuple``.

    Raises:
        ValueError: a type no argument autoaccel compiles for has (a str, a list...).
    """
    from numba.core import types as nbtypes

    python = {nbtypes.float64: float, nbtypes.int64: int, nbtypes.boolean: bool}
    python[nbtypes.complex128] = complex
    result: list[type] = []
    for kind in signature:
        if isinstance(kind, nbtypes.Array):
            result.append(np.ndarray)
        elif isinstance(kind, nbtypes.BaseTuple):
            result.append(tuple)
        elif kind in python:
            result.append(python[kind])
        else:
            scalar = getattr(np, str(kind), None)
            if not (isinstance(scalar, type) and issubclass(scalar, np.generic)):
                raise ValueError(f"{kind} is not a type autoaccel passes to Numba")
            result.append(scalar)
    return tuple(result)
