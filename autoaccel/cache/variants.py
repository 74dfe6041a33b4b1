"""Compiled variants on disk: Numba's own cache, under autoaccel's exact keys and checks.

Why this design: Numba's ``FunctionCache`` already serializes a compiled overload (object
code, environment, type information) in an index and a data file. What it gets wrong for
autoaccel is the key (see :mod:`autoaccel.cache.keys`), its index shared by all signatures of
a function, which two processes can number differently, and its trust in the files it
finds: it unpickles them as they are, and makes its directories with the umask's mode. So
each variant gets a directory of its own, named by its
:func:`~autoaccel.cache.keys.variant_digest`, in which Numba's cache stores exactly one
overload, and every file Numba reads or writes there goes through the cache directory
instead (:class:`~autoaccel.cache.directory.CacheDir`): authenticated before it is
unpickled, private, never through a link. Beside them, ``outcome.json`` keeps what the
compiler concluded (the typed-IR inspection, or the reason it could not compile) as plain
data, because a variant loaded from disk has no typed IR to inspect. Anything unreadable is
removed and treated as a miss.
"""

from __future__ import annotations

import hashlib
import io
import logging
import pickle
from pathlib import Path
from typing import Any

from autoaccel.cache import plain
from autoaccel.cache.directory import CacheDir

logger = logging.getLogger("autoaccel")

_SECTION = "variants"
_OUTCOME = "outcome.json"
_FORMAT = (
    4  # 1 was a pickle; 2's inspections missed constants returned inside tuples; 3's, shared ones
)


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

    def outcome(self) -> dict[str, Any] | None:
        """The saved outcome (what :meth:`save_outcome` was given), or ``None`` (a miss)."""
        data = self.cache.read(_SECTION, f"{self.name}/{_OUTCOME}")
        if data is None:
            return None
        try:
            document = plain.loads(data)
            if type(document) is not dict or document.get("format") != _FORMAT:
                raise ValueError("not an autoaccel variant outcome of this version")
            return document["outcome"]
        except (ValueError, KeyError) as exc:  # an older format: drop the whole entry
            logger.info("cache: dropping unreadable variant %s: %s", self.name, exc)
            self.drop()
            return None

    def save_outcome(self, outcome: dict[str, Any]) -> None:
        """Store the compiler's conclusion (JSON-ready data) atomically."""
        document = {"format": _FORMAT, "outcome": outcome}
        self.cache.write(_SECTION, f"{self.name}/{_OUTCOME}", plain.dumps(document))

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

    def read(self, filename: str) -> bytes | None:
        """The authenticated bytes of one of Numba's files of this entry, or ``None``."""
        return self.cache.read(_SECTION, f"{self.name}/{filename}")

    def write(self, filename: str, data: bytes) -> None:
        """Store one of Numba's files of this entry (authenticated, private)."""
        self.cache.write(_SECTION, f"{self.name}/{filename}", data)

    def drop(self) -> None:
        """Remove the entry (it was unreadable)."""
        self.cache.remove(_SECTION, self.name)


_CLASS: Any = None


def _numba_cache_class() -> Any:
    """Numba's ``FunctionCache``, its files read and written through a :class:`VariantStore`."""
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

        def ensure_cache_path(self) -> None:
            pass  # the store makes its directories (private) as it writes

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

        def rebuild(self, target_context: Any, payload: tuple) -> Any:
            codegen = target_context.codegen()
            pending = _declare_unresolved(codegen, payload[0])
            result = super().rebuild(target_context, payload)
            if pending:
                codegen._rtlinker.resolve(codegen._engine)
            return result

    class StoreFile(IndexDataCacheFile):
        """Numba's index and data files, as its own methods make them, in the store.

        Numba reads them with ``open`` and ``pickle``; here the bytes come from the store,
        authenticated, and are unpickled only then.
        """

        def __init__(self, store: VariantStore) -> None:
            super().__init__(str(store.path), "variant", "autoaccel")
            self._store = store

        def _load_index(self) -> dict:
            data = self._store.read(self._index_name)
            if data is None:
                return {}
            stream = io.BytesIO(data)
            if pickle.load(stream) != self._version:
                return {}
            stamp, overloads = pickle.loads(stream.read())
            return overloads if stamp == self._source_stamp else {}

        def _save_index(self, overloads: dict) -> None:
            header = pickle.dumps(self._version, protocol=-1)
            self._store.write(
                self._index_name, header + self._dump((self._source_stamp, overloads))
            )

        def _load_data(self, name: str) -> Any:
            data = self._store.read(name)
            if data is None:
                raise FileNotFoundError(name)  # Numba's load() takes it for a miss
            return pickle.loads(data)

        def _save_data(self, name: str, data: Any) -> None:
            self._store.write(name, self._dump(data))

    class VariantFunctionCache(FunctionCache):
        def __init__(self, py_func: Any, store: VariantStore) -> None:
            self._name = repr(py_func)
            self._py_func = py_func
            self._impl = Impl(py_func, store.path)
            self._cache_path = str(store.path)
            self._cache_file = StoreFile(store)
            self._store = store
            self.enable()

        def load_overload(self, sig: Any, target_context: Any) -> Any:
            try:
                result = super().load_overload(sig, target_context)
            except Exception as exc:  # authentic but unusable (another Numba): recompile
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
            except Exception as exc:  # an object Numba cannot serialize
                logger.info("cache: variant %s not saved: %r", self._store.name, exc)

    _CLASS = VariantFunctionCache
    return _CLASS


def _declare_unresolved(codegen: Any, libdata: tuple) -> bool:
    """Map the recursion stubs of a cached library before Numba loads its object code.

    Numba compiles a call to a function still being compiled (recursion) as a load from a
    global named ``.numba.unresolved$<symbol>``, which its JIT linker maps and then points
    at the symbol once it is defined (``numba.core.codegen.RuntimeLinker``). A library
    loaded from the cache skips that scan, so its object code names a global nothing
    defines: the process crashed (numba#6061, numba#9129). The scan is run here on the
    library's linking bitcode, which holds the same globals and definitions.

    Args:
        codegen: the target's ``JITCPUCodegen``.
        libdata: ``(name, "object", (object code, linking bitcode))``, as Numba saved it.

    Returns:
        Whether the library has such globals (then ``resolve`` must run once it is loaded).
    """
    import llvmlite.binding as ll

    _, kind, data = libdata
    if kind != "object":
        return False
    module = ll.parse_bitcode(data[1])
    linker = codegen._rtlinker
    if not any(gv.name.startswith(linker.PREFIX) for gv in module.global_variables):
        return False
    linker.scan_unresolved_symbols(module, codegen._engine)
    linker.scan_defined_symbols(module)
    return True
