"""A promoted variant: how a promoted call runs, and the signals it hands calls back with.

Why this design: a promoted call must answer exactly as the original would, or hand the call
back with the arguments as they were. :meth:`Variant.run` checks what can change between
calls (frozen globals, NumPy's error state, a compile in progress), copies the arguments the
variant may write before a hand-back can follow (``Guards.copied``), runs it, adapts the
result's type and refuses results whose CPython type
could differ (docs/divergences.md, rows 11 and 12). It never raises: every reason not to
answer is a :class:`Signal`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from autoaccel.backends import interrupts
from autoaccel.backends.recursion import too_deep
from autoaccel.backends.screening import ABSENT
from autoaccel.backends.snapshot import attribute_entries, native_checks, snapshot_guard
from autoaccel.boundary.convert import convert, native_plan, write_back
from autoaccel.errors import RecursionBudget
from autoaccel.lazy_numpy import loaded, np
from autoaccel.policy.compare import (
    Adapter,
    copy_value,
    hands_back,
    number_kind,
    restore_value,
)
from autoaccel.policy.cost import TIMED_CALLS
from autoaccel.runtime import fastpath
from autoaccel.runtime.keys import exact_key, small_array_type

# NumPy 2's error-state ContextVar once NumPy is imported (use_numpy), else None: NumPy 1 is
# checked with np.geterr().
_ERRSTATE: Any = None
_last_errstate: list[Any] = [None, True]
_numpy_used = [False]


class Signal:
    """What :meth:`Variant.run` returns instead of a result when it could not serve a call."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"<autoaccel {self.name}>"


# Process-wide ticks ordering the variants' latest uses (shared with the C fast path).
CLOCK = fastpath.CLOCK

MISS = Signal("MISS")  # run the original body (also what the prologue tests for)
NO_MATCH = Signal("NO_MATCH")  # no validated signature matches these argument types
STALE = Signal("STALE")  # a global the variant froze has changed
DEEP = Signal("DEEP")  # a recursion went, or could go, past its compiled budget


class Variant(fastpath.VariantBase):
    """Promoted code for one argument-type pattern: the entry dispatcher and result adapters.

    There is one per pattern of Python argument types: exact keys with the same types
    (say float64 and int64 arrays) share it, as they share the fast path. All of a
    function's validated signatures share one entry dispatcher, which matches argument
    types in C, and one table of adapters.

    Attributes:
        compiled: the dispatchers and the frozen-globals snapshot (a
            :class:`~autoaccel.backends.cpu.Compiled`, or a target's equivalent such as
            :class:`~autoaccel.backends.cuda.CudaCompiled`).
        adapters: Python type of a raw variant result -> converter to the type the original
            returns (``None``: no conversion); shared by a function's variants.
        uses: calls it served, and last: the :data:`CLOCK` tick of the latest (for the
            variant cache's eviction policies; ~30 ns a call together).
        stale: ``stale()`` is true once a global the variant froze changed
            (:func:`~autoaccel.backends.snapshot.snapshot_guard`); ``None`` if it froze none.
        max_frames: for a variant that may recurse, the most Python frames its caller may
            have for it to run (:func:`~autoaccel.backends.recursion.too_deep`), else ``None``.
    """

    __slots__ = ("adapters", "compiled", "max_frames", "stale")  # uses, last: VariantBase's

    def __init__(self, compiled: Any, adapters: dict[type, Adapter | None] | None = None) -> None:
        use_numpy()  # compiled: Numba imported NumPy
        self.compiled = compiled
        self.stale = snapshot_guard(compiled.snapshot)
        self.max_frames: int | None = getattr(compiled, "max_frames", None)
        self.adapters: dict[type, Adapter | None] = {} if adapters is None else adapters
        self.uses = 0
        self.last = next(CLOCK)

    def accepts(self, raw_type: type, adapter: Adapter | None) -> bool:
        """Record ``adapter`` for results of ``raw_type``; ``False`` if one differs already."""
        return self.adapters.setdefault(raw_type, adapter) == adapter

    def run(self, args: tuple, call: Any = None) -> Any:
        """The result for ``args``, or a :class:`Signal` (never raises).

        Whenever the call is handed back (a :class:`Signal`), the arguments the variant may
        have written hold their values from before the call again. ``call``: the compiled
        overload to call directly, for arguments whose Numba types are known exactly;
        otherwise the entry dispatcher matches them.
        """
        compiled = self.compiled
        if compiled.compiling:
            return MISS
        if self.stale is not None and self.stale():
            return STALE
        if self.max_frames is not None and too_deep(self.max_frames):
            return DEEP  # compiled recursion could go where CPython raises RecursionError
        if _ERRSTATE is None or _ERRSTATE.get() is not _last_errstate[0]:
            if not numpy_errors_ignored():
                return MISS
        elif not _last_errstate[1]:
            return MISS
        guards = compiled.guards
        written = guards.copied  # those a hand-back can follow a write to
        saved = [copy_value(args[i]) for i in written] if written else ()
        try:
            result = (call or compiled.entry)(*args)
        except TypeError:  # no matching signature, or the code raised TypeError itself
            return _restored(args, written, saved, NO_MATCH)
        except RecursionBudget:
            return _restored(args, written, saved, DEEP)
        except Exception as exc:  # the original raises its own error, with its own traceback
            interrupts.raise_hidden(exc)  # but a Ctrl-C ends the program, as it would have
            return _restored(args, written, saved, MISS)
        self.uses += 1
        self.last = next(CLOCK)
        adapter = self.adapters.get(type(result))
        if adapter is not None:
            result = adapter(result)
        if hands_back(result, args, guards):
            return _restored(args, written, saved, MISS)
        return result

    def native_route(self, args: tuple) -> Any:
        """How the C fast path serves calls typed as ``args``: a route, or ``None`` (then
        it calls :meth:`run`).

        A route calls the validated overload of exactly ``args``' Numba types (never one
        reached by a conversion) with the guards of :meth:`run`; for a variant that may
        recurse, it leaves to :meth:`run` the calls whose caller may be too deep (its
        exact depth check). Calls that need more are left to :meth:`run`: arguments the
        variant may write (their copies), another target's code (no ``entry_point``), a
        subclass that runs calls its own way, and any call while the entry dispatcher
        compiles (``entry_point`` answers ``None``). A route never calls the dispatcher, so
        a compile started later cannot reach it; the routes are forgotten when ``_fast`` is
        rebound after it.
        """
        compiled = self.compiled
        if type(self).run is not Variant.run or not _routable(compiled):
            return None
        target = compiled.entry_point(args)
        if target is None:
            return None
        guards = compiled.guards
        return fastpath.route(
            self,
            target,
            native_checks(compiled.snapshot),
            self.adapters,
            guards.ambiguous_constants,
            guards.ambiguous_arguments,
            guards.unambiguous,
            -1 if self.max_frames is None else self.max_frames,
        )

    def converting_route(self) -> Any:
        """How the C fast path serves calls carrying lists or tuples (keyed by their classes
        only): a converting route, or ``None`` (then it calls :meth:`run`). Only a
        :class:`ConvertingVariant` has one."""
        return None


class ConvertingVariant(Variant):
    """A variant whose calls carry lists or buffers (:mod:`autoaccel.boundary`).

    Each call's arguments are converted first; a value that cannot be converted this time
    (a list whose elements changed class, a ragged list of lists) is a ``NO_MATCH``. After
    a call that answered, the lists it may have written get their new values; a call handed
    back writes none, and the buffers it may have written were restored from copies.

    Attributes:
        direct: the compiled overload of each promoted signature whose converted arguments'
            classes tell their Numba types exactly (:func:`~autoaccel.boundary.kinds.
            exact_classes`), by those classes: such calls skip the dispatcher's typing,
            which for a converted value goes through a failed fingerprint and an attribute
            lookup (about 1 us each on the development machine).
        keys: for a pattern of argument types with tuples, the exact keys it serves, else
            ``None``. Such a pattern is on the fast path only through this variant (see
            :func:`~autoaccel.runtime.table.fast_routes`): a call whose converted classes
            are not in ``direct`` must have one of these keys, or Numba's dispatcher could
            convert its tuples' items to another signature's.
    """

    __slots__ = ("direct", "keys")

    def __init__(self, compiled: Any, adapters: dict[type, Adapter | None] | None = None) -> None:
        super().__init__(compiled, adapters)
        self.direct: dict[tuple, Any] = {}
        self.keys: set | None = None

    def serve(self, key: Any, direct: tuple[tuple, Any] | None) -> None:
        """Serve the promoted exact ``key``; ``direct``: its ``(classes, entry point)``."""
        if direct is not None:
            self.direct[direct[0]] = direct[1]
        if tuple in key.types:
            self.keys = (self.keys or set()) | {key}

    def drop(self, key: Any, classes: tuple | None) -> None:
        """Stop serving ``key`` (evicted), whose converted arguments had ``classes``."""
        self.direct.pop(classes or (), None)
        if self.keys is not None:
            self.keys.discard(key)

    def converting_route(self) -> Any:
        """A route that converts each call's lists of numbers in C and calls the entry point
        of the converted classes (:attr:`direct`) with :meth:`Variant.run`'s guards
        (:func:`~autoaccel.runtime.fastpath.route`, ``conversion``), or ``None`` where the
        C path cannot serve this variant (:func:`converts_in_c`). What the route does not
        convert, and a call whose classes are not in :attr:`direct`, it leaves to
        :meth:`run`. The route reads :attr:`direct` on every call, so it serves what
        :meth:`serve` and :meth:`drop` leave there; the routes are forgotten when ``_fast``
        is rebound, as every promotion, eviction and compile does."""
        compiled = self.compiled
        if type(self).run is not ConvertingVariant.run or not converts_in_c(compiled):
            return None
        guards = compiled.guards
        numbers, tuples = native_plan()
        return fastpath.route(
            self,
            None,
            native_checks(compiled.snapshot),
            self.adapters,
            guards.ambiguous_constants,
            guards.ambiguous_arguments,
            guards.unambiguous,
            -1,
            (self.direct, numbers, tuples, np.empty),
        )

    def run(self, args: tuple, call: Any = None) -> Any:
        """The result for ``args``, or a :class:`Signal` (never raises)."""
        fields = getattr(self.compiled, "fields", ())
        try:
            natives = convert(args, fields)
        except Exception:  # Unconvertible this time; a bug of ours must not reach the program
            return NO_MATCH
        call = self.direct.get(tuple(map(type, natives)))
        if call is None and self.keys is not None and exact_key(args, fields) not in self.keys:
            return NO_MATCH
        result = Variant.run(self, natives, call)
        if result.__class__ is not Signal:
            write_back(natives, self.compiled.guards.written)
        return result


def converts_in_c(compiled: Any) -> bool:
    """Whether promoted calls of ``compiled`` carrying lists go through a converting route
    (:meth:`ConvertingVariant.converting_route`): the C fast path is in use, the code writes
    no argument (a route writes nothing back), cannot recurse, and is not compiling."""
    return (
        fastpath.NATIVE is not None
        and _routable(compiled)
        and getattr(compiled, "max_frames", None) is None
        and not compiled.compiling
    )


def conversion(compiled: Any) -> Callable[[tuple, tuple], tuple]:
    """How promoted calls of ``compiled`` convert their arguments, as ``convert(values,
    fields)``, for its trial to time what they will pay: in C first where a converting route
    will serve them (:func:`converts_in_c`), else :func:`~autoaccel.boundary.convert.convert`.
    """
    if not converts_in_c(compiled):
        return convert
    numbers, tuples = native_plan()

    def converted(values: tuple, fields: tuple = ()) -> tuple:
        natives = fastpath.native_convert(values, numbers, tuples, np.empty)
        return convert(values, fields) if natives is None else natives

    return converted


def time_as_promoted(trial: Any, compiled: Any, converting: bool) -> None:
    """Give ``trial`` (a :class:`~autoaccel.policy.trial.Trial`) the frozen-globals check and
    the conversion that promoted calls of ``compiled`` will run (:func:`promoted_guard`,
    :func:`conversion`; ``converting``: its calls carry converted values), to time them."""
    trial.guard = promoted_guard(compiled, converting)
    trial.convert = conversion(compiled)


def _routable(compiled: Any) -> bool:
    """Whether the C fast path may serve calls of ``compiled`` (:meth:`Variant.native_route`):
    it has an overload's ``entry_point`` (another target's code has none) and writes no
    argument (their copies are run()'s)."""
    return getattr(compiled, "entry_point", None) is not None and not compiled.guards.written


def promoted_guard(compiled: Any, converting: bool) -> Callable[[], bool] | None:
    """The frozen-globals check a promoted call of ``compiled`` runs, for its trial to time
    (a function of no arguments, or ``None`` for an empty snapshot).

    A call the C fast path serves (:func:`_routable`, nothing converted) looks a module
    dict's entries up again only after a write to the dict and compares helpers' code and
    array flags in C, so its check is that of the other attributes
    (:func:`~autoaccel.backends.snapshot.attribute_entries`); any other promoted call runs
    :func:`~autoaccel.backends.snapshot.snapshot_guard` over the whole snapshot. Timing
    every entry for every call overstated a compiled call tree's cost: a caller freezes its
    helpers' globals too (py_lets_be_rational's ``black``: 176 entries, ~110 ns each in the
    loop the trial ran).
    """
    snapshot = compiled.snapshot
    watched = fastpath.NATIVE is not None and fastpath.NATIVE.globals_watch() != "lookups"
    if watched and not converting and _routable(compiled):
        snapshot = attribute_entries(snapshot)
    return snapshot_guard(snapshot)


def _restored(args: tuple, written: tuple[int, ...], saved: Sequence, signal: Signal) -> Signal:
    for position, value in zip(written, saved, strict=True):
        restore_value(args[position], value)
    return signal


def numpy_errors_ignored() -> bool:
    """Whether NumPy's floating-point error handling is in a state Numba matches.

    Numba ignores ``np.seterr`` (docs/divergences.md, row 10). Under ``"warn"`` or
    ``"ignore"`` the values agree (the warning is not repeated); under ``"raise"``,
    ``"call"``, ``"print"`` or ``"log"`` the original has to run. The check costs one
    ContextVar read while the state is unchanged (NumPy 2 keeps it in
    ``numpy._core._ufunc_config``); otherwise it reads ``np.geterr()``.
    """
    if not loaded():
        return True  # NumPy not imported: its error state is its default
    state = _ERRSTATE.get() if _ERRSTATE is not None else None
    if state is not None and state is _last_errstate[0]:
        return _last_errstate[1]
    quiet = all(mode in ("warn", "ignore") for mode in np.geterr().values())
    if state is not None:
        _last_errstate[:] = [state, quiet]
    return quiet


def use_numpy() -> None:
    """Hand NumPy's types and error state to the fast path, once NumPy is imported.

    Called where arrays can first reach a trampoline: a call Python keys while NumPy is
    imported (the program imported it), and a new variant (Numba imported it). Idempotent;
    does nothing while NumPy is not imported (:mod:`autoaccel.lazy_numpy`).
    """
    global _ERRSTATE
    if _numpy_used[0] or not loaded():
        return
    _numpy_used[0] = True
    try:  # NumPy 2 keeps the error state in a ContextVar
        from numpy._core._ufunc_config import _extobj_contextvar  # type: ignore[attr-defined]
    except ImportError:  # pragma: no cover - NumPy 1.x
        _extobj_contextvar = None
    _ERRSTATE = _extobj_contextvar
    # NumPy scalar types whose Numba type their class alone fixes (not datetime64: its
    # unit is the value's); one Numba cannot type is routed to run() by native_route.
    codes = np.typecodes["AllInteger"] + np.typecodes["AllFloat"] + "?"
    scalars = tuple({np.dtype(code).type for code in codes})
    fastpath.configure_numpy(
        ndarray=np.ndarray,
        scalar_types=scalars,
        scalar_kinds=tuple(map(number_kind, (kind(0) for kind in scalars))),
        float64=np.float64,
        errstate=_extobj_contextvar,
    )


fastpath.configure(
    miss=MISS,
    no_match=NO_MATCH,
    stale=STALE,
    deep=DEEP,
    signal_type=Signal,
    absent=ABSENT,
    errors_ignored=numpy_errors_ignored,
    small_array_type=small_array_type,
    timed_calls=TIMED_CALLS,
    recursion_budget=RecursionBudget,
)
use_numpy()  # the program imported NumPy before autoaccel
