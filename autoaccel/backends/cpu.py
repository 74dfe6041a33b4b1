"""The Numba CPU back-end: build a variant for one signature of a trampolined function.

Why this design: Numba compiles a function together with everything it calls, but it cannot
call plain Python functions. So before compiling, the function's globals are screened (cheap,
no Numba import) and a private copy of its globals dict is made in which each helper from an
accelerated module is replaced by a Numba dispatcher built the same way, recursively. Numba
freezes every global it reads at compile time (docs/divergences.md, row 27); the values it
froze are kept as a *snapshot* that the variant checks before each call. The variant is
compiled explicitly for one signature (``Dispatcher.compile``), so a compile error can never
be mistaken for an exception of the user's code. ``numba`` is imported only when the first
variant is built.
"""

from __future__ import annotations

import contextlib
import dataclasses
import dis
import logging
import re
import sys
import threading
import time
import types
import warnings
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from autoaccel.backends import budget, interrupts, recursion
from autoaccel.backends.screening import (
    Lookup,
    Unit,
    forwarded,
    globals_refusal,
    helpers,
    namespace_uses,
)
from autoaccel.backends.signatures import describe, numba_signature
from autoaccel.backends.snapshot import Flags, Snapshot, reached_through, snapshot_changed
from autoaccel.backends.variant_code import checked_code
from autoaccel.config import JitOptions
from autoaccel.errors import Rejection
from autoaccel.lazy_numpy import np

if TYPE_CHECKING:
    from autoaccel.cache.variants import VariantStore

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
logger = logging.getLogger("autoaccel")
_BUSY = threading.local()


@dataclasses.dataclass(frozen=True)
class Guards:
    """The run-time guards a variant's calls need, from the typed-IR inspection.

    Attributes:
        written: positions of arguments some compiled signature may write.
        copied: those a hand-back can follow: copied before each promoted call and restored
            from the copies when the call is handed back to the original.
        ambiguous_constants, ambiguous_arguments: what some signature may return as is,
            whose CPython type can differ from the unified one (see ``typed_checks``).
        unambiguous: a result of this type needs no check against them (when there are
            only constants, all of this type), or ``None``.
        shared_constants, shared_arguments: those of them returned where something else
            may be returned too: a trial learns no result type from a call returning one
            (:meth:`autoaccel.policy.trial.Trial.compare`).
    """

    written: tuple[int, ...] = ()
    copied: tuple[int, ...] = ()
    ambiguous_constants: tuple[Any, ...] = ()
    ambiguous_arguments: tuple[int, ...] = ()
    unambiguous: type | None = None
    shared_constants: tuple[Any, ...] = ()
    shared_arguments: tuple[int, ...] = ()

    def widened(self, inspection: Any) -> Guards:
        """These guards and what one more compiled signature (its ``Inspection``) needs."""
        constants = (*self.ambiguous_constants, *inspection.ambiguous_constants)
        arguments = tuple(sorted({*self.ambiguous_arguments, *inspection.ambiguous_arguments}))
        written = {*self.written, *inspection.written}
        copied = inspection.written if inspection.copied is None else inspection.copied
        if constants or arguments:  # a result handed back for its type comes after writes
            copied = written
        return Guards(
            tuple(sorted(written)),
            tuple(sorted({*self.copied, *copied})),
            constants,
            arguments,
            unambiguous_type(constants, arguments),
            (*self.shared_constants, *inspection.shared_constants),
            tuple(sorted({*self.shared_arguments, *inspection.shared_arguments})),
        )


class Compiled:
    """Numba dispatchers over a trampolined function's original code.

    Attributes:
        dispatcher: the dispatcher other compiled functions call it through (as a helper).
            A small helper that indexes is inlined into them at the IR level
            (``inline="always"``, :func:`_inlined`), so the range analysis sees its indices in
            its caller's loops, and a guard before the caller's loop replaces the helper's own
            on every call (docs/correctness.md); others are left to LLVM's inlining.
        entry: the dispatcher the trampoline calls; compiled only explicitly, one signature
            at a time, and otherwise compile-disabled, so a call with other types raises
            ``TypeError`` instead of running unvalidated code.
        snapshot: every global the function or its helpers read, with the value Numba froze.
        fields: per argument, the attributes an object there is converted with (``None``:
            all), set by the caller that knows the function's code.
        validated: the signatures of ``entry`` that passed a trial and were promoted.
        compiling: ``True`` while ``entry`` accepts a new signature.
        guards: the run-time guards of every signature compiled into ``entry``.
        max_frames: for a function that may recurse, how many Python frames its caller may
            have (:func:`~autoaccel.backends.recursion.too_deep`), else ``None``.
        reach: ``(recursive functions, functions)`` it may call, itself included.
    """

    __slots__ = (
        "compiling",
        "dispatcher",
        "entry",
        "fields",
        "guards",
        "max_frames",
        "reach",
        "snapshot",
        "validated",
    )

    def __init__(
        self,
        function: types.FunctionType,
        options: JitOptions,
        snapshot: Snapshot,
        reach: tuple[int, int] = (0, 1),
    ) -> None:
        self.dispatcher = _njit(function, options, inline=_inlined(function.__code__))
        self.entry = _njit(function, options)
        self.snapshot = snapshot
        # (recursive functions, functions) it may call, itself included; with recursion, the
        # Python frames a caller may have below a promoted call (recursion.max_frames).
        self.reach = reach
        self.max_frames: int | None = None
        # True while ``entry`` accepts new signatures: callers must not use it then, or
        # Numba could compile and run an unvalidated specialization for them.
        self.compiling = False
        self.validated: set[str] = set()  # signatures (as described) promoted after trial
        self.guards = Guards()
        # Per argument, the attributes its object is converted with (None: all; see
        # autoaccel.boundary.convert.convert); every conversion for this code uses these.
        self.fields: tuple = ()

    def entry_point(self, args: tuple) -> Any:
        """Numba's compiled entry point for exactly ``args``' types, if validated, else ``None``.

        The entry point is what Numba's dispatcher calls once it has matched the argument
        types (``dispatcher.overloads[signature].entry_point``). Only the overload whose
        signature *is* ``args``' Numba types qualifies: the dispatcher would pick it too, and
        a signature reached by a conversion (a declared ``float64[:]`` for a C array) stays
        the dispatcher's to choose. ``None`` while a compile is in progress.
        """
        if self.compiling:
            return None
        try:
            signature = numba_signature(args)
        except Exception:  # Rejection, or Numba's own error for a dtype it cannot type
            return None  # (``>f8``, float128): the dispatcher, then the original, answer
        overload = self.entry.overloads.get(signature)
        if overload is None or describe(signature) not in self.validated:
            return None
        return overload.entry_point

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


def build(unit: Unit, options: JitOptions, lookup: Lookup, active: tuple = ()) -> Compiled:
    """A dispatcher for ``unit``'s function with helpers resolved, reusing a valid one.

    Args:
        unit: the function's unit (original code, globals, static reason); its ``compiled``
            is set to the result.
        options: ``numba.njit`` options.
        lookup: finds a helper function's unit.
        active: units being built up the call chain (mutual recursion is refused).

    Raises:
        Rejection: a global cannot be frozen, or a helper cannot be compiled.
    """
    cached = unit.compiled
    if cached is not None and snapshot_changed(cached.snapshot) is None:
        return cached
    reason = globals_refusal(unit, lookup, active)
    if reason:
        raise Rejection(reason)
    namespace = unit.globals
    overlay = dict(namespace)
    entries: list[tuple[Any, str, Any]] = []
    walked = list(helpers(unit, lookup, active))
    itself = recursion.self_names(unit, walked)
    recursive, reached = int(bool(itself)), 1
    for name, value, helper in walked:
        # A builtin is recorded as absent: a module global of that name later shadows it.
        entries.append((namespace, name, value))
        if helper is unit:  # it calls itself: through recursion.SELF in its depth form
            entries.extend(reached_through(value, unit.code))
        elif helper is not None:
            compiled = build(helper, options, lookup, (*active, unit))
            overlay[name] = compiled.dispatcher
            entries.extend(reached_through(value, helper.code))
            entries.extend(compiled.snapshot)
            recursive, reached = recursive + compiled.reach[0], reached + compiled.reach[1]
        elif isinstance(value, np.ndarray):
            entries.append((Flags(value), "writeable", False))
        elif (uses := namespace_uses(name, value, unit.code)) is not None:
            overlay[name] = _namespace(value, uses, entries, options, lookup, (*active, unit))
    code = recursion.depth_form(unit.code, itself) if itself else unit.code
    code, stand_ins = checked_code(code, namespace)
    overlay.update(stand_ins)
    function = types.FunctionType(code, overlay, unit.code.co_name)
    # Reasons name it (a helper's "calls Body.bump, which ..."); 3.10's code has no qualname.
    function.__qualname__ = getattr(unit, "qualname", function.__qualname__)
    frames, limit = None, sys.getrecursionlimit()
    if recursive:
        entries.append((recursion.RecursionLimit(limit), "limit", limit))
        frames = recursion.max_frames(limit, recursive, reached)
    if itself:
        recursion.check_module(function)
        inner = overlay[recursion.SELF] = _njit(function, options)
        overlay[recursion.STEP] = recursion.step_function()
        function = recursion.entry_function(
            unit.code, inner, recursion.budget(limit), namespace["__name__"]
        )
    unit.compiled = Compiled(function, options, tuple(entries), (recursive, reached))
    unit.compiled.max_frames = frames
    return unit.compiled


def _namespace(
    cls: type, uses: Any, entries: list, options: JitOptions, lookup: Lookup, active: tuple
) -> Any:
    """Global class ``cls`` read as a namespace (``Math.sq(x)``: ``namespace_uses``) as a
    module of the attributes read, constants and compiled helpers; ``entries`` gains the
    class attributes (one set later invalidates the variant)."""
    module = types.ModuleType(f"{cls.__module__}.{cls.__qualname__}")
    for attr in dict.fromkeys((*uses.loads, *uses.methods)):
        value = original = getattr(cls, attr)
        entries.append((cls, attr, value))
        function = isinstance(value, types.FunctionType)
        helper = lookup(forwarded(value) or value) if function else None
        if helper is not None:
            compiled = build(helper, options, lookup, active)
            value = compiled.dispatcher
            entries.extend((*reached_through(original, helper.code), *compiled.snapshot))
        setattr(module, attr, value)
    return module


@contextlib.contextmanager
def compiling() -> Iterator[None]:
    """Marks this thread as compiling, so the import hook leaves Numba's own imports alone.

    A Ctrl-C meanwhile is delivered when the compile is over (:mod:`.interrupts`).
    """
    _BUSY.active = True
    try:
        with interrupts.deferred():
            yield
    finally:
        _BUSY.active = False


def is_compiling() -> bool:
    """Whether this thread is inside :func:`compiling`."""
    return getattr(_BUSY, "active", False)


# Inlining at Numba's IR level runs its untyped passes and type inference again at every call
# site: on py_lets_be_rational's call trees of scalar helpers, compiles of 2-4 s each made the
# whole run 42x slower than CPython (benchmarks/corpus). It pays only where the range analysis
# needs the helper's indices, in small helpers (instructions).
_INLINED_AT_MOST = 80
_INDEXING = frozenset({"BINARY_SUBSCR", "STORE_SUBSCR", "BINARY_SLICE", "STORE_SLICE"})


def _inlined(code: types.CodeType) -> bool:
    """Whether a helper is inlined at the IR level: it is small and indexes something."""
    names = [instruction.opname for instruction in dis.get_instructions(code)]
    return len(names) <= _INLINED_AT_MOST and not _INDEXING.isdisjoint(names)


def _njit(function: types.FunctionType, options: JitOptions, inline: bool = False) -> Any:
    import numba

    from autoaccel.backends.range_compiler import RangeCompiler

    extra: dict[str, Any] = {"inline": "always"} if inline else {}
    if not options.parallel:  # the range analysis drops unneeded checks; parfors lower apart
        extra["pipeline_class"] = RangeCompiler
    return numba.njit(
        fastmath=options.fastmath,
        parallel=options.parallel,
        boundscheck=options.boundscheck,
        nogil=options.nogil,
        **extra,
    )(function)


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
    saved inspection instead of compiled (recursive code too: :mod:`autoaccel.cache.variants`
    links its recursive calls again), a saved refusal is raised again without compiling,
    and a fresh compile's outcome is saved. Processes sharing the cache take the variant's
    lock first (:mod:`autoaccel.cache.locks`), so one compiles it and the others load it;
    the seconds returned include the wait.

    Returns:
        ``(seconds, from_cache)``: the time taken (compile or load, seconds) and whether
        Numba loaded the code from the cache.

    Raises:
        Rejection: Numba refused the function for these types (reason summarized), or the
            typed IR shows an operation whose result would differ (``_typed_checks``).
    """
    start = time.perf_counter()
    if store is None:
        return _compile_signature(compiled, signature, None, start)
    from autoaccel.cache.locks import held

    with held(store.path.with_name(store.path.name + ".lock")):
        return _compile_signature(compiled, signature, store, start)


def _compile_signature(
    compiled: Compiled, signature: tuple, store: VariantStore | None, start: float
) -> tuple[float, bool]:
    """:func:`compile_signature` once its lock is held; ``start``: when it was called."""
    from autoaccel.backends import checked_ops, typed_checks

    saved = _saved_outcome(store)
    if saved is not None and saved.refusal:
        raise Rejection(f"{saved.refusal} (saved decision)")
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
        stopped = budget.given_up()
        if stopped:  # over its budget: a fact of this run, not of the variant, so not saved
            raise Rejection(stopped) from None
        reason = (
            checked_ops.refusals[-1]
            if checked_ops.refusals
            else f"Numba cannot compile it: {summarize_error(exc)}"
        )
        # The report keeps one line; -v shows Numba's whole message, which names the
        # offending expression and its types.
        function = entry.py_func
        logger.info(
            "%s.%s%s: compile failed after %.3f s; Numba's error:\n%s",
            function.__module__,
            function.__qualname__,
            describe(signature),
            time.perf_counter() - start,
            _ANSI.sub("", str(exc)),
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
    compiled.guards = compiled.guards.widened(inspection)
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
    compiled.guards = base.guards
    compiled.fields = base.fields
    return compiled, entry._cache_hits[signature] > 0


def _saved_outcome(store: VariantStore | None) -> Any:
    """The ``Inspection`` a previous compile saved in ``store``, or ``None`` (a miss)."""
    from autoaccel.backends.typed_checks import Inspection

    outcome = store.outcome() if store is not None else None
    if outcome is None or store is None:
        return None
    try:
        return Inspection.from_plain(outcome)
    except ValueError as exc:  # authentic but not of this shape: compile again
        logger.info("cache: dropping variant %s: %s", store.name, exc)
        store.drop()
        return None


def _save_outcome(
    store: VariantStore | None, inspection: Any, entry: Any, signature: tuple
) -> None:
    """Keep a fresh compile's outcome, and its code when it may run, for later runs."""
    if store is None:
        return
    try:
        store.save_outcome(inspection.as_plain())
    except TypeError as exc:  # a constant the cache cannot store: not cached
        logger.info("cache: variant %s not saved: %s", store.name, exc)
        return
    if entry is not None and not inspection.refusal:
        store.numba_cache(entry.py_func).save_overload(signature, entry.overloads[signature])
