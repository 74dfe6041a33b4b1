"""The Numba CPU back-end: build a variant for one signature of a trampolined function.

Why this design: Numba compiles a function together with everything it calls, but it cannot
call plain Python functions. So before compiling, the function's globals are screened (cheap,
no Numba import) and a private copy of its globals dict is made in which each helper from an
accelerated module is replaced by a Numba dispatcher built the same way, recursively. Numba
freezes every global it reads at compile time (catalogue row 27); the values it froze are kept
as a *snapshot* that the variant checks before each call. The variant is compiled explicitly
for one signature (``Dispatcher.compile``), so a compile error can never be mistaken for an
exception of the user's code. ``numba`` is imported only when the first variant is built.
"""

from __future__ import annotations

import contextlib
import dis
import re
import threading
import time
import types
import warnings
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

from autoaccel.backends.variant_code import checked_code
from autoaccel.config.options import JitOptions

if TYPE_CHECKING:
    from autoaccel.cache.variants import VariantStore
    from autoaccel.runtime.trampoline import Trampoline


class _Absent:
    """Marks a global name the module does not define (a builtin), with a stable repr."""

    def __repr__(self) -> str:
        return "<absent>"


_ABSENT = _Absent()
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_SAFE_MODULE_ROOTS = ("numpy", "math", "cmath", "numba", "operator")
_ALLOWED_DTYPE_KINDS = "biufc"

_BUSY = threading.local()
_compute_fingerprint: Any = None

# (owner, name, value Numba froze): the variant is valid while each entry holds. The owner
# is a globals dict (keyed by name), or an object whose attribute ``name`` is checked: a
# helper's ``__code__``, a read-only global array's ``flags.writeable``.
Snapshot = tuple[tuple[Any, str, Any], ...]


class Rejection(Exception):
    """A variant cannot be built or used; ``str(exc)`` is the reason for the report."""


def argument_refusal(args: tuple) -> str | None:
    """Why these argument values cannot be passed to a variant, or ``None``.

    Runs before Numba is imported. Accepted: bool, int, float, complex, NumPy numeric
    scalars, numeric NumPy arrays, and tuples of those.
    """
    for value in args:
        reason = _value_refusal(value)
        if reason:
            return reason
    return None


def _value_refusal(value: Any) -> str | None:
    if isinstance(value, (bool, int, float, complex)):
        return None
    if isinstance(value, np.ndarray):
        if value.dtype.kind in _ALLOWED_DTYPE_KINDS and not value.dtype.fields:
            return None
        return f"takes an array of dtype {value.dtype}, which is not numeric"
    if isinstance(value, (np.number, np.bool_)):
        return None
    if isinstance(value, tuple):
        return next(filter(None, map(_value_refusal, value)), None)
    if isinstance(value, list):
        return "takes a list (Numba converts it to a reflected list) [23]"
    return f"takes a {type(value).__name__} argument, which Numba cannot use exactly"


def global_names(code: types.CodeType) -> list[str]:
    """Names ``code`` loads with LOAD_GLOBAL, in first-use order, without repeats."""
    names = dict.fromkeys(
        ins.argval for ins in dis.get_instructions(code) if ins.opname == "LOAD_GLOBAL"
    )
    return list(names)


def _module_root(value: Any) -> str:
    return (getattr(value, "__module__", None) or "").split(".")[0]


def _global_refusal(name: str, value: Any) -> str | None:
    """Why global ``name`` = ``value`` cannot be frozen into a variant, or ``None``."""
    if isinstance(value, types.ModuleType):
        if value.__name__ in ("random", "numpy.random"):
            return f"draws random numbers through {name} (Numba has its own generator) [34]"
        return None
    if isinstance(value, (bool, int, float, complex, str, np.number, np.bool_, type(None))):
        return None
    if isinstance(value, np.ndarray):
        if value.flags.writeable:
            return f"reads global array {name}, which Numba would freeze as a constant [27]"
        return None
    if isinstance(value, tuple):
        return next(filter(None, (_global_refusal(name, item) for item in value)), None)
    if isinstance(value, (types.BuiltinFunctionType, np.ufunc)):
        return None
    if isinstance(value, type) and issubclass(value, (np.generic, bool, int, float, complex)):
        return None
    if _module_root(value) in _SAFE_MODULE_ROOTS:
        return None
    if isinstance(value, types.FunctionType):
        return f"calls {name}, a Python function outside the accelerated modules"
    return f"reads global {name} of type {type(value).__name__}, which Numba cannot freeze"


class Compiled:
    """Numba dispatchers over a trampolined function's original code.

    Attributes:
        dispatcher: the dispatcher other compiled functions call it through (as a helper);
            Numba compiles it for whatever types those callers pass.
        entry: the dispatcher the trampoline calls; compiled only explicitly, one signature
            at a time, and otherwise compile-disabled, so a call with other types raises
            ``TypeError`` instead of running unvalidated code.
        snapshot: every global the function or its helpers read, with the value Numba froze.
        validated: the signatures of ``entry`` that passed a trial and were promoted.
        compiling: ``True`` while ``entry`` accepts a new signature.
        written: positions of arguments some compiled signature may write (restored from
            copies when a call is handed back to the original).
        ambiguous_constants, ambiguous_arguments: what some signature may return as is,
            whose CPython type can differ from the unified one (see ``_typed_checks``).
        unambiguous: a result of this type needs no check against them (when there are
            only constants, all of this type), or ``None``.
    """

    __slots__ = (
        "ambiguous_arguments",
        "ambiguous_constants",
        "compiling",
        "dispatcher",
        "entry",
        "snapshot",
        "unambiguous",
        "validated",
        "written",
    )

    def __init__(
        self, function: types.FunctionType, options: JitOptions, snapshot: Snapshot
    ) -> None:
        self.dispatcher = _njit(function, options)
        self.entry = _njit(function, options)
        self.snapshot = snapshot
        # True while ``entry`` accepts new signatures: callers must not use it then, or
        # Numba could compile and run an unvalidated specialization for them.
        self.compiling = False
        self.validated: set[str] = set()  # signatures (as described) promoted after trial
        self.written: tuple[int, ...] = ()
        self.ambiguous_constants: tuple[Any, ...] = ()
        self.ambiguous_arguments: tuple[int, ...] = ()
        self.unambiguous: type | None = None

    def add_inspection(self, inspection: Any) -> None:
        """Widen the run-time guards with what one more compiled signature needs."""
        self.written = tuple(sorted({*self.written, *inspection.written}))
        self.ambiguous_constants = (*self.ambiguous_constants, *inspection.ambiguous_constants)
        self.ambiguous_arguments = tuple(
            sorted({*self.ambiguous_arguments, *inspection.ambiguous_arguments})
        )
        self.unambiguous = unambiguous_type(self.ambiguous_constants, self.ambiguous_arguments)

    def unvalidated(self) -> int:
        """How many signatures compiled into ``entry`` were not (yet) validated."""
        return len(self.entry.signatures) - len(self.validated)


def unambiguous_type(constants: tuple, arguments: tuple[int, ...]) -> type | None:
    """The one result type that ``constants`` cannot make ambiguous, or ``None``.

    A returned value is ambiguous only when it equals a constant of another type, so if
    every constant has the same type (and no argument can be returned as is), a result of
    that type needs no comparison: a promoted float kernel returning 0.0 pays nothing.
    """
    kinds = {type(constant) for constant in constants}
    return kinds.pop() if len(kinds) == 1 and not arguments else None


class _Flags:
    """A live view of an array's ``writeable`` flag (``ndarray.flags`` is a copy)."""

    __slots__ = ("array",)

    def __init__(self, array: np.ndarray) -> None:
        self.array = array

    @property
    def writeable(self) -> bool:
        return bool(self.array.flags.writeable)


def snapshot_changed(snapshot: Snapshot) -> str | None:
    """The first global whose value differs from the frozen one, or ``None`` if all hold."""
    for owner, name, value in snapshot:
        current = owner.get(name, _ABSENT) if type(owner) is dict else getattr(owner, name)
        if current is not value:
            return name
    return None


def snapshot_guard(snapshot: Snapshot) -> Callable[[], bool] | None:
    """A function of no arguments that is ``True`` once a global of ``snapshot`` changed.

    :func:`snapshot_changed` unrolled into one expression, as ``dataclasses`` generates its
    methods: every promoted call runs it, and the loop costs ~110 ns for one global where
    this costs ~50. ``None`` for an empty snapshot, which nothing can invalidate.
    """
    if not snapshot:
        return None
    checks, defaults = [], {"absent": _ABSENT}
    for i, (owner, name, value) in enumerate(snapshot):
        defaults[f"o{i}"], defaults[f"v{i}"] = owner, value
        read = f"o{i}.get({name!r}, absent)" if type(owner) is dict else f"getattr(o{i}, {name!r})"
        checks.append(f"{read} is not v{i}")
    parameters = ", ".join(f"{key}={key}" for key in defaults)
    namespace: dict = {}
    exec(f"def stale({parameters}):\n    return {' or '.join(checks)}", defaults, namespace)
    return namespace["stale"]


def globals_refusal(trampoline: Trampoline, lookup: Any, active: tuple = ()) -> str | None:
    """Why a global that the function or one of its helpers reads rules out a variant.

    Decided without importing Numba, so that a program whose hot functions all read, say,
    a class never pays for Numba's import (0.3 s, and tens of thousands of objects that
    every full garbage collection then traverses). ``lookup`` is as for :func:`build`;
    ``None`` means every global can be frozen.
    """
    if trampoline in active:
        return "is recursive through its helpers [30]"
    for name in global_names(trampoline.code):
        value = trampoline.globals.get(name, _ABSENT)
        if value is _ABSENT:
            continue  # the refused builtins were caught by the static guards
        helper = lookup(value) if isinstance(value, types.FunctionType) else None
        if helper is not None and helper.refusal:
            reason: str | None = f"calls {name}, which cannot be compiled: {helper.refusal}"
        elif helper is not None:
            reason = globals_refusal(helper, lookup, (*active, trampoline))
        else:
            reason = _global_refusal(name, value)
        if reason:
            return reason
    return None


def build(trampoline: Trampoline, options: JitOptions, lookup: Any, active: tuple = ()) -> Compiled:
    """A dispatcher for ``trampoline``'s function with helpers resolved, reusing a valid one.

    Args:
        trampoline: the function's trampoline (original code, globals, static reason).
        options: ``numba.njit`` options.
        lookup: ``lookup(function) -> Trampoline | None`` for helper functions.
        active: trampolines being built up the call chain (mutual recursion is refused).

    Raises:
        Rejection: a global cannot be frozen, or a helper cannot be compiled.
    """
    cached = trampoline.compiled
    if cached is not None and snapshot_changed(cached.snapshot) is None:
        return cached
    if trampoline in active:
        raise Rejection("is recursive through its helpers [30]")
    reason = globals_refusal(trampoline, lookup)
    if reason:
        raise Rejection(reason)
    namespace = trampoline.globals
    overlay = dict(namespace)
    entries: list[tuple[Any, str, Any]] = []
    for name in global_names(trampoline.code):
        value = namespace.get(name, _ABSENT)
        # A builtin is recorded as absent: a module global of that name later shadows it.
        entries.append((namespace, name, value))
        if value is _ABSENT:
            continue  # the refused builtins were caught by the static guards
        helper = lookup(value) if isinstance(value, types.FunctionType) else None
        if helper is not None:
            compiled = build(helper, options, lookup, (*active, trampoline))
            overlay[name] = compiled.dispatcher
            entries.append((value, "__code__", value.__code__))
            entries.extend(compiled.snapshot)
        elif isinstance(value, np.ndarray):
            entries.append((_Flags(value), "writeable", False))
    code, stand_ins = checked_code(trampoline.code, namespace)
    overlay.update(stand_ins)
    function = types.FunctionType(code, overlay, trampoline.code.co_name)
    trampoline.compiled = Compiled(function, options, tuple(entries))
    return trampoline.compiled


@contextlib.contextmanager
def compiling() -> Iterator[None]:
    """Marks this thread as compiling, so the import hook leaves Numba's own imports alone."""
    _BUSY.active = True
    try:
        yield
    finally:
        _BUSY.active = False


def is_compiling() -> bool:
    """Whether this thread is inside :func:`compiling`."""
    return getattr(_BUSY, "active", False)


def load_numba() -> None:
    """Import Numba and its fingerprint function (about 0.3 s the first time)."""
    global _compute_fingerprint
    from numba._dispatcher import compute_fingerprint

    _compute_fingerprint = compute_fingerprint


def numba_loaded() -> bool:
    """Whether :func:`load_numba` has completed in this process."""
    return _compute_fingerprint is not None


def _njit(function: types.FunctionType, options: JitOptions) -> Any:
    import numba

    return numba.njit(
        fastmath=options.fastmath,
        parallel=options.parallel,
        boundscheck=options.boundscheck,
        nogil=options.nogil,
    )(function)


def numba_signature(args: tuple) -> tuple:
    """Numba's types for ``args`` (``numba.typeof`` of each).

    Raises:
        Rejection: a value has no Numba type (e.g. an int beyond 64 bits).
    """
    import numba

    try:
        return tuple(numba.typeof(value) for value in args)
    except (ValueError, TypeError, OverflowError) as exc:
        raise Rejection(f"an argument has no Numba type: {exc}") from None


def parse_signature(text: str) -> tuple:
    """The argument types of a Numba signature string (``"float64[:](float64[:], int64)"``).

    The return type, if any, is not used: autoaccel infers it and compares results with
    the original's.

    Raises:
        ValueError: the text is not a Numba signature (the message says why).
    """
    from numba.core import sigutils

    try:
        arguments, _ = sigutils.normalize_signature(text)
    except Exception as exc:  # NameError, TypeError, SyntaxError from evaluating the text
        raise ValueError(f"{text!r} is not a Numba signature: {exc}") from None
    return tuple(arguments)


def python_types(signature: tuple) -> tuple[type, ...]:
    """The Python argument types whose calls ``signature`` (Numba types) is made for.

    ``float64`` is taken for a Python ``float``, ``int64`` for an ``int``, ``boolean`` for a
    ``bool``, ``complex128`` for a ``complex``, other scalars for the NumPy scalar type of
    that name, arrays for ``numpy.ndarray`` and tuples for ``tuple``.

    Raises:
        ValueError: a type no argument autoaccel compiles for has (a str, a list...).
    """
    from numba.core import types as nbtypes

    python = {nbtypes.float64: float, nbtypes.int64: int, nbtypes.boolean: bool}
    python[nbtypes.complex128] = complex
    result: list[type] = []
    for kind in signature:
        if isinstance(kind, nbtypes.Array):
            result.append(np.ndarray)
        elif isinstance(kind, nbtypes.BaseTuple):
            result.append(tuple)
        elif kind in python:
            result.append(python[kind])
        else:
            scalar = getattr(np, str(kind), None)
            if not (isinstance(scalar, type) and issubclass(scalar, np.generic)):
                raise ValueError(f"{kind} is not a type autoaccel passes to Numba")
            result.append(scalar)
    return tuple(result)


def accepting(declared: Iterable[tuple], actual: tuple) -> tuple | None:
    """The first ``declared`` signature Numba would run ``actual`` (Numba types) with as is.

    Equal types, or arrays of the same dtype, ndim and writability where the declared one
    has any layout (``float64[:]``); no numeric conversion, which could change results.
    """
    for signature in declared:
        if len(signature) == len(actual) and all(map(_accepts, signature, actual)):
            return signature
    return None


def _accepts(declared: Any, actual: Any) -> bool:
    if declared == actual:
        return True
    from numba.core import types as nbtypes

    return (
        isinstance(declared, nbtypes.Array)
        and isinstance(actual, nbtypes.Array)
        and declared.layout == "A"
        and (declared.dtype, declared.ndim, declared.mutable)
        == (actual.dtype, actual.ndim, actual.mutable)
    )


def summarize_error(exc: BaseException) -> str:
    """The first informative line of a Numba error, for the report (at most 200 chars)."""
    lines = [line.strip() for line in _ANSI.sub("", str(exc)).splitlines()]
    useful = [line for line in lines if line and not line.startswith(("Failed in", "During:"))]
    text = useful[0] if useful else type(exc).__name__
    return text if len(text) <= 200 else text[:197] + "..."


def compile_signature(
    compiled: Compiled, signature: tuple, store: VariantStore | None = None
) -> tuple[float, bool]:
    """Compile ``compiled.entry`` for exactly ``signature`` and inspect it.

    With a ``store``, a variant compiled before (same key) is loaded from disk with its
    saved inspection instead of compiled, a saved refusal is raised again without
    compiling, and a fresh compile's outcome is saved.

    Returns:
        ``(seconds, from_cache)``: the time taken (compile or load, seconds) and whether
        Numba loaded the code from the cache.

    Raises:
        Rejection: Numba refused the function for these types (reason summarized), or the
            typed IR shows an operation whose result would differ (``_typed_checks``).
    """
    from autoaccel.backends import checked_ops, typed_checks

    start = time.perf_counter()
    saved = store.outcome() if store is not None else None
    if saved is not None and saved.refusal:
        raise Rejection(saved.refusal)
    entry = compiled.entry
    compiled.compiling = True
    checked_ops.refusals.clear()
    previous_cache = entry._cache
    if saved is not None and store is not None:
        entry._cache = store.numba_cache(entry.py_func)
    try:
        entry.disable_compile(False)
        entry.compile(signature)
    except Exception as exc:  # any Numba failure means "stay plain Python"
        reason = (
            checked_ops.refusals[-1]
            if checked_ops.refusals
            else f"Numba cannot compile it: {summarize_error(exc)}"
        )
        _save_outcome(store, typed_checks.Inspection(refusal=reason), None, signature)
        raise Rejection(reason) from None
    finally:
        entry._cache = previous_cache
        if entry.signatures:  # Numba asserts there is one before compiling can be disabled
            entry.disable_compile()
        compiled.compiling = False
    from_cache = saved is not None and entry._cache_hits[signature] > 0
    inspection = saved or typed_checks.inspect_variant(entry, signature)
    if saved is None:
        _save_outcome(store, inspection, entry, signature)
    if inspection.refusal:
        raise Rejection(inspection.refusal)
    compiled.add_inspection(inspection)
    return time.perf_counter() - start, from_cache


def compile_derived(
    base: Compiled,
    options: JitOptions,
    signature: tuple,
    renames: dict[str, tuple[str, Any]],
    store: VariantStore | None = None,
) -> tuple[Compiled, bool]:
    """A variant of ``base``'s code with other ``options``, compiled for ``signature`` only.

    Used for the ``parallel`` target (:mod:`autoaccel.policy.targets`): the code, its helpers and
    its frozen globals are ``base``'s, except that each global ``name`` in ``renames`` is
    read under ``new_name`` and bound to ``value`` (``renames[name] = (new_name, value)``:
    ``range`` becomes ``numba.prange`` for an elementwise loop; Numba refuses a global
    that shadows a builtin, hence the new name). ``base`` was compiled and inspected for
    ``signature`` already, so its run-time guards (written arguments, ambiguous returns)
    are taken over rather than inspected again. With a ``store``, code compiled before is
    loaded from it, and fresh code is saved there.

    Returns:
        ``(compiled, from_cache)``: the variant and whether its code came from ``store``.

    Raises:
        Rejection: Numba cannot compile it with these options.
    """
    from numba.core.errors import NumbaPerformanceWarning

    function = base.entry.py_func
    if renames:
        code = function.__code__
        names = tuple(renames[n][0] if n in renames else n for n in code.co_names)
        namespace = {**function.__globals__, **dict(renames.values())}
        function = types.FunctionType(code.replace(co_names=names), namespace, function.__name__)
    compiled = Compiled(function, options, base.snapshot)
    entry = compiled.entry
    previous_cache = entry._cache
    if store is not None:
        # Numba's compile loads from this cache, or compiles and saves into it.
        entry._cache = store.numba_cache(function)
    try:
        with warnings.catch_warnings():
            # "parallel=True was specified but no transformation ... was possible" is
            # what the measurement will show; the user need not see it.
            warnings.simplefilter("ignore", NumbaPerformanceWarning)
            entry.compile(signature)
    except Exception as exc:  # any Numba failure means "not this target"
        raise Rejection(f"Numba cannot compile it: {summarize_error(exc)}") from None
    finally:
        entry._cache = previous_cache
        if entry.signatures:
            entry.disable_compile()
    compiled.written = base.written
    compiled.ambiguous_constants = base.ambiguous_constants
    compiled.ambiguous_arguments = base.ambiguous_arguments
    compiled.unambiguous = base.unambiguous
    return compiled, entry._cache_hits[signature] > 0


def _save_outcome(
    store: VariantStore | None, inspection: Any, entry: Any, signature: tuple
) -> None:
    """Keep a fresh compile's outcome, and its code when it may run, for later runs."""
    if store is None:
        return
    store.save_outcome(inspection)
    if entry is not None and not inspection.refusal:
        store.numba_cache(entry.py_func).save_overload(signature, entry.overloads[signature])


def describe(signature: Iterable[Any]) -> str:
    """``"(float64[::1], int64)"``-style text for a Numba signature."""
    return "(" + ", ".join(map(str, signature)) + ")"


def fingerprint(args: tuple) -> tuple:
    """Per-argument type fingerprints as Numba's C dispatcher computes them.

    Arrays differ by dtype, ndim, layout and writability. Values Numba cannot fingerprint
    (e.g. str) fall back to their Numba type. Called only for hot signatures, so
    Numba is imported at the first call.
    """
    if _compute_fingerprint is None:
        load_numba()
    try:
        return tuple(map(_compute_fingerprint, args))
    except (NotImplementedError, ValueError, OverflowError):
        return tuple(_fallback_fingerprint(value) for value in args)


def _fallback_fingerprint(value: Any) -> Any:
    import numba

    try:
        return numba.typeof(value)
    except Exception:  # no Numba type: the key just has to be stable and hashable
        return type(value)
