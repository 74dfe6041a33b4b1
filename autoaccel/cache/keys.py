"""Cache keys: digests that change exactly when a compiled variant could change.

Why this design: Numba's own ``cache=True`` keys an entry by the function's bytecode and its
file's modification time, so it misses changes to the globals it froze and to functions in
other files (Numba's docs, "Cache invalidation"; numba/numba issues #1833 and #9316). A
variant here is keyed by everything that goes into it: the function's code, every global it
or its helpers read with the value Numba froze (helpers' code included, recursively, through
the snapshot that :func:`autoaccel.backends.cpu.build` records), the ``[jit]`` options, the
argument types, and the environment: the versions of Python, NumPy, Numba, llvmlite and
autoaccel, and the CPU Numba compiles for. Line numbers and file names are left out, so
editing one function does not invalidate its neighbours.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import platform
import sys
import types
from collections.abc import Iterable
from typing import Any

from autoaccel._version import __version__
from autoaccel.config import JitOptions
from autoaccel.lazy_numpy import loaded, np


def code_digest(code: types.CodeType) -> str:
    """A hex digest of what ``code`` does: bytecode, constants, names; not its lines."""
    parts = [
        code.co_code,
        code.co_names,
        code.co_varnames,
        code.co_freevars,
        code.co_cellvars,
        code.co_argcount,
        code.co_posonlyargcount,
        code.co_kwonlyargcount,
        code.co_flags,
        code.co_name,
        tuple(value_text(const) for const in code.co_consts),
    ]
    return hashlib.sha256(repr(parts).encode()).hexdigest()


def value_text(value: Any) -> str:
    """A text that differs whenever two values a variant could freeze differ.

    Handles what the compiler's screening admits as a global: numbers, strings, ``None``,
    tuples, read-only NumPy arrays, modules, functions and types (by qualified name), and
    code objects (by :func:`code_digest`).
    """
    if isinstance(value, types.CodeType):
        return "code:" + code_digest(value)
    numpy = loaded()  # else no value is NumPy's (autoaccel/lazy_numpy.py)
    if numpy and isinstance(value, np.ndarray):
        data = hashlib.sha256(np.ascontiguousarray(value).tobytes()).hexdigest()
        return f"array:{value.dtype.str}:{value.shape}:{data}"
    if isinstance(value, tuple):
        return "(" + ",".join(map(value_text, value)) + ")"
    if isinstance(value, types.ModuleType):
        return "module:" + value.__name__
    if isinstance(value, (bool, int, float, complex, str, bytes, type(None))) or (
        numpy and isinstance(value, np.generic)
    ):
        return f"{type(value).__qualname__}:{value!r}"
    qualname = getattr(value, "__qualname__", None) or getattr(value, "__name__", None)
    if qualname is not None:
        return f"{getattr(value, '__module__', '')}.{qualname}"
    return f"{type(value).__qualname__}:{value!r}"


def snapshot_text(snapshot: Iterable[tuple[Any, str, Any]]) -> list[str]:
    """The names and frozen values of a compiled variant's snapshot, in order."""
    return [f"{name}={value_text(value)}" for _, name, value in snapshot]


@functools.lru_cache(maxsize=1)
def environment() -> tuple[str, ...]:
    """What a compiled variant depends on outside the program: versions and the CPU.

    The CPU is Numba's own ``magic_tuple`` (target triple, CPU name, CPU features), which
    Numba's cache also checks. Imports Numba.
    """
    import llvmlite
    import numba
    from numba.core.registry import cpu_target

    magic = cpu_target.target_context.codegen().magic_tuple()
    return (
        f"autoaccel {__version__}",
        f"python {sys.version} {sys.implementation.cache_tag}",
        f"numpy {np.__version__}",
        f"numba {numba.__version__}",
        f"llvmlite {llvmlite.__version__}",
        f"cpu {magic!r}",
    )


def variant_digest(
    code: types.CodeType,
    snapshot: Iterable[tuple[Any, str, Any]],
    options: JitOptions,
    argument_types: str,
    signature: str,
) -> str:
    """The key of one compiled variant (hex): see the module docstring for what it covers.

    Args:
        code: the function's original code.
        snapshot: ``(owner, name, value)`` entries the compiler recorded.
        options: the ``[jit]`` options it is compiled with.
        argument_types: the Python types of the arguments, as text.
        signature: the Numba signature, as text.
    """
    parts = [
        code_digest(code),
        snapshot_text(snapshot),
        sorted(dataclasses.asdict(options).items()),
        argument_types,
        signature,
        environment(),
    ]
    return hashlib.sha256(repr(parts).encode()).hexdigest()


@functools.lru_cache(maxsize=1)
def source_environment() -> tuple[str, ...]:
    """What a decision kept by source depends on outside the program: versions and machine.

    Read from the installed distributions' metadata, so Numba is not imported; the machine
    is the architecture (a decision by source is about typing and speed, not machine code).
    """
    from importlib import metadata

    def version(name: str) -> str:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return "absent"

    return (
        f"autoaccel {__version__}",
        f"python {sys.version} {sys.implementation.cache_tag}",
        f"numpy {version('numpy')}",
        f"numba {version('numba')}",
        f"llvmlite {version('llvmlite')}",
        f"machine {platform.machine()}",
    )


def source_digest(
    code: types.CodeType, reads: Iterable[str], options: JitOptions, arguments: str
) -> str:
    """The key of a decision made about a function's source (hex), found without Numba.

    Unlike :func:`variant_digest`, nothing in it needs a compiled variant: the function's
    code, what it and its helpers read (``reads``: one text per global, a helper's code by
    digest, recursively), the ``[jit]`` options, the arguments' types as Numba would see
    them (``arguments``, the text of
    :func:`~autoaccel.backends.signatures.describe_arguments`) and :func:`source_environment`.
    """
    parts = [
        code_digest(code),
        list(reads),
        sorted(dataclasses.asdict(options).items()),
        arguments,
        source_environment(),
    ]
    return hashlib.sha256(repr(parts).encode()).hexdigest()
