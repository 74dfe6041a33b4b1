"""The import hook: a ``sys.meta_path`` finder and a loader that rewrites selected modules.

Why this design (after typeguard's and pytest's hooks): the finder bails out on a cheap
name check; for a selected module it asks the normal ``PathFinder`` (a class
attribute, so tests can replace it) for the spec and only swaps in its own loader. The loader
is a ``SourceFileLoader`` whose ``exec_module`` runs the rewritten code. With the cache on,
it reads the source and takes the rewritten code from autoaccel's code cache
(:mod:`autoaccel.cache.code`), compiling and rewriting only on a miss; with the cache off it
reads the plain ``.pyc`` as usual and rewrites. The finder is inserted just before
``PathFinder``, so hooks that were installed earlier (pytest's assertion rewriter among them)
keep their priority. While autoaccel compiles, the finder claims nothing.
"""

from __future__ import annotations

import atexit
import importlib.abc
import importlib.machinery
import logging
import os
import sys
import threading
from collections.abc import Sequence
from types import CodeType, ModuleType
from typing import Any

from autoaccel.backends.collector import freeze_long_lived
from autoaccel.backends.cpu import is_compiling
from autoaccel.backends.loop_code import UNBOUND
from autoaccel.cache.code import CodeCache, NoCodeCache, SourceCode, code_cache
from autoaccel.config import Config, load_config, search_dirs
from autoaccel.config.parsing import key_line
from autoaccel.errors import warn
from autoaccel.rewrite.loop_host import BUILTIN_INT, BUILTIN_LOCALS, UNBOUND_NAME
from autoaccel.rewrite.module import (
    Rewritten,
    bind,
    function_qualnames,
    rewrite_module,
    rewrite_source,
)
from autoaccel.runtime.loop import LoopTrampoline
from autoaccel.runtime.registry import compile_declared, register, register_loops
from autoaccel.runtime.table import variant_table
from autoaccel.runtime.trampoline import Trampoline
from autoaccel.runtime.variant import MISS
from autoaccel.state import STATE

_LOCK = threading.Lock()
logger = logging.getLogger("autoaccel")


def accelerate_code(
    code: CodeType | SourceCode, module_name: str, namespace: dict, config: Config
) -> CodeType:
    """``code`` (a module's code) with trampolines in its functions and candidate loops.

    Given the module's source, the rewriting is looked up in the code cache
    (:mod:`autoaccel.cache.code`) and made and saved only on a miss; given a code object
    (no source), only functions get trampolines. Either way
    :func:`~autoaccel.rewrite.module.bind` puts the live trampolines in.

    Args:
        code: the module's top-level code object, or its :class:`SourceCode`.
        module_name: the module's ``__name__`` (``"__main__"`` for a script).
        namespace: the dict the code will run in (the module's globals).
        config: the configuration in force.

    Returns:
        The rewritten code; statically refused functions and loops stay as written but are
        recorded. If rewriting fails, the original code (a warning names the module).

    Raises:
        SyntaxError: ``code`` is a source that does not compile.
    """
    if isinstance(code, SourceCode):
        cache = code_cache(config)
        hit = _from_cache(cache, code, module_name, namespace, config)
        if hit is not None:
            return hit
        original = code.compile()
    else:
        original = code
    try:
        rewritten = _rewrite(code, original, module_name)
        bound = _bind(rewritten, module_name, namespace, config)
    except Exception as exc:  # a bug of ours must never break the user's import
        warn(f"autoaccel: {module_name} runs unaccelerated: rewriting failed: {exc!r}")
        return original
    if isinstance(code, SourceCode):
        cache.save(module_name, code, rewritten)
    return bound


def _rewrite(code: CodeType | SourceCode, original: CodeType, module_name: str) -> Rewritten:
    """The rewriting of a module: from its source (loops too), else from its code."""
    if isinstance(code, SourceCode):
        try:
            return rewrite_source(code.data, code.filename)
        except SyntaxError:
            raise
        except Exception as exc:  # a bug in the loop rewriting: functions still get theirs
            warn(
                f"autoaccel: {module_name}: its loops run unaccelerated: rewriting failed: {exc!r}"
            )
    return rewrite_module(original)


def _from_cache(
    cache: CodeCache | NoCodeCache,
    source: SourceCode,
    module_name: str,
    namespace: dict,
    config: Config,
) -> CodeType | None:
    """The bound code of ``source``'s cache entry, or ``None`` on a miss."""
    cached = cache.load(module_name, source)
    if cached is None:
        return None
    try:
        return _bind(cached, module_name, namespace, config)
    except Exception as exc:  # a damaged entry (BindError) or a bug: rewrite instead
        logger.info("code cache: entry for %s does not bind: %r", module_name, exc)
        return None


# The constants the loop instrumentation loads (autoaccel.rewrite.loop_host).
_LOOP_NAMES = {BUILTIN_LOCALS: locals, BUILTIN_INT: int, UNBOUND_NAME: UNBOUND}


def _bind(rewritten: Rewritten, module_name: str, namespace: dict, config: Config) -> CodeType:
    """Bind ``rewritten`` to new trampolines and register them once binding succeeded."""
    created: list[Trampoline] = []
    loops: list[LoopTrampoline] = []
    qualnames = iter(function_qualnames(rewritten))  # bind() makes them in this order

    def make(function_code: CodeType, refusal: str | None) -> Trampoline:
        qualname = next(qualnames, None)
        trampoline = Trampoline(
            module_name, function_code, namespace, config, refusal, qualname=qualname
        )
        created.append(trampoline)
        return trampoline

    def make_loop(spec: tuple) -> LoopTrampoline:
        loop = LoopTrampoline(module_name, spec, namespace, config)
        loops.append(loop)
        return loop

    bound = bind(rewritten, make, MISS, make_loop, _LOOP_NAMES)
    register(created)
    register_loops(loops)
    return bound


def module_code(
    loader: importlib.abc.Loader, fullname: str, config: Config
) -> CodeType | SourceCode | None:
    """What :func:`accelerate_code` should get for module ``fullname`` loaded by ``loader``.

    For a source file, its source (read once, no ``.pyc``): the loops are rewritten from it,
    a code-cache hit needs no compiling, and a miss compiles the very bytes the cache key was
    made from. Otherwise ``loader.get_code(fullname)``, as the import system would run it.

    Args:
        loader: the module's loader (an :class:`AccelLoader` for a selected module).
        fullname: the module's name.
        config: the configuration in force.

    Raises:
        OSError: the source cannot be read.
        ImportError, SyntaxError: as ``loader.get_code`` raises them.
    """
    if isinstance(loader, importlib.machinery.SourceFileLoader):
        return SourceCode(loader.get_data(loader.path), loader.path)
    return loader.get_code(fullname)  # type: ignore[attr-defined]


class AccelLoader(importlib.machinery.SourceFileLoader):
    """Loads a selected module's source and runs it with trampolines in its functions."""

    def __init__(self, fullname: str, path: str, config: Config) -> None:
        super().__init__(fullname, path)
        self.config = config

    def exec_module(self, module: ModuleType) -> None:
        """Run the module's rewritten code in ``module.__dict__``."""
        code = module_code(self, module.__name__, self.config)
        if code is None:
            raise ImportError(f"cannot load code for {module.__name__!r}", name=module.__name__)
        exec(accelerate_code(code, module.__name__, module.__dict__, self.config), module.__dict__)
        compile_declared(module.__name__)  # now that the helpers they call are defined


class AccelFinder(importlib.abc.MetaPathFinder):
    """Claims modules selected by the configuration; all others pass through untouched."""

    path_finder: Any = importlib.machinery.PathFinder

    def __init__(self, config: Config) -> None:
        self.config = config
        self.matched: set[str] = set()

    def find_spec(
        self, fullname: str, path: Sequence[str] | None = None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        """A spec with an :class:`AccelLoader` for a selected source module, else ``None``."""
        if is_compiling() or not self.config.selects(fullname):
            return None
        spec = self.path_finder.find_spec(fullname, path, target)
        if spec is None or not isinstance(spec.loader, importlib.machinery.SourceFileLoader):
            return None
        spec.loader = AccelLoader(fullname, spec.loader.path, self.config)
        self.matched.add(fullname)
        return spec


class Installation:
    """A handle on an installed hook; also a context manager that uninstalls on exit.

    Attributes:
        config: the configuration the hook uses.
        finder: the :class:`AccelFinder` on ``sys.meta_path``.
    """

    def __init__(self, config: Config) -> None:
        self.config = config
        self.finder = AccelFinder(config)

    def _insert(self) -> None:
        with _LOCK:
            position = next(
                (i for i, f in enumerate(sys.meta_path) if f is importlib.machinery.PathFinder),
                len(sys.meta_path),
            )
            sys.meta_path.insert(position, self.finder)

    def uninstall(self) -> None:
        """Remove the finder from ``sys.meta_path``; safe to call more than once.

        Modules already imported keep their trampolines.
        """
        with _LOCK:
            if self.finder in sys.meta_path:
                sys.meta_path.remove(self.finder)

    def __enter__(self) -> Installation:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.uninstall()


def install_hook(config: Config) -> Installation:
    """Install a finder for ``config`` (nothing when ``config.enabled`` is false)."""
    installation = Installation(config)
    if config.enabled and not config.modules:
        where = config.source or "the configuration (none was found)"
        warn(
            f"autoaccel: {where} selects no module (`modules` is empty): nothing is accelerated",
            filename=str(config.source or ""),
            lineno=key_line(config.source, "modules"),
        )
    if config.enabled:
        variant_table().configure(config.specialization)
        installation._insert()
        STATE.gc_freeze = config.gc_freeze
        freeze_long_lived()
        if config.report or config.report_json or config.report_html:
            from autoaccel.report.text import emit_at_exit

            atexit.register(emit_at_exit, config, installation.finder, os.getpid())
    return installation


def active_config() -> Config | None:
    """The configuration of the hook that claims modules first, or ``None`` if none is on."""
    finder = next((f for f in sys.meta_path if isinstance(f, AccelFinder)), None)
    return None if finder is None else finder.config


def config_in_force() -> Config:
    """The installed hook's configuration, else the one discovered for this program.

    Discovery starts from the script's directory, then the working directory, as
    ``import autoaccel.install`` does.

    Raises:
        ConfigError: the discovered configuration is invalid.
    """
    return active_config() or load_config(search_from=search_dirs())
