"""Imported by Python at start-up in a child of ``python -m autoaccel``.

``python -m autoaccel`` puts this file's directory first on ``PYTHONPATH`` (see
``autoaccel/hook/children.py``), so every Python child that inherits the environment imports it.
It takes its directory off ``sys.path`` again, then:

1. a child that runs a script, when the configuration selects ``__main__``
   (``AUTOACCEL_CHILD_RERUN=1``), is replaced (``os.execv``: same PID, same file descriptors)
   by ``python [its interpreter options] -m autoaccel --child script args``, which runs the
   script rewritten; the new process comes back here and goes on with step 2;
2. any other child starts autoaccel in this process
   (``autoaccel.hook.children.start_child``);
3. the ``sitecustomize`` this file hides, if there is one, is imported, as ``site`` would
   have done (once per process: step 1 replaces the process before it).

Why step 1 uses the standard library alone: importing autoaccel (NumPy with it) takes longer
than the interpreter start-up the re-run costs, and the process is about to be replaced.
"""

import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
_FALSE_WORDS = ("", "0", "false", "no", "off")  # AUTOACCEL_DISABLE values that leave it on
_ZIP_END = b"PK\x05\x06"  # a zip file's end-of-central-directory record, in its last 64 KiB


def _rerun_command():
    """``[python, *options, -m, autoaccel, --child, script, *args]``, or ``None``."""
    # On Windows os.execv starts a new process and ends this one: the parent would see it end.
    if os.environ.get("AUTOACCEL_CHILD_RERUN") != "1" or not sys.executable or os.name == "nt":
        return None
    if os.environ.get("AUTOACCEL_DISABLE", "").strip().lower() not in _FALSE_WORDS:
        return None
    # -i (interactive after the script) and -P (no script directory on sys.path) would be lost.
    if sys.flags.inspect or getattr(sys.flags, "safe_path", False):
        return None
    argv, orig_argv = sys.argv, getattr(sys, "orig_argv", [])
    start = len(orig_argv) - len(argv)
    if not argv or start < 1 or orig_argv[start:] != argv or "-x" in orig_argv[1:start]:
        return None
    if not _is_source_file(argv[0]):
        return None
    from importlib.util import find_spec

    if find_spec("autoaccel") is None:  # another interpreter, without autoaccel
        return None
    return [sys.executable, *orig_argv[1:start], "-m", "autoaccel", "--child", *argv]


def _is_source_file(path):
    """Whether Python runs ``path`` as source: not ``-c``, ``-m``, standard input, a
    directory, a zip application or a ``.pyc`` file."""
    if path in ("", "-", "-c", "-m") or not os.path.isfile(path):
        return False
    from importlib.util import MAGIC_NUMBER

    try:
        with open(path, "rb") as handle:
            head = handle.read(4)
            handle.seek(max(0, os.fstat(handle.fileno()).st_size - 65558))
            tail = handle.read()
    except OSError:
        return False
    return head != MAGIC_NUMBER and _ZIP_END not in tail


def _rerun():
    command = _rerun_command()
    if command is not None:
        sys.stdout.flush()
        sys.stderr.flush()
        try:
            os.execv(command[0], command)
        except OSError as exc:
            sys.stderr.write(f"autoaccel: cannot re-run {sys.argv[0]!r} accelerated: {exc}\n")


def _start():
    try:
        from autoaccel.hook.children import start_child
    except ImportError:  # another interpreter, without autoaccel: the child runs plain
        return
    try:
        start_child()
    except Exception as exc:  # a bug of ours must never stop the child
        sys.stderr.write(f"autoaccel: this child process runs unaccelerated: {exc!r}\n")


def _chain():
    ours = sys.modules.pop("sitecustomize")
    try:
        import sitecustomize  # noqa: F401  (the user's own, further down sys.path)
    except ImportError as exc:
        if exc.name != "sitecustomize":
            raise
        sys.modules["sitecustomize"] = ours


sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _HERE]
if os.environ.get("AUTOACCEL_CHILD_CONFIG"):
    _rerun()
    _start()
_chain()
