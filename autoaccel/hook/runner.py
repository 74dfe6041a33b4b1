"""Run a script or a module as ``__main__``, rewritten when ``__main__`` is selected.

Why this design: ``runpy`` compiles the code itself, so it cannot run rewritten code. This
module does what ``python script.py`` and ``python -m module`` do (fresh ``__main__`` module,
``sys.argv``, ``sys.path[0]``, ``__spec__``), with the code passed through the hook's
rewriter first. Frames run on autoaccel's behalf are removed from the traceback of an uncaught
exception so it reads as under plain Python.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import os
import sys
import sysconfig
import types

from autoaccel.cache.code import SourceCode
from autoaccel.config import Config
from autoaccel.errors import engine_directories
from autoaccel.hook.finder import AccelFinder, accelerate_code, module_code
from autoaccel.runtime import warm_start
from autoaccel.runtime.registry import registry

# The autoaccel package directory (this file is in its hook/ subpackage).
_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
_LIBRARIES = (
    "<frozen ",
    *{sysconfig.get_path(name) + os.sep for name in ("stdlib", "platstdlib", "purelib", "platlib")},
)


def _main_module(path: str | None, spec: importlib.machinery.ModuleSpec | None) -> types.ModuleType:
    module = types.ModuleType("__main__")
    module.__dict__.update({"__file__": path, "__spec__": spec})
    if spec is not None:
        module.__loader__ = spec.loader
        module.__package__ = spec.parent
    else:
        module.__loader__ = importlib.machinery.SourceFileLoader("__main__", path) if path else None
        module.__package__ = None
    if path is None:
        del module.__file__
    sys.modules["__main__"] = module
    return module


def _selected(config: Config, real_name: str) -> bool:
    return config.selects("__main__") or config.selects(real_name)


def _execute(
    code: types.CodeType | SourceCode,
    module: types.ModuleType,
    config: Config,
    finder: AccelFinder,
    real_name: str,
) -> None:
    warm_start.settle_at_exit(config)  # the script's run ledger
    if _selected(config, real_name):
        finder.matched.add("__main__")
        runnable = accelerate_code(code, "__main__", module.__dict__, config)
    else:
        runnable = code.compile() if isinstance(code, SourceCode) else code
    exec(runnable, module.__dict__)


def run_path(path: str, argv: list[str], config: Config, finder: AccelFinder) -> None:
    """Run the script at ``path`` as ``python path argv...`` would.

    Raises:
        FileNotFoundError: the script does not exist.
        SyntaxError: the script does not compile.
        BaseException: whatever the script raises (``SystemExit`` included).
    """
    with open(path, "rb") as handle:
        source = handle.read()
    absolute = os.path.abspath(path)  # as CPython 3.9+ sets __file__ and code filenames
    code = compile(source, absolute, "exec", dont_inherit=True)
    sys.argv[:] = [path, *argv]
    sys.path[0] = os.path.dirname(absolute)
    module = _main_module(absolute, None)
    _execute(SourceCode(source, absolute, code), module, config, finder, "__main__")


def run_module(name: str, argv: list[str], config: Config, finder: AccelFinder) -> None:
    """Run module ``name`` (a package runs its ``__main__``) as ``python -m name`` would.

    Raises:
        ImportError: no such module, or it has no code.
        BaseException: whatever the module raises.
    """
    sys.path[0] = os.getcwd()
    spec = importlib.util.find_spec(name)
    if spec is not None and spec.submodule_search_locations is not None:
        name = f"{name}.__main__"
        spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None:
        raise ImportError(f"No module named {name}", name=name)
    if _selected(config, name):  # its source, so that the code cache can serve it
        code = module_code(spec.loader, name, config)
    else:
        code = spec.loader.get_code(name)  # type: ignore[attr-defined]
    if code is None:
        raise ImportError(f"module {name} has no code to run", name=name)
    sys.argv[:] = [spec.origin or name, *argv]
    module = _main_module(spec.origin, spec)
    _execute(code, module, config, finder, name)


def user_exception(exc: BaseException) -> BaseException:
    """``exc`` as plain Python would show it: :func:`user_traceback` on it and on the
    exceptions chained to it; a chained one raised and handled wholly in code that ran for
    autoaccel is dropped from the chain (the one it was raised in handling takes its place).

    Why: a Ctrl-C can land while a library function that autoaccel called handles an
    exception of its own (pathlib computing a hash on first use), and the printed
    ``KeyboardInterrupt`` then showed "During handling of the above exception" with it.
    """
    seen: set[int] = set()

    def clean(error: BaseException) -> BaseException | None:
        if id(error) in seen:
            return error
        seen.add(id(error))
        traceback = user_traceback(error.__traceback__)
        if traceback is None and error is not exc:  # what it was handled in stays shown
            return None if error.__context__ is None else clean(error.__context__)
        error.with_traceback(traceback)
        if error.__cause__ is not None:
            error.__cause__ = clean(error.__cause__)
        if error.__context__ is not None:
            error.__context__ = clean(error.__context__)
        return error

    clean(exc)
    return exc


def _called_on_behalf(frame: types.FrameType, engines: tuple[str, ...]) -> bool:
    """Whether the first non-library caller of ``frame`` is autoaccel's, Numba's, llvmlite's."""
    caller = frame.f_back
    while caller is not None:
        filename = caller.f_code.co_filename
        if _on_behalf(filename, engines):  # Numba's frames are installed packages too
            return True
        if not _is_library(filename):
            return False
        caller = caller.f_back
    return False


def _on_behalf(filename: str, engines: tuple[str, ...]) -> bool:
    """Whether code in ``filename`` runs only for autoaccel: its own, Numba's, llvmlite's."""
    return os.path.abspath(filename).startswith((_PACKAGE, *engines))


def _is_library(filename: str) -> bool:
    """Whether ``filename`` is the standard library's or an installed package's."""
    return filename.startswith(_LIBRARIES)


def _originals() -> set[int]:
    """``id`` of each trampolined function's original code (its body, run by a trial)."""
    return {id(trampoline.code) for trampoline in registry()}


def user_traceback(tb: types.TracebackType | None) -> types.TracebackType | None:
    """``tb`` as plain Python would show it: the user's frames, and what they called.

    Removed: frames of autoaccel, Numba and llvmlite (a Ctrl-C at steady state can land
    in Numba's Python code that a compiled variant calls back, such as
    ``_numba_unpickle``); frames of the standard library or of installed packages that
    one of those called (``contextlib``, ``pickle``), unless the frame is a function of
    the user's that autoaccel ran (the original, during a trial); and prologue frames, a
    user function's frame stopped on its ``def`` line while it calls into autoaccel (the
    trampoline ran the original body in a frame of its own).
    """
    entries = []
    while tb is not None:
        entries.append(tb)
        tb = tb.tb_next
    originals, engines = _originals(), engine_directories()
    hidden: list[bool] = []
    for entry in entries:
        code = entry.tb_frame.f_code
        caller_hidden = hidden[-1] if hidden else _called_on_behalf(entry.tb_frame, engines)
        # Code made at run time is "<string>" (a NamedTuple's __new__, a dataclass's
        # __init__): a Ctrl-C landed in autoaccel's Boundary(...) on the CI.
        made = code.co_filename.startswith("<")
        called_for_autoaccel = caller_hidden and (made or _is_library(code.co_filename))
        user = id(code) in originals
        hidden.append(not user and (_on_behalf(code.co_filename, engines) or called_for_autoaccel))
    kept = [
        entry
        for index, entry in enumerate(entries)
        if not hidden[index]
        and not (
            index + 1 < len(entries)
            and hidden[index + 1]
            and entry.tb_lineno == entry.tb_frame.f_code.co_firstlineno
        )
    ]
    if not kept:  # raised while autoaccel was starting (``-m`` of a missing module)
        return None
    for entry, following in zip(kept, [*kept[1:], None], strict=True):
        entry.tb_next = following
    return kept[0]
