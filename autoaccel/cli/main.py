"""``python -m autoaccel [options] script.py [args]`` and ``... -m module [args]``."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from autoaccel._version import __version__
from autoaccel.cli import cache as cache_cli
from autoaccel.config import Config, load_config
from autoaccel.errors import ConfigError
from autoaccel.hook import children, runner
from autoaccel.hook.finder import install_hook


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m autoaccel",
        allow_abbrev=False,
        description="Run a Python program with its hot numeric functions compiled by Numba "
        "when that gives the same answers faster.",
        epilog="Without a config file the script's own functions are accelerated. "
        "AUTOACCEL_DISABLE=1 runs the program as plain Python.",
    )
    parser.add_argument(
        "--config",
        type=Path,
        metavar="FILE",
        help="configuration file (overrides discovery and AUTOACCEL_CONFIG)",
    )
    parser.add_argument(
        "--report",
        action="store_true",
        default=None,
        help="print a table of decisions on stderr at exit",
    )
    parser.add_argument(
        "--report-json", metavar="FILE", help="write the decisions as JSON to FILE at exit"
    )
    parser.add_argument(
        "--report-html",
        metavar="FILE",
        help="write the report as a self-contained HTML page to FILE at exit",
    )
    parser.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="log each decision (compile, promote, reject) on stderr",
    )
    parser.add_argument("--version", action="version", version=f"autoaccel {__version__}")
    # Used by autoaccel itself to re-run a child's script (autoaccel/hook/children.py).
    parser.add_argument(children.CHILD_OPTION, action="store_true", help=argparse.SUPPRESS)
    parser.add_argument(
        "-m", dest="module", metavar="MODULE", help="run library module MODULE as a script"
    )
    parser.add_argument("target", nargs="?", help="the script to run (omit with -m)")
    parser.add_argument("args", nargs=argparse.REMAINDER, help="arguments passed to the program")
    return parser


def _split_argv(argv: list[str]) -> tuple[list[str], list[str]]:
    """Options for autoaccel, then the program's own argv (after the script or -m MODULE)."""
    options_taking_value = {"--config", "--report-json", "--report-html", "-m"}
    index = 0
    while index < len(argv):
        arg = argv[index]
        if arg == "-m":
            return argv[: index + 2], argv[index + 2 :]
        if arg.startswith("-m") and not arg.startswith("--"):  # -mMODULE, as python accepts
            return argv[: index + 1], argv[index + 1 :]
        if arg in options_taking_value:
            index += 2
        elif arg.startswith("-"):
            index += 1
        else:
            return argv[: index + 1], argv[index + 1 :]
    return argv, []


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit status the program would have under plain Python."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:1] == ["cache"]:  # a subcommand; run a script named "cache" as ./cache
        return cache_cli.main(arguments[1:])
    own, program_args = _split_argv(arguments)
    parser = _parser()
    options = parser.parse_args(own)
    if (options.module is None) == (options.target is None):
        parser.error("give exactly one of: a script path, or -m MODULE")
    if options.verbose:
        logging.basicConfig(format="autoaccel: %(message)s")
        logging.getLogger("autoaccel").setLevel(logging.INFO)
    try:
        config = _configuration(options)
    except ConfigError as exc:
        print(f"autoaccel: error: {exc}", file=sys.stderr)
        return 2
    installation = install_hook(config)
    children.prepare_children(config)
    try:
        if options.module:
            runner.run_module(options.module, program_args, config, installation.finder)
        else:
            runner.run_path(options.target, program_args, config, installation.finder)
    except SystemExit:
        raise
    except FileNotFoundError as exc:
        if options.target and os.path.abspath(str(exc.filename)) == os.path.abspath(options.target):
            print(
                f"{sys.executable}: can't open file {options.target!r}: [Errno {exc.errno}] {exc.strerror}",
                file=sys.stderr,
            )
            return 2
        _print_uncaught(exc)
        return 1
    except BaseException as exc:  # the program's own uncaught error, shown as Python would
        _print_uncaught(exc)
        return 130 if isinstance(exc, KeyboardInterrupt) else 1
    return 0


def _configuration(options: argparse.Namespace) -> Config:
    """The configuration for this run: the parent's in a child, else discovered and loaded.

    Raises:
        ConfigError: the configuration is invalid.
    """
    if options.child:
        return children.child_config() or Config(enabled=False)
    search = [Path(options.target).resolve().parent] if options.target else []
    overrides = {
        "report": options.report,
        "report_json": options.report_json,
        "report_html": options.report_html,
    }
    return load_config(
        config_file=options.config,
        search_from=[*search, Path.cwd()],
        overrides={k: v for k, v in overrides.items() if v is not None},
        default_modules=("__main__",),
    )


def _print_uncaught(exc: BaseException) -> None:
    shown = runner.user_exception(exc)
    sys.excepthook(type(shown), shown, shown.__traceback__)
