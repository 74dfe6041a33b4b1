"""Errors autoaccel raises to its users, and the warnings it gives them.

Acceleration failures are never raised: they are recorded as a rejection reason and the plain
function keeps running. Only bad input from the user (a broken configuration) is an error.
"""

from __future__ import annotations

import os
import sys
import types
import warnings


class AutoaccelError(Exception):
    """Base class of every error autoaccel raises on purpose."""


class ConfigError(AutoaccelError):
    """A configuration file, key or value is invalid.

    The message names the file (or environment variable), the key and the offending value,
    and says what would be accepted.
    """


class CacheWarning(UserWarning):
    """The cache directory cannot be used (unsafe permissions, not creatable).

    The program then runs without a persistent cache; the message names the directory and
    what to do about it.
    """


class Deoptimize(Exception):
    """Raised inside compiled code when Numba's answer could differ from CPython's.

    Internal: the checked operations (:mod:`autoaccel.backends.checked_ops`) raise it, and the
    trampoline answers by running the original function on the same call. It never reaches
    the user's program.
    """


class Rejection(Exception):
    """A variant cannot be built or used; ``str(exc)`` is the reason for the report.

    Internal: raised by the back-ends and the promotion policy, caught by the runtime, which
    records the reason and keeps running the original function. It never reaches the user.
    """


def with_article(noun: str) -> str:
    """``noun`` after the indefinite article a reader expects: "an int64", "a uint8".

    Reasons name types ("takes an Array2D argument"), so the article follows the sound of
    the name's start: a vowel letter, or "nd" ("an ndarray", read "en-dee"); "u" read as
    "you" ("uint8", "UniTuple", "unicode") takes "a".
    """
    lower = noun.lower()
    you = lower.startswith(("uni", "uint", "usa", "use"))
    vowel = (lower[:1] in "aeiou" and not you) or lower.startswith("nd")
    return f"{'an' if vowel else 'a'} {noun}"


# Frames a warning must not point at: autoaccel's own, Numba's and llvmlite's (which run
# only on autoaccel's behalf), and the import system's and runpy's (which run the user's).
_STDLIB = os.path.dirname(os.__file__)
_NOT_USER_PREFIXES = (
    os.path.dirname(os.path.abspath(__file__)) + os.sep,
    os.path.join(_STDLIB, "importlib") + os.sep,
    os.path.join(_STDLIB, "runpy.py"),
    "<frozen ",
)


def engine_directories() -> tuple[str, ...]:
    """The directories of Numba and llvmlite, where loaded (else none of their code runs).

    Their frames run only on autoaccel's behalf: warnings and tracebacks leave them out.
    """
    modules = (sys.modules.get(name) for name in ("numba", "llvmlite"))
    files = (getattr(module, "__file__", None) for module in modules)
    return tuple(os.path.dirname(os.path.abspath(f)) + os.sep for f in files if f)


def _user_frame() -> types.FrameType | None:
    """The innermost frame of the user's code (not autoaccel's, Numba's, the importer's)."""
    skipped = (*_NOT_USER_PREFIXES, *engine_directories())
    frame: types.FrameType | None = sys._getframe(1)
    while frame is not None and frame.f_code.co_filename.startswith(skipped):
        frame = frame.f_back
    return frame


def warn(
    message: str, category: type[Warning] = UserWarning, filename: str = "", lineno: int = 0
) -> None:
    """Issue a warning that points at the user's code, never at autoaccel's own lines.

    Python's ``stacklevel`` counts frames, which differ from one caller to the next (an
    import, the command line, an exit handler), so the location is found instead: the
    given ``filename`` (a configuration file) and ``lineno``, else the innermost frame of
    the user's code, else ``autoaccel`` itself with no line (``warnings.warn_explicit``;
    Python 3.12's ``skip_file_prefixes`` does the same for ``warnings.warn``).

    Args:
        message: the text; it starts with ``autoaccel:`` unless it names a file itself.
        category: the warning class.
        filename: where the problem is, if it is in a file of the user's.
        lineno: its line in ``filename`` (1-based), or 0 when unknown.
    """
    frame = None if filename else _user_frame()
    if frame is not None:
        warnings.warn_explicit(
            message,
            category,
            frame.f_code.co_filename,
            frame.f_lineno,
            module=frame.f_globals.get("__name__", ""),
            registry=frame.f_globals.setdefault("__warningregistry__", {}),
            module_globals=frame.f_globals,
        )
    else:
        warnings.warn_explicit(message, category, filename or "autoaccel", lineno)
