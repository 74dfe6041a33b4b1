"""The explicit API's decorator: ``@optimize`` accelerates one function without the import hook.

Why this design: a program that prefers opt-in to the import hook decorates the functions
it wants accelerated, and gets the hook's engine unchanged: the same static guards, a
:class:`~autoaccel.runtime.trampoline.Trampoline` whose prologue is spliced into a copy of the
function's code by :func:`~autoaccel.rewrite.prologue.insert_prologue` (so the decorated function
is a plain function, not a wrapper, and costs what a rewritten one costs), and the same
report. The decorator's keywords are arguments in the precedence of
:func:`~autoaccel.config.loading.load_config`: they win over the file and the environment, for that
function only (:func:`~autoaccel.config.parsing.with_function_arguments`).

A function that has a trampoline already (the hook rewrote its module, or it is an
``@optimize`` result) is returned unchanged, never wrapped twice: its trampoline takes the
keywords instead, provided it has counted no call yet (as right after its ``def``).
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import logging
import os
import types
from collections.abc import Callable
from typing import Any, TypeVar

from autoaccel.analysis.guards import reassigned_globals, static_refusal
from autoaccel.config import (
    Config,
    parse_function_arguments,
    with_function_arguments,
)
from autoaccel.errors import ConfigError, warn
from autoaccel.hook.finder import active_config, config_in_force
from autoaccel.report.text import report_at_exit
from autoaccel.rewrite.prologue import insert_prologue
from autoaccel.runtime.registry import lookup, register
from autoaccel.runtime.table import variant_table
from autoaccel.runtime.trampoline import Trampoline
from autoaccel.runtime.variant import MISS
from autoaccel.state import STATE

logger = logging.getLogger("autoaccel")

F = TypeVar("F", bound=Callable[..., Any])

_WHERE = "@autoaccel.optimize()"
DISABLED = "disabled by @optimize(jit=False)"
KEYWORDS = (
    "jit",
    "specialize",
    "profile",
    "cache",
    "parallel",
    "nogil",
    "fastmath",
    "min_calls",
    "min_gain",
    "target",
    "rtol",
    "atol",
)


class ExplicitTrampoline(Trampoline):
    """A trampoline made by :func:`optimize` (the hook makes plain :class:`Trampoline`\\ s)."""


def optimize(
    function: F | None = None,
    /,
    *,
    jit: bool | None = None,
    specialize: bool | None = None,
    profile: bool = True,
    cache: bool | None = None,
    parallel: bool | None = None,
    nogil: bool | None = None,
    fastmath: bool | None = None,
    min_calls: int | None = None,
    min_gain: float | None = None,
    target: str | list[str] | tuple[str, ...] | None = None,
    rtol: float | None = None,
    atol: float | None = None,
    **unknown: Any,
) -> Any:
    """Accelerate one function: ``@optimize`` or ``@optimize(min_calls=5, ...)``.

    The function gets what the import hook gives a function of a selected module: calls are
    counted per argument types, a hot signature is compiled with Numba, validated against
    the original on real calls and promoted only if it gives the same answers at least
    ``min_gain`` times faster; the report (``autoaccel.stats()``, ``--report``) lists it.
    Settings come from the configuration in force (the installed hook's, else the file
    discovered from the script's directory and the working directory), with the keywords
    given on top; ``None`` keeps the configuration's value.

    Args:
        function: the function (when used as ``@optimize`` without parentheses).
        jit: ``False`` never compiles it (the report says "disabled by
            @optimize(jit=False)"); ``True`` compiles it even where the configuration
            disables it.
        specialize: value specialization for this function (docs/specialization.md):
            ``True`` on, ``False`` off; ``None`` as ``[specialization] values`` says.
        profile: list it in ``autoaccel.stats()`` and the report (default); ``False``
            leaves it out of both. Its calls are still counted and timed: a variant is
            promoted on measurements only.
        cache: keep its compiled variants and decisions on disk for later runs.
        parallel, nogil, fastmath: ``numba.njit`` options for its variants (``[jit]``).
        min_calls: calls with one argument-type signature before a variant is tried (>= 1).
        min_gain: speed-up (original time / variant time) a variant must reach (>= 0).
        target: ``"cpu"``, ``"parallel"``, ``"cuda"`` or a list of them that compete
            (docs/targets.md); ``parallel`` and ``cuda`` are validated within ``rtol`` and
            ``atol`` (both 0.0, exact, unless given).
        rtol, atol: relative and absolute tolerance for ``parallel``/``cuda`` variants.

    Returns:
        A new function with the same name, qualname, docstring, module, defaults and
        signature (``__wrapped__`` is the original), or the original itself when it will
        never be compiled (a static guard refuses it, ``jit=False``, ``AUTOACCEL_DISABLE``)
        or has a trampoline already (its module is rewritten by the import hook, or it is
        decorated already): that trampoline then takes the keywords, unless it has counted
        calls (a warning says so). With keywords only, a decorator.

    Raises:
        TypeError: an unknown keyword (the message lists the accepted ones), or something
            that is not a function defined with ``def`` is decorated.
        ConfigError: a keyword has a wrong type or value; the message names it.
    """
    if unknown:
        raise TypeError(_unknown_keyword_message(next(iter(unknown))))
    if not isinstance(profile, bool):
        raise ConfigError(f"{_WHERE}: keyword 'profile' must be bool, got {profile!r}")
    jit_options = {"parallel": parallel, "nogil": nogil, "fastmath": fastmath}
    arguments = {
        "enabled": jit,
        "specialize": specialize,
        "cache": cache,
        "jit": {k: v for k, v in jit_options.items() if v is not None} or None,
        "min_calls": min_calls,
        "min_gain": min_gain,
        "targets": [target] if isinstance(target, str) else target,
        "rtol": rtol,
        "atol": atol,
    }
    given = {
        k: list(v) if isinstance(v, tuple) else v for k, v in arguments.items() if v is not None
    }
    request = _Request(_parse(given), repr((sorted(given.items()), profile)), profile, given)

    def decorate(function: F) -> F:
        return _accelerate(function, request)

    return decorate if function is None else decorate(function)


@dataclasses.dataclass(frozen=True, eq=False)
class _Request:
    """One ``@optimize(...)``: its validated keywords, and the key its decorations share."""

    parsed: dict[str, Any]
    key: str
    profile: bool
    given: dict[str, Any]


def _parse(given: dict[str, Any]) -> dict[str, Any]:
    """:func:`parse_function_arguments` of the keywords, its errors in the keywords' names."""
    try:
        return parse_function_arguments(_WHERE, given)
    except ConfigError as exc:
        message = str(exc).replace(f"{_WHERE} [jit]:", f"{_WHERE}:")
        raise in_keywords(message, {"enabled": "jit", "targets": "target"}) from None


def in_keywords(message: str, keywords: dict[str, str]) -> ConfigError:
    """A :class:`ConfigError` whose message names keywords where ``message`` names keys."""
    for key, keyword in keywords.items():
        message = message.replace(f"key '{key}'", f"key '{keyword}'")
    return ConfigError(message.replace(": key '", ": keyword '"))


def _unknown_keyword_message(name: str) -> str:
    close = difflib.get_close_matches(name, KEYWORDS, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return (
        f"{_WHERE} got an unknown keyword {name!r}{hint}; it accepts {', '.join(KEYWORDS)}. "
        "Other settings go in the configuration file (docs/api.md)."
    )


def _accelerate(function: Any, request: _Request) -> Any:
    """``function`` with a trampoline, or unchanged when it is never to be compiled."""
    if isinstance(function, (staticmethod, classmethod)):
        return type(function)(_accelerate(function.__func__, request))
    if not isinstance(function, types.FunctionType):
        raise TypeError(
            f"{_WHERE} decorates functions defined with def, not {type(function).__name__} objects"
        )
    existing = lookup(function)
    if existing is not None and _rewritten(function, existing):
        _apply(existing, request)
        return function
    code = _decorated_code(function, request)
    return function if code is None else _function_like(function, code)


def _apply(trampoline: Trampoline, request: _Request) -> None:
    """The keywords on a function that has its trampoline (the hook's, or ours) already."""
    if not request.given and request.profile:
        return  # a bare @optimize changes nothing
    config, refusal = _function_config(trampoline.config, trampoline.name, request)
    if trampoline.reconfigure(config, refusal):
        trampoline.reported = request.profile
        return
    warn(
        f"autoaccel: {trampoline.name} has counted calls already, so these @optimize "
        "keywords are ignored; decorate it where it is defined"
    )


def _rewritten(function: types.FunctionType, trampoline: Trampoline) -> bool:
    """Whether ``function`` is the hook's, or an ``@optimize`` result, not an original."""
    return not isinstance(trampoline, ExplicitTrampoline) or any(
        const is trampoline for const in function.__code__.co_consts
    )


def _decorated_code(function: types.FunctionType, request: _Request) -> types.CodeType | None:
    """The code with the prologue, made once per code, globals and keywords; ``None``: plain."""
    key = (function.__code__, request.key)
    # Decorated code by (original code, keywords), so a function decorated again (a nested
    # ``def`` runs its decorator on every call of its parent) shares one trampoline.
    made = STATE.decorated.get(key)
    if made is not None and made[0] is function.__globals__:
        return made[1]
    trampoline = _new_trampoline(function, request)
    if trampoline is None:
        return None  # autoaccel is disabled
    code = None if trampoline.refusal else insert_prologue(function.__code__, trampoline, MISS)
    STATE.decorated[key] = (function.__globals__, code)
    return code


def _new_trampoline(function: types.FunctionType, request: _Request) -> ExplicitTrampoline | None:
    """A new trampoline for ``function`` under its configuration, statically checked and
    registered (so the report lists it), or ``None`` when autoaccel is disabled."""
    installed = active_config()
    base = installed or config_in_force()
    if installed is None:
        report_at_exit(base)  # an installed hook schedules its own
    if not base.enabled:
        return None
    variant_table().adopt(base.specialization)
    code = function.__code__
    module = function.__globals__.get("__name__") or function.__module__ or "__main__"
    qualname = getattr(code, "co_qualname", function.__qualname__)  # 3.10: no co_qualname
    config, refusal = _function_config(base, f"{module}.{qualname}", request)
    refusal = refusal or static_refusal(code, _reassigned(function))
    trampoline = ExplicitTrampoline(
        module, code, function.__globals__, config, refusal, qualname=qualname
    )
    trampoline.reported = request.profile
    register([trampoline])
    if trampoline.refusal:
        logger.info("%s: not accelerated, %s", trampoline.name, trampoline.refusal)
    return trampoline


def _function_config(base: Config, name: str, request: _Request) -> tuple[Config, str | None]:
    """Function ``name``'s configuration, and :data:`DISABLED` for ``jit=False``."""
    own = dict(request.parsed["function"])
    disabled = own.pop("enabled", None) is False  # reported as such, not as the file's
    config = with_function_arguments(base, name, {**request.parsed, "function": own})
    return config, DISABLED if disabled else None


def _function_like(function: types.FunctionType, code: types.CodeType) -> types.FunctionType:
    """A new function of ``code`` with ``function``'s globals, defaults and metadata."""
    new = types.FunctionType(
        code, function.__globals__, function.__name__, function.__defaults__, function.__closure__
    )
    new.__kwdefaults__ = dict(function.__kwdefaults__) if function.__kwdefaults__ else None
    functools.update_wrapper(new, function)
    return new


def _reassigned(function: types.FunctionType) -> frozenset[str]:
    """The globals its module reassigns, read from the module's file.

    A static guard (docs/divergences.md, row 27).

    The hook reads them from the module's code; a decorator runs while that code runs, so it
    compiles the source file instead. Without one (an interactive session, ``exec``) the set
    is empty, and the run-time check of frozen globals still drops a variant whose globals
    change.
    """
    filename = function.__globals__.get("__file__")
    if not isinstance(filename, str) or not filename.endswith(".py"):
        return frozenset()
    try:
        status = os.stat(filename)
    except OSError:
        return frozenset()
    return _reassigned_in(filename, status.st_mtime_ns, status.st_size)


@functools.lru_cache(maxsize=64)
def _reassigned_in(filename: str, mtime_ns: int, size: int) -> frozenset[str]:
    """:func:`reassigned_globals` of a source file (cached per version of the file)."""
    try:
        with open(filename, "rb") as handle:
            return reassigned_globals(compile(handle.read(), filename, "exec", dont_inherit=True))
    except (OSError, SyntaxError, ValueError):
        return frozenset()
