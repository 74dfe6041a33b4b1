"""Long-lived objects kept out of the cyclic garbage collector's full collections.

Why this design: CPython's full collection walks every object the collector tracks, so a
program that allocates many container objects (pyperformance's float: 100,000 ``Point``
objects per run) pays for every long-lived object in the process on each one. autoaccel and
NumPy add about 20,000 such objects, Numba about 45,000 more; measured here on float's
steady state (CPython 3.11, ``benchmarks/run.py`` and the same script run by hand): 0.069 s
plain, 0.073 s with autoaccel imported, 0.084 s with Numba imported, and 0.062 s with Numba
imported and then frozen. ``gc.freeze()`` (CPython 3.7+, the ``gc`` module's documentation)
moves every tracked object to a permanent generation that collections skip; it is done at
two moments, after a full collection so that no garbage of the moment is kept: when the
hook is installed (before the program's code for ``python -m autoaccel``) and right after
Numba's import.

The price: an object of the program alive at one of those moments that later becomes
unreachable through a reference cycle is never freed (nor its ``__del__`` run). That is
bounded by what was alive then, once; ``gc_freeze = false`` turns the freezing off.
"""

from __future__ import annotations

import gc

from autoaccel.state import STATE


def freeze_long_lived() -> None:
    """Collect every generation, then freeze what the collector tracks (``gc.freeze``),
    where the installed configuration asks for it (``gc_freeze``, on
    :data:`autoaccel.state.STATE`); else nothing. A full collection here takes about 10 ms
    with Numba imported."""
    if STATE.gc_freeze:
        gc.collect()
        gc.freeze()
