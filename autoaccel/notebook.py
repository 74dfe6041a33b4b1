"""IPython and Jupyter: ``%load_ext autoaccel`` accelerates the cells run after it.

A notebook's cells are not imported: IPython compiles each top-level statement of a cell
with its own compiler (``shell.compile``, a ``CachingCompiler``) and runs it in ``__main__``'s
namespace. So the import hook alone cannot reach them. Loading the extension

* discovers the configuration from the working directory (a Jupyter kernel runs in the
  notebook's directory), with ``__main__`` selected when no file names ``modules``, as
  ``python -m autoaccel script.py`` does;
* installs the import hook, so selected modules the notebook imports are accelerated;
* makes ``shell.compile`` pass each statement's code through
  :func:`autoaccel.hook.finder.accelerate_code` as ``__main__`` with the shell's namespace,
  the rewriting ``python -m autoaccel`` gives a script (when the configuration selects
  ``__main__``);
* registers the ``%autoaccel`` line magic: ``%autoaccel report`` shows the report (an HTML
  table in Jupyter, the text table in a terminal), ``%autoaccel off`` leaves cells run after
  it plain (functions already defined keep what they have), ``%autoaccel on`` resumes.

Why this design: IPython's documented extension API (``load_ipython_extension``,
``register_magic_function``) and its compiler object are the two places every cell passes
through; ``ast_transformers`` see syntax trees, while the rewriter works on bytecode. The
compiler's class is swapped for a subclass that adds one step after compiling, so IPython's
own state (``__future__`` flags, the cell cache that tracebacks read) stays as it was.
"""

from __future__ import annotations

import inspect
import types
from pathlib import Path
from typing import Any

from autoaccel.config import Config, load_config
from autoaccel.hook.finder import Installation, accelerate_code, install_hook
from autoaccel.report.html import table_html
from autoaccel.report.stats import stats
from autoaccel.report.text import format_table
from autoaccel.state import STATE

_USAGE = "usage: %autoaccel report | on | off"


class Report:
    """The report as a notebook shows it: an HTML table in Jupyter, text in a terminal.

    Args:
        data: :func:`autoaccel.stats`'s answer.
    """

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data

    def __repr__(self) -> str:
        return format_table(self.data)

    def _repr_html_(self) -> str:
        return table_html(self.data)


class NotebookSession:
    """What ``%load_ext autoaccel`` set up in one shell, undone by :meth:`close`.

    Args:
        shell: the ``InteractiveShell`` (an ipykernel shell in Jupyter).
        config: the configuration in force.

    Attributes:
        active: whether cells run now are accelerated (``%autoaccel on|off``).
        installation: the import hook.
    """

    def __init__(self, shell: Any, config: Config) -> None:
        self.shell = shell
        self.config = config
        self.active = True
        self.installation: Installation = install_hook(config)
        self._compiler_class = type(shell.compile)
        shell.compile.__class__ = _accelerating(self._compiler_class)

    def accelerate(self, code: types.CodeType, mode: str) -> types.CodeType:
        """``code`` (one statement of a cell, compiled in ``mode``) rewritten as ``__main__``.

        Only ``exec`` statements are rewritten: the ``single`` one (a cell's last expression,
        whose value IPython displays) defines no function. Top-level ``await`` statements
        (coroutine code that IPython runs itself) are left alone too, and so is the code
        magics compile (``%timeit``'s timing loop is ``<magic-timeit>``), which is IPython's,
        not the user's.
        """
        if (
            not self.active
            or mode != "exec"
            or not self.config.selects("__main__")
            or code.co_flags & inspect.CO_COROUTINE
            or code.co_filename.startswith("<magic-")
        ):
            return code
        return accelerate_code(code, "__main__", self.shell.user_ns, self.config)

    def magic(self, line: str) -> Report | None:
        """``%autoaccel report|on|off``.

        Raises:
            UsageError: any other argument (IPython shows the usage line).
        """
        command = line.strip()
        if command == "report":
            return Report(stats())
        if command in ("on", "off"):
            if command == "on" and not self.active:
                self.installation = install_hook(self.config)
            elif command == "off" and self.active:
                self.installation.uninstall()
            self.active = command == "on"
            return None
        from IPython.core.error import UsageError

        raise UsageError(_USAGE)

    def close(self) -> None:
        """Give the shell its own compiler back and remove the import hook."""
        self.shell.compile.__class__ = self._compiler_class
        self.installation.uninstall()


def _accelerating(base: type) -> type:
    """A subclass of compiler class ``base`` whose calls return accelerated code."""

    def __call__(self: Any, source: Any, filename: str, symbol: str) -> types.CodeType:
        code = base.__call__(self, source, filename, symbol)
        session = STATE.notebook
        return code if session is None else session.accelerate(code, symbol)

    return type(f"Accelerating{base.__name__}", (base,), {"__call__": __call__})


def load_ipython_extension(shell: Any) -> None:
    """``%load_ext autoaccel``: accelerate the cells ``shell`` runs from now on.

    Loading it a second time in the same shell does nothing.

    Args:
        shell: the ``InteractiveShell`` that IPython passes.

    Raises:
        ConfigError: the discovered configuration is invalid (IPython shows the message).
    """
    if STATE.notebook is not None:
        return
    config = load_config(search_from=[Path.cwd()], default_modules=("__main__",))
    STATE.notebook = NotebookSession(shell, config)
    shell.register_magic_function(session_magic, magic_kind="line", magic_name="autoaccel")


def session_magic(line: str) -> Report | None:
    """The ``%autoaccel`` line magic (see :meth:`NotebookSession.magic`)."""
    from IPython.core.error import UsageError

    if STATE.notebook is None:
        raise UsageError("autoaccel is not loaded: run %load_ext autoaccel first")
    return STATE.notebook.magic(line)


def unload_ipython_extension(shell: Any) -> None:
    """``%unload_ext autoaccel``: cells run plain again; the import hook is removed.

    Functions defined while it was loaded keep their acceleration.
    """
    session, STATE.notebook = STATE.notebook, None
    if session is not None:
        session.close()
