"""What a checked, authenticated cache read costs, against reading the file's bytes.

For files the size of each kind of cache entry (a module's decisions, a rewritten module, a
compiled variant's Numba data file, a large one), in one process, best of ``--repeat``
tries of ``--number`` reads each (garbage collector off), in microseconds per read:

- ``read_bytes``: ``Path.read_bytes()`` of the file, what the cache did before;
- ``CacheDir.read``: autoaccel's read, descriptor-relative from the root without following
  links, ``fstat`` checks of each directory and the file, and the HMAC-SHA256 check;
- ``HMAC alone``: the tag check of the bytes already in memory
  (:func:`autoaccel.cache.authentication.unseal`).

    python benchmarks/cache_reads.py [--number 2000] [--repeat 7]
"""

from __future__ import annotations

import argparse
import functools
import gc
import os
import tempfile
import timeit
from pathlib import Path

from autoaccel.cache import authentication
from autoaccel.cache.directory import open_checked

# (what it stands for, section, name under the section, bytes)
FILES = (
    ("decisions of a module", "decisions", "m-0123456789abcdef.json", 2_000),
    ("rewritten module (code)", "code", "m.0123456789.cpython-311-autoaccel.0f", 20_000),
    ("Numba data of a variant", "variants", "ab/" + "ab" * 32 + "/variant.1.nbc", 64_000),
    ("large Numba data", "variants", "cd/" + "cd" * 32 + "/variant.1.nbc", 1_000_000),
)


def _best(statement, number: int, repeat: int) -> float:
    """Best time of one call of ``statement`` over ``repeat`` runs (microseconds)."""
    return min(timeit.repeat(statement, number=number, repeat=repeat)) / number * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--number", type=int, default=2000, help="reads per try")
    parser.add_argument("--repeat", type=int, default=7, help="tries (the best is kept)")
    options = parser.parse_args()
    print("| file | bytes | read_bytes (µs) | CacheDir.read (µs) | HMAC alone (µs) |")
    print("|---|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as scratch, open_checked(Path(scratch), True) as cache:
        secret = (Path(scratch) / authentication.SECRET_NAME).read_bytes()
        gc.disable()
        for label, section, name, size in FILES:
            data = os.urandom(size)
            assert cache.write(section, name, data)
            path = Path(scratch) / section / name
            relative = f"{section}/{name}"
            blob = path.read_bytes()
            assert cache.read(section, name) == data
            plain = _best(path.read_bytes, options.number, options.repeat)
            checked = _best(
                functools.partial(cache.read, section, name), options.number, options.repeat
            )
            tag = _best(
                functools.partial(authentication.unseal, secret, relative, blob),
                options.number,
                options.repeat,
            )
            print(f"| {label} | {size:,} | {plain:.1f} | {checked:.1f} | {tag:.1f} |")
        gc.enable()


if __name__ == "__main__":
    main()
