"""What every corpus driver shares: the workload size and a digest of its answers.

A driver imports this module after putting its folder, ``benchmarks/corpus/_shared``, on
``sys.path`` (a folder of its own: with ``benchmarks/corpus`` there, the driver folder
``nolds/`` would be imported as the namespace package ``nolds`` where the real one is not
installed). autoaccel's configuration never selects it, so it runs as plain Python in every
mode.

The digest is what the harness and the test compare across modes, so it must change when any
answer changes: floats are written with ``repr`` (exact), and large results are written as the
SHA-256 of a canonical text of all their values, never rounded or sampled.
"""

from __future__ import annotations

import hashlib
import os
import sys
from typing import Any

# The drivers' reduced workload (tests/test_corpus.py) is chosen by ``--quick`` or this
# environment variable; it is the same code path on less data, not a different one.
QUICK_VARIABLE = "CORPUS_QUICK"


def quick() -> bool:
    """Whether the driver should run its reduced workload."""
    return "--quick" in sys.argv[1:] or os.environ.get(QUICK_VARIABLE, "") not in ("", "0")


def pick(full: int, reduced: int) -> int:
    """``full`` for a measured run, ``reduced`` for a ``--quick`` run."""
    return reduced if quick() else full


def canonical(value: Any) -> str:
    """An exact, deterministic text of ``value``: reprs, with NumPy arrays written out."""
    if hasattr(value, "dtype") and hasattr(value, "tobytes"):  # NumPy arrays and scalars
        shape = getattr(value, "shape", ())
        if shape == ():  # a scalar: its Python value's repr is exact and readable
            return f"{value.dtype.str}:{value.item()!r}"
        return f"ndarray({value.dtype.str},{shape},{value.tobytes().hex()})"
    if isinstance(value, (list, tuple)):
        items = ",".join(canonical(item) for item in value)
        return f"{type(value).__name__}[{items}]"
    if isinstance(value, dict):
        items = ",".join(f"{canonical(k)}:{canonical(v)}" for k, v in value.items())
        return f"dict{{{items}}}"
    return repr(value)


class Digest:
    """Prints one line per named result: its text when short, else a hash of it."""

    SHORT = 120  # characters of text printed as they are

    def __init__(self) -> None:
        self._all = hashlib.sha256()
        self.lines = 0

    def add(self, name: str, value: Any) -> None:
        """Record (and print) the result ``value`` under ``name``."""
        text = canonical(value)
        self._all.update(f"{name}={text}\n".encode())
        if len(text) > self.SHORT:
            size = len(text)
            text = f"sha256:{hashlib.sha256(text.encode()).hexdigest()[:32]} ({size} chars)"
        print(f"{name} = {text}")
        self.lines += 1

    def close(self) -> None:
        """Print the hash of everything recorded, the one line that sums it all up."""
        print(f"digest {self.lines} results sha256:{self._all.hexdigest()}")
