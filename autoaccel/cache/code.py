"""The code cache: rewritten module code kept on disk, so a later import skips the rewriting.

Why this design (after pytest's assertion-rewriting cache, ``_write_pyc`` / ``_read_pyc`` in
``_pytest/assertion/rewrite.py``): rewriting a module with ``bytecode`` and the static guards
costs far more than loading a ``.pyc``, so the result of
:func:`autoaccel.rewrite.module.rewrite_source` (code whose prologues hold placeholders, and each
function's static refusal) is marshalled into section ``code`` of the cache directory, under
a name with its own tag, as pytest names its ``{cache_tag}-pytest-{version}.pyc`` files. A
later import reads the source, looks the entry up, unmarshals it and binds the live
trampolines in (:func:`autoaccel.rewrite.module.bind`).

The key is a digest of everything the rewritten code depends on: the source bytes, the file
name compiled into the code, ``sys.flags.optimize``, the interpreter (``cache_tag`` and the
``.pyc`` magic number), autoaccel (its version and the text of the modules that rewrite),
and the ``bytecode`` library's version. Hashing the source is more exact than pytest's
``mtime``/size check, and costs about 10 µs per module (docs/caching.md). A miss compiles
those very bytes, so an entry can never pair one source with another's code (a stale
``.pyc`` is never read on this path).

Entries are written atomically (:meth:`autoaccel.cache.directory.CacheDir.write`) and read
defensively: a missing, truncated, damaged, foreign or malformed entry is a miss whose reason
is logged, after which the module is rewritten and the entry overwritten. The cache
directory authenticates every file (an HMAC of its exact bytes, checked before this module
sees them), so a damaged or forged payload is never unmarshalled into code that would run;
the header carries the key, so an entry is never taken for another source's. Writing an
entry removes the older ones of the same module file and interpreter, so the directory
holds one entry per module file.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import logging
import marshal
import sys
from dataclasses import dataclass
from pathlib import Path
from types import CodeType

import bytecode

from autoaccel._version import __version__
from autoaccel.analysis import guards, loops
from autoaccel.cache.directory import CacheDir, open_cache
from autoaccel.config import Config
from autoaccel.rewrite import loop_host, module, prologue
from autoaccel.rewrite.module import Rewritten

logger = logging.getLogger("autoaccel")

SECTION = "code"
# The entry format; bump it when the payload's shape changes. An entry is MAGIC, the
# 16-byte key, then the payload (the cache directory adds and checks the HMAC tag).
MAGIC = b"autoaccel-code\x00\x03"
_HEADER = len(MAGIC) + 16
# Entries of one module file for one interpreter share this tag (pytest: "cpython-311-pytest").
TAG = f"{sys.implementation.cache_tag}-autoaccel" + (
    f".opt-{sys.flags.optimize}" if sys.flags.optimize else ""
)


@dataclass(frozen=True)
class SourceCode:
    """A module's source, compiled only when the code cache misses.

    Attributes:
        data: the source bytes, exactly as read from the file.
        filename: the name compiled into the code (the module's ``__file__``).
        code: the code already compiled from ``data``, if the caller has it.
    """

    data: bytes
    filename: str
    code: CodeType | None = None

    def compile(self) -> CodeType:
        """The code object, compiled as the import system does.

        Raises:
            SyntaxError: the source does not compile.
        """
        if self.code is not None:
            return self.code
        return compile(self.data, self.filename, "exec", dont_inherit=True)


@functools.lru_cache(maxsize=1)
def _implementation() -> bytes:
    """What, besides the source, decides the rewritten code; computed once per process.

    The text of the rewriting modules is included because an editable install changes them
    without changing the version.
    """
    parts = [
        __version__.encode(),
        sys.implementation.cache_tag.encode(),
        importlib.util.MAGIC_NUMBER,
        str(sys.flags.optimize).encode(),
        str(bytecode.__version__).encode(),
        MAGIC,
    ]
    for source in (prologue, module, loop_host, loops, guards, sys.modules[__name__]):
        try:
            parts.append(Path(source.__file__ or "").read_bytes())
        except OSError:
            parts.append(b"unreadable")
    return _digest(parts)


def _digest(parts: list[bytes]) -> bytes:
    digest = hashlib.blake2b(digest_size=16)
    for part in parts:  # length-prefixed, so no two lists of parts hash alike
        digest.update(len(part).to_bytes(8, "little"))
        digest.update(part)
    return digest.digest()


def entry_key(source: SourceCode) -> bytes:
    """The key of ``source``'s entry: a 16-byte BLAKE2b digest of everything it depends on.

    Args:
        source: the module's source bytes and file name.
    """
    filename = source.filename.encode("utf-8", "surrogateescape")
    return _digest([_implementation(), filename, source.data])


def entry_group(module_name: str, filename: str) -> str:
    """The name all entries of one module file share for this interpreter (no digest).

    Args:
        module_name: the module's ``__name__``; alone it would not do, since every script
            runs as ``__main__``, so a short digest of ``filename`` follows it.
        filename: the module's file name as compiled into its code.
    """
    where = hashlib.blake2b(filename.encode("utf-8", "surrogateescape"), digest_size=5)
    return f"{module_name}.{where.hexdigest()}.{TAG}"


def entry_name(module_name: str, source: SourceCode, key: bytes) -> str:
    """The entry's file name: ``{module}.{where}.{cache_tag}-autoaccel.{key}``.

    Args:
        module_name: the module's ``__name__``.
        source: the module's source (its file name gives ``where``).
        key: :func:`entry_key` of ``source``.
    """
    return f"{entry_group(module_name, source.filename)}.{key.hex()}"


def encode(rewritten: Rewritten, key: bytes) -> bytes:
    """The bytes of an entry: :data:`MAGIC`, ``key``, the marshal.

    Args:
        rewritten: the result of :func:`autoaccel.rewrite.module.rewrite_source`.
        key: :func:`entry_key` of the source it was rewritten from.

    Raises:
        ValueError: ``rewritten`` holds something marshal cannot write.
    """
    return MAGIC + key + marshal.dumps(tuple(rewritten))


def decode(data: bytes, key: bytes) -> Rewritten:
    """The :class:`~autoaccel.rewrite.module.Rewritten` held in entry bytes ``data``.

    ``data`` has passed the cache directory's authentication (a damaged code object
    could crash the interpreter when run, a forged one run anything), so what is checked
    here is that it is an entry of this format, for this source, of the right shape.

    Args:
        data: the entry's bytes, as :meth:`~autoaccel.cache.directory.CacheDir.read`
            returns them.
        key: :func:`entry_key` of the source being imported.

    Raises:
        ValueError: not an entry of this format, an entry for another key, or a payload of
            the wrong shape.
    """
    if not data.startswith(MAGIC):
        raise ValueError("not an autoaccel code entry")
    if data[len(MAGIC) : len(MAGIC) + 16] != key:
        raise ValueError("written for another source or version")
    try:
        value = marshal.loads(data[_HEADER:])
    except (EOFError, ValueError, TypeError) as exc:
        raise ValueError(f"cannot unmarshal: {exc}") from exc
    return _validated(value)


def _validated(value: object) -> Rewritten:
    if not (isinstance(value, tuple) and len(value) == 3):
        raise ValueError("payload is not a (code, functions, loops) triple")
    code, functions, loop_specs = value
    if not isinstance(code, CodeType) or not isinstance(functions, tuple):
        raise ValueError("payload is not a (code, functions, loops) triple")
    if not all(
        isinstance(spec, tuple) and len(spec) == len(loops.LoopSpec._fields) for spec in loop_specs
    ):
        raise ValueError("a loop is not a loop spec")
    for function in functions:
        if not (
            isinstance(function, tuple)
            and len(function) == 2
            and isinstance(function[0], CodeType)
            and (function[1] is None or isinstance(function[1], str))
        ):
            raise ValueError("a function is not a (code, refusal) pair")
    return Rewritten(code, functions, loop_specs)


class CodeCache:
    """Rewritten module code in section ``code`` of a :class:`~autoaccel.cache.directory.CacheDir`.

    Attributes:
        directory: the checked cache directory.
    """

    enabled = True

    def __init__(self, directory: CacheDir) -> None:
        self.directory = directory

    def load(self, module_name: str, source: SourceCode) -> Rewritten | None:
        """The cached rewriting of ``source``, or ``None`` on a miss (the reason is logged).

        Args:
            module_name: the module's ``__name__``.
            source: the module's source bytes and file name.

        Never raises: whatever is wrong with an entry makes it a miss.
        """
        key = entry_key(source)
        name = entry_name(module_name, source, key)
        data = self.directory.read(SECTION, name)
        if data is None:
            logger.debug("code cache: no entry for %s", module_name)
            return None
        try:
            return decode(data, key)
        except Exception as exc:  # whatever is wrong with the entry, it is only a miss
            logger.info("code cache: ignoring entry %s: %s", name, exc)
            return None

    def save(self, module_name: str, source: SourceCode, rewritten: Rewritten) -> bool:
        """Store ``rewritten`` for ``source`` and remove older entries of the module file.

        Args:
            module_name: the module's ``__name__``.
            source: the source ``rewritten`` was compiled and rewritten from.
            rewritten: the result of :func:`autoaccel.rewrite.module.rewrite_source`.

        Returns:
            ``False`` (logged) when the entry could not be written; never raises for a disk
            that refuses.
        """
        key = entry_key(source)
        name = entry_name(module_name, source, key)
        try:
            data = encode(rewritten, key)
        except ValueError as exc:
            logger.info("code cache: cannot marshal %s: %s", module_name, exc)
            return False
        if not self.directory.write(SECTION, name, data):
            return False
        self._remove_others(entry_group(module_name, source.filename), name)
        return True

    def _remove_others(self, group: str, keep: str) -> None:
        """Remove the entries of ``group`` other than ``keep`` (older sources of the module)."""
        for name in self.directory.entries(SECTION):
            if name != keep and name.rpartition(".")[0] == group:
                self.directory.remove(SECTION, name)


class NoCodeCache:
    """The code cache when caching is off: every lookup misses and nothing is stored."""

    enabled = False

    def load(self, module_name: str, source: SourceCode) -> Rewritten | None:
        """Always ``None``."""
        return None

    def save(self, module_name: str, source: SourceCode, rewritten: Rewritten) -> bool:
        """Stores nothing; ``False``."""
        return False


def code_cache(config: Config) -> CodeCache | NoCodeCache:
    """The code cache ``config`` uses (a null object when there is none).

    Args:
        config: its ``cache`` and ``cache_dir`` choose the directory.

    Returns:
        A :class:`CodeCache`, or :class:`NoCodeCache` when ``config.cache`` is false or the
        cache directory is unusable (:func:`autoaccel.cache.directory.open_cache` returned ``None``,
        having warned once).
    """
    directory = open_cache(config)
    return NoCodeCache() if directory is None else CodeCache(directory)
