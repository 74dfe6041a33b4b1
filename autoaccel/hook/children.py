"""Child processes: Python processes started by an accelerated program are accelerated too.

``python -m autoaccel`` calls :func:`prepare_children`, which puts the configuration in force
into the environment (``AUTOACCEL_CHILD_CONFIG``: JSON of :meth:`Config.as_table
<autoaccel.config.options.Config.as_table>`, with the cache directory made absolute so that every
child shares the parent's cache) and puts ``autoaccel/hook/_bootstrap`` first on ``PYTHONPATH``.
Every Python child that inherits the environment imports the ``sitecustomize`` there at
start-up:

* a child that runs a script (``subprocess.run([sys.executable, "child.py", ...])``), when
  the configuration selects ``__main__`` (``AUTOACCEL_CHILD_RERUN=1``), is run again in the
  same process (``os.execv``: same PID and file descriptors) as ``python [its interpreter
  options] -m autoaccel --child child.py ...``, so that the script itself is rewritten as the
  parent's ``__main__`` was. This costs one more interpreter start-up; the bootstrap decides
  it with the standard library alone, before autoaccel is imported;
* any other child calls :func:`start_child`: it gets the import hook, so the selected modules
  it imports are accelerated, and in a ``multiprocessing`` spawn or forkserver child the
  functions that re-run the parent's main script (or ``-m`` module) as ``__mp_main__`` run it
  rewritten (:func:`patch_multiprocessing`).

A forked child (``multiprocessing``'s ``fork`` method, ``os.fork``) inherits the hook and the
rewritten modules and needs nothing. Children never write the report: ``report`` and
``report_json`` are not passed on.

Why this design: ``sitecustomize`` on ``PYTHONPATH`` is how ddtrace-run instruments every
process of a program, and coverage.py measures subprocesses the same way
(``coverage.process_startup()``, called from a ``.pth`` file and driven by an environment
variable): the environment is the one thing every way of starting a Python child passes on
by default. A child started with ``-E``, ``-I`` or ``-S``, or given an environment of its own
without these variables, runs plain. ``children = false`` (``AUTOACCEL_CHILDREN=0``) turns
all of this off, and ``AUTOACCEL_DISABLE=1`` in a child's environment leaves that child plain.
"""

from __future__ import annotations

import importlib
import importlib.util
import io
import json
import os
import sys
import types
from collections.abc import Callable, MutableMapping
from typing import Any

from autoaccel.cache.directory import cache_path
from autoaccel.config import Config, config_from_table, disabled_by_environment
from autoaccel.errors import ConfigError, warn

CONFIG_VARIABLE = "AUTOACCEL_CHILD_CONFIG"
RERUN_VARIABLE = "AUTOACCEL_CHILD_RERUN"  # "1": a child's script is re-run under autoaccel
BOOTSTRAP_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_bootstrap")
# The command line's hidden option for a re-run child: the configuration is the inherited one.
# (Spelled out again in _bootstrap/sitecustomize.py, which must not import autoaccel.)
CHILD_OPTION = "--child"

# What multiprocessing's spawn and forkserver children run: ``python -c "from ... import"``.
_MULTIPROCESSING_COMMANDS = (
    "from multiprocessing.spawn import",
    "from multiprocessing.forkserver import",
)


def prepare_children(config: Config, environ: MutableMapping[str, str] | None = None) -> None:
    """Set up ``environ`` so that Python children are accelerated with ``config``, or not.

    Args:
        config: the configuration in force; when ``children`` or ``enabled`` is false, the
            variables are removed instead (also ones inherited from an accelerated parent).
        environ: the environment to change (defaults to ``os.environ``).
    """
    environ = os.environ if environ is None else environ
    entries = [e for e in environ.get("PYTHONPATH", "").split(os.pathsep) if e != BOOTSTRAP_DIR]
    if config.enabled and config.children:
        table = config.as_table()
        table["cache_dir"] = str(cache_path(config))
        environ[CONFIG_VARIABLE] = json.dumps(table)
        environ[RERUN_VARIABLE] = "1" if config.selects("__main__") else "0"
        environ["PYTHONPATH"] = os.pathsep.join([BOOTSTRAP_DIR, *filter(None, entries)])
        return
    environ.pop(CONFIG_VARIABLE, None)
    environ.pop(RERUN_VARIABLE, None)
    if any(entries):
        environ["PYTHONPATH"] = os.pathsep.join(entries)
    else:
        environ.pop("PYTHONPATH", None)


def child_config(environ: MutableMapping[str, str] | None = None) -> Config | None:
    """The configuration a child inherited in ``AUTOACCEL_CHILD_CONFIG``, or ``None``.

    ``None`` also when ``AUTOACCEL_DISABLE`` turns autoaccel off, and when the value is
    not valid: then a warning names the variable and the error, and the child runs plain.
    """
    environ = os.environ if environ is None else environ
    raw = environ.get(CONFIG_VARIABLE)
    if not raw:
        return None
    try:
        if disabled_by_environment(environ):
            return None
        table = json.loads(raw)
        if not isinstance(table, dict):
            raise ConfigError(f"environment variable {CONFIG_VARIABLE}: not a JSON object")
        return config_from_table(f"environment variable {CONFIG_VARIABLE}", table)
    except (ValueError, ConfigError) as exc:  # json's errors are ValueErrors
        warn(f"autoaccel: this child process runs unaccelerated: {exc}")
        return None


def start_child() -> None:
    """Accelerate this process, a child of an accelerated one; called by the bootstrap.

    Installs the import hook with the inherited configuration, and in a ``multiprocessing``
    spawn or forkserver child patches ``multiprocessing.spawn``. Does nothing without
    ``AUTOACCEL_CHILD_CONFIG``, or in ``python -m autoaccel``, which sets itself up.
    """
    if CONFIG_VARIABLE not in os.environ or _autoaccel_runs_main():
        return
    config = child_config()
    if config is None:
        return
    from autoaccel.hook.finder import install_hook

    install_hook(config)
    if sys.argv[:1] == ["-c"] and any(
        arg.startswith(_MULTIPROCESSING_COMMANDS) for arg in sys.orig_argv
    ):
        patch_multiprocessing(config)


def _autoaccel_runs_main() -> bool:
    """Whether this process is ``python -m autoaccel`` (or one of its modules)."""
    if sys.argv[:1] != ["-m"]:
        return False
    entry = sys.orig_argv[len(sys.orig_argv) - len(sys.argv)]
    if entry.startswith("-"):  # -mautoaccel, or -m attached to other flags (-Omautoaccel)
        entry = entry[entry.index("m") + 1 :]
    return entry == "autoaccel" or entry.startswith("autoaccel.")


def _source_code(path: str) -> bytes | None:
    """The bytes of a plain source file; ``None`` for what ``runpy.run_path`` runs otherwise.

    A directory or a zip file is run from its ``__main__`` module, a file that starts with
    the ``.pyc`` magic number as compiled code.
    """
    if not os.path.isfile(path):
        return None
    try:
        with io.open_code(path) as handle:
            source = handle.read()
    except OSError:
        return None
    if source[:4] == importlib.util.MAGIC_NUMBER:
        return None
    import zipfile

    if zipfile.is_zipfile(io.BytesIO(source)):
        return None
    return source


def patch_multiprocessing(config: Config) -> None:
    """Make ``multiprocessing.spawn`` run the parent's main script or module rewritten.

    A spawn or forkserver child re-runs the parent's ``__main__`` as ``__mp_main__`` (so that
    its functions can be unpickled) with ``runpy``, which compiles the code itself and so
    bypasses import hooks. The replacements below do what CPython's
    ``_fixup_main_from_path`` and ``_fixup_main_from_name`` do, with the code passed through
    :func:`autoaccel.hook.finder.accelerate_code` under the name ``__main__`` (so that decisions
    are shared with the parent's functions of the same names). ``__name__`` stays
    ``__mp_main__``, so ``if __name__ == "__main__"`` stays false. What they do not handle
    (a directory, a zip, a ``.pyc`` file) goes to the originals.
    """
    spawn: Any = importlib.import_module("multiprocessing.spawn")  # private names used
    if getattr(spawn._fixup_main_from_path, "_autoaccel", False):
        return
    from_path: Any = _fixup_from_path(config, spawn._fixup_main_from_path)
    from_name: Any = _fixup_from_name(config, spawn._fixup_main_from_name)
    from_path._autoaccel = from_name._autoaccel = True
    spawn._fixup_main_from_path = from_path
    spawn._fixup_main_from_name = from_name


def _fixup_from_path(config: Config, original: Callable[[str], None]) -> Callable[[str], None]:
    def _fixup_main_from_path(main_path: str) -> None:
        # The checks of CPython 3.11's multiprocessing/spawn.py, in its order.
        current_main = sys.modules["__main__"]
        if os.path.splitext(os.path.basename(main_path))[0] == "ipython":
            return
        if getattr(current_main, "__file__", None) == main_path:
            return
        source = _source_code(main_path) if config.selects("__main__") else None
        if source is None:
            original(main_path)
            return
        code = compile(source, main_path, "exec")
        _keep_old_main(current_main)
        _install_main(_run_as_mp_main(code, config, main_path, None, ""))

    return _fixup_main_from_path


def _fixup_from_name(config: Config, original: Callable[[str], None]) -> Callable[[str], None]:
    def _fixup_main_from_name(mod_name: str) -> None:
        import runpy

        current_main = sys.modules["__main__"]
        if mod_name == "__main__" or mod_name.endswith(".__main__"):
            return
        if getattr(current_main.__spec__, "name", None) == mod_name:
            return
        details = getattr(runpy, "_get_module_details", None)
        if details is None or not (config.selects("__main__") or config.selects(mod_name)):
            original(mod_name)
            return
        _keep_old_main(current_main)
        _, spec, code = details(mod_name)
        _install_main(_run_as_mp_main(code, config, spec.origin, spec, spec.parent))

    return _fixup_main_from_name


def _run_as_mp_main(
    code: types.CodeType, config: Config, path: str | None, spec: Any, package: str | None
) -> dict[str, Any]:
    """What ``runpy``'s ``_run_module_code`` does, with ``code`` rewritten first.

    The code runs in a temporary ``__mp_main__`` module that is in ``sys.modules`` meanwhile,
    with ``sys.argv[0]`` set to ``path``; a copy of its globals is returned.
    """
    from autoaccel.hook.finder import accelerate_code

    module = types.ModuleType("__mp_main__")
    namespace = module.__dict__
    namespace.update(
        __name__="__mp_main__",
        __file__=path,
        __cached__=getattr(spec, "cached", None),
        __doc__=None,
        __loader__=getattr(spec, "loader", None),
        __package__=package,
        __spec__=spec,
    )
    saved_module = sys.modules.get("__mp_main__")
    saved_argv0 = sys.argv[0] if sys.argv else None
    sys.modules["__mp_main__"] = module
    if sys.argv:
        sys.argv[0] = path or saved_argv0 or ""
    try:
        exec(accelerate_code(code, "__main__", namespace, config), namespace)
    finally:
        if saved_module is None:
            sys.modules.pop("__mp_main__", None)
        else:
            sys.modules["__mp_main__"] = saved_module
        if sys.argv and saved_argv0 is not None:
            sys.argv[0] = saved_argv0
    return namespace.copy()


def _keep_old_main(current_main: types.ModuleType) -> None:
    spawn: Any = importlib.import_module("multiprocessing.spawn")
    spawn.old_main_modules.append(current_main)


def _install_main(content: dict[str, Any]) -> None:
    main_module = types.ModuleType("__mp_main__")
    main_module.__dict__.update(content)
    sys.modules["__main__"] = sys.modules["__mp_main__"] = main_module
