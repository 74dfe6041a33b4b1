"""Compiled variants on disk: Numba's own cache, under autoaccel's exact keys.

Why this design: Numba's ``FunctionCache`` already serializes a compiled overload (object
code, environment, type information) and writes its index and data files atomically. What it
gets wrong for autoaccel is the key (see :mod:`autoaccel.cache.keys`) and its index shared by
all signatures of a function, which two processes can number differently. So each variant
gets a directory of its own, named by its :func:`~autoaccel.cache.keys.variant_digest`, in
which Numba's cache stores exactly one overload; beside it, ``outcome.pickle`` keeps what the
compiler concluded (the typed-IR :class:`~autoaccel.backends.typed_checks.Inspection`, or the reason
it could not compile), because a variant loaded from disk has no typed IR to inspect.
Anything unreadable is removed and treated as a miss.
"""

from __future__ import annotations

import hashlib
import logging
import pickle
import shutil
from pathlib import Path
from typing import Any

from autoaccel.cache.directory import CacheDir

logger = logging.getLogger("autoaccel")

_SECTION = "variants"
_OUTCOME = "outcome.pickle"
_FORMAT = 1


class VariantStore:
    """The on-disk entry of one variant (one function, signature and environment).

    Args:
        cache: the opened cache directory.
        digest: the variant's key (hex), which names its directory.
    """

    def __init__(self, cache: CacheDir, digest: str) -> None:
        self.cache = cache
        self.digest = digest
        self.name = f"{digest[:2]}/{digest}"
        self.path = cache.path / _SECTION / digest[:2] / digest

    def outcome(self) -> Any:
        """The saved :class:`~autoaccel.backends.typed_checks.Inspection`, or ``None`` (a miss)."""
        data = self.cache.read(_SECTION, f"{self.name}/{_OUTCOME}")
        if data is None:
            return None
        try:
            version, inspection = pickle.loads(data)
            if version != _FORMAT or not hasattr(inspection, "refusal"):
                raise ValueError("not an autoaccel variant outcome")
            return inspection
        except Exception as exc:  # truncated, corrupt or foreign: drop the whole entry
            logger.info("cache: dropping unreadable variant %s: %r", self.name, exc)
            self.drop()
            return None

    def save_outcome(self, inspection: Any) -> None:
        """Store the compiler's conclusion (an ``Inspection``) atomically."""
        try:
            data = pickle.dumps((_FORMAT, inspection), protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:  # a constant that cannot be pickled: just not cached
            logger.info("cache: variant %s not saved: %r", self.name, exc)
            return
        self.cache.write(_SECTION, f"{self.name}/{_OUTCOME}", data)

    def derived(self, target: str) -> VariantStore:
        """The entry of the same function and signature compiled for another ``target``.

        A ``parallel`` variant is derived from the ``cpu`` one (same code, globals, options
        but ``parallel``, and signature), so its key is this entry's digest and the target.
        """
        return VariantStore(
            self.cache, hashlib.sha256(f"{self.digest}/{target}".encode()).hexdigest()
        )

    def numba_cache(self, py_func: Any) -> Any:
        """A Numba ``FunctionCache`` for ``py_func`` that lives in this entry's directory."""
        return _numba_cache_class()(py_func, self)

    def drop(self) -> None:
        """Remove the entry (it was unreadable)."""
        shutil.rmtree(self.path, ignore_errors=True)


_CLASS: Any = None


def _numba_cache_class() -> Any:
    """Numba's ``FunctionCache`` with the location fixed and failures turned into misses."""
    global _CLASS
    if _CLASS is not None:
        return _CLASS
    from numba.core.caching import (
        CompileResultCacheImpl,
        FunctionCache,
        IndexDataCacheFile,
        _CacheLocator,
    )

    class Locator(_CacheLocator):
        def __init__(self, py_func: Any, path: Path) -> None:
            self._py_file = py_func.__code__.co_filename  # Numba's warnings name it
            self._path = str(path)

        def get_cache_path(self) -> str:
            return self._path

        def get_source_stamp(self) -> str:
            return "autoaccel"  # freshness is in the directory's name (the digest)

        def get_disambiguator(self) -> str:
            return "variant"

    class Impl(CompileResultCacheImpl):
        # Numba's constructor searches locator classes (NUMBA_CACHE_LOCATOR_CLASSES can
        # replace them); autoaccel's location is fixed, so it is set directly.
        def __init__(self, py_func: Any, path: Path) -> None:
            self._lineno = py_func.__code__.co_firstlineno
            self._locator = Locator(py_func, path)
            self._filename_base = "variant"

    class VariantFunctionCache(FunctionCache):
        def __init__(self, py_func: Any, store: VariantStore) -> None:
            self._name = repr(py_func)
            self._py_func = py_func
            self._impl = Impl(py_func, store.path)
            self._cache_path = str(store.path)
            self._cache_file = IndexDataCacheFile(
                cache_path=self._cache_path, filename_base="variant", source_stamp="autoaccel"
            )
            self._store = store
            self.enable()

        def load_overload(self, sig: Any, target_context: Any) -> Any:
            try:
                result = super().load_overload(sig, target_context)
            except Exception as exc:  # corrupt index or data: recompile and rewrite
                logger.info("cache: dropping unreadable variant %s: %r", self._store.name, exc)
                self._store.drop()
                return None
            if result is not None and tuple(result.signature.args) != tuple(sig):
                self._store.drop()  # not the overload asked for: never run it
                return None
            return result

        def save_overload(self, sig: Any, data: Any) -> None:
            if data.library.has_dynamic_globals or any(not x.can_cache for x in data.lifted):
                return  # Numba would warn on stderr; the program's stderr stays its own
            try:
                super().save_overload(sig, data)
            except Exception as exc:  # read-only or full disk
                logger.info("cache: variant %s not saved: %r", self._store.name, exc)

    _CLASS = VariantFunctionCache
    return _CLASS
