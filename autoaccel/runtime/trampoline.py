"""The trampoline: what a rewritten function's prologue consults on every call.

Why this design: one :class:`Trampoline` is embedded as a constant in each rewritten function's
code (see :mod:`autoaccel.rewrite.prologue`). Its ``armed`` flag is the only thing a disarmed
function pays for. While armed, :meth:`Trampoline.enter` receives the bound arguments and
returns either the result of a variant or :data:`~autoaccel.runtime.variant.MISS`, which makes
the prologue fall through to the original body, so the original runs in its own frame with
its own traceback.

Calls are counted per tuple of argument types (cheap, no Numba import). Once one such
signature reaches ``min_calls`` it is *hot*: its calls are keyed exactly (types plus Numba's
type fingerprints: dtype, ndim, layout, writability) and handed to the :class:`Promoter`,
which compiles, trials and promotes or rejects each exact key once. Promoted calls are found
by the tuple of argument types alone (the *fast path*) and handed to a compile-disabled Numba
dispatcher, whose C code matches the rest against the validated signatures. Value
specialization is the :class:`Specializer`'s. A function with nothing promoted or pending
once a key fails is disarmed for the rest of the process.
"""

from __future__ import annotations

import functools
import threading
import types
from typing import Any

from autoaccel.analysis.bound import Shape, bound_form, needs_binding, routed
from autoaccel.analysis.values import Refused, ValueKey, describe_values, specialized_code
from autoaccel.backends import background
from autoaccel.backends.cpu import Compiled, Guards
from autoaccel.backends.signatures import describe_arguments, load_numba, numba_loaded
from autoaccel.backends.snapshot import snapshot_changed
from autoaccel.boundary.objects import is_object_class
from autoaccel.config import Config
from autoaccel.policy.cost import call_seconds, stand_in
from autoaccel.runtime import fastpath, methods
from autoaccel.runtime.admission import READY
from autoaccel.runtime.bound_forms import BoundForms
from autoaccel.runtime.disarm import swap_out_prologue
from autoaccel.runtime.keys import ExactKey, Failure, TypeKey, fingerprints, type_key_function
from autoaccel.runtime.promoter import Promoter
from autoaccel.runtime.registry import register
from autoaccel.runtime.specializer import Specializer
from autoaccel.runtime.table import fast_routes, variant_table
from autoaccel.runtime.variant import DEEP, MISS, NO_MATCH, STALE, Signal, Variant, use_numpy


class Trampoline(fastpath.Dispatch):
    """Per-function acceleration state, shared by every function object made from one code.

    Its base is the C fast path's ``Dispatch`` where that is built
    (:mod:`autoaccel.runtime.fastpath`): ``enter`` is then C, and the attributes it reads
    (``_fast``, ``_counts``, ``_hot``, ``_specialize``, ``specializer``, ``min_calls``,
    ``min_size``, ``calls``, ``quiet_until``) are kept in C under the same names.

    Args:
        module: the defining module's ``__name__``.
        code: the function's original code object (before the prologue is added).
        namespace: the module's globals dict.
        config: the configuration in force.
        refusal: the static guard's reason never to compile, or ``None``.
        parent: for a value specialization, the function's trampoline and the argument
            types of the signature it specializes; it then counts against the parent's
            ``max_variants``, needs its ``min_gain`` over the parent's generic variant, and
            is reached only through the parent's router.
        qualname: the function's qualified name; ``None``: the code's ``co_qualname``
            (Python 3.10 code has none, so callers there pass it).
    """

    def __init__(
        self,
        module: str,
        code: types.CodeType,
        namespace: dict,
        config: Config,
        refusal: str | None,
        parent: tuple[Trampoline, TypeKey] | None = None,
        qualname: str | None = None,
    ) -> None:
        self.qualname: str = (
            qualname if qualname is not None else getattr(code, "co_qualname", code.co_name)
        )
        self.name = f"{module}.{self.qualname}"
        self.module = module
        self.binds, code = _binding(code)
        self.code = code
        self.globals = namespace
        self.static_refusal = refusal
        self.parent: Trampoline | None = parent[0] if parent else None
        self.parent_types: TypeKey = parent[1] if parent else ()
        # Whose max_variants its variants count against.
        self.family: str = self.parent.family if self.parent else self.name
        self.reported = True  # listed by stats() and the report (@optimize(profile=False): not)
        self.compiled: Compiled | None = None
        self.calls = fastpath.counter()
        self._lock = threading.Lock()
        self._counts: dict[TypeKey, int] = {}
        # Types -> the count admission waits for (Admission.cost_gate): calls only counted.
        self.quiet_until: dict[TypeKey, int] = {}
        self._hot: set[TypeKey] = set()
        # Promoted variants by exact key, and the fast path by argument types alone, for
        # patterns no unvalidated signature can be reached by.
        self._exact: dict[ExactKey, Variant] = {}
        self._fast: dict[TypeKey, Any] = {}
        self.promoter = Promoter(self)
        self.specializer = Specializer(self)
        self.routed_arity = 0  # a bound form's: the arity of the call its function routes
        self.bound_forms = BoundForms(self) if routed(code) else None
        if self.bound_forms is not None:
            self.enter = self.bound_forms.enter  # type: ignore[method-assign]
        self._configure(config, refusal)

    def _configure(self, config: Config, refusal: str | None) -> None:
        """Take the settings of ``config`` for this function; ``refusal``: never compile."""
        override = config.override(self.name)
        self.config = config
        self.refusal = refusal if override.enabled else "disabled in the configuration"
        self.armed = self.refusal is None
        self.min_calls = config.min_calls if override.min_calls is None else override.min_calls
        self.min_gain = config.min_gain if override.min_gain is None else override.min_gain
        self._specialize = override.specialize  # True, False, or None: as ``values`` says
        # Signatures the configuration lists: compiled once the module is imported (or at
        # the first call), after which calls of their argument types are hot at once.
        self.promoter.eager = override.signatures if self.armed else ()
        self._type_key = type_key_function(self.code.co_argcount, override.min_size)
        self.min_size = override.min_size  # the C path's type key reads it
        if self.parent is not None:
            self._specialize = self.parent._specialize  # nested values follow the function
            self.reported = self.parent.reported
            self.min_calls = 1  # the router has counted min_calls calls with this value
            value_gain = variant_table().options.min_gain
            if value_gain is not None:
                self.min_gain = value_gain
        # The original body without the prologue, called during trials. Refused functions
        # (closures among them) never run trials, and could not be rebuilt without cells.
        self.original = (
            None if self.refusal else types.FunctionType(self.code, self.globals, self.code.co_name)
        )

    def reconfigure(self, config: Config, refusal: str | None = None) -> bool:
        """Use ``config`` and ``refusal`` (if given, over the static one); whether taken.

        ``@optimize`` applies its keywords this way to a function the hook rewrote, right
        after its ``def``. Only a trampoline that has counted no call yet changes: counts and
        trials made under the old settings must not mix with the new ones.
        """
        if self._counts or self.compiled is not None:
            return False
        self._configure(config, refusal or self.static_refusal)
        return True

    def __repr__(self) -> str:
        # Stable across runs: cache keys hash the code objects that hold trampolines.
        return f"<autoaccel trampoline {self.name}>"

    @property
    def failures(self) -> dict[Any, Failure]:
        """Keys never to be tried again, with why (see :class:`Promoter`)."""
        return self.promoter.failures

    @property
    def promotions(self) -> list:
        """What was promoted, for the report (see :class:`Promoter`)."""
        return self.promoter.promotions

    def python_enter(self, *args: Any) -> Any:
        """Called by the prologue with the bound arguments; a result, or :data:`MISS`.

        The Python path; the C path (``_fastpath.c``'s ``Dispatch.enter``) does the same,
        calling the methods below for everything but promoted calls and quiet counting.
        """
        next(self.calls)
        types_ = self._type_key(args)
        variant = self._fast.get(types_)
        if variant is None:
            return self._enter_slow(types_, args)
        result = variant.run(args)
        if result.__class__ is Signal:
            return self._enter_slow(types_, args) if result is NO_MATCH else self._signalled(result)
        return result

    enter = fastpath.enter_method(python_enter)

    def _enter_slow(self, types_: TypeKey, args: tuple) -> Any:
        """Counting, exact-key dispatch (tuples, demoted patterns), and promotion."""
        if self.specializer.routers:
            result = self.specializer.route(types_, args)
            if result is not NO_MATCH:
                return result
        if types_ not in self._hot:
            return self._count(types_, args)
        key = _exact_key(types_, self.code, args)
        variant = self._exact.get(key)
        if variant is None:
            return self._answer(self.promoter.try_promotion(key, args))
        fast = self._fast.get(types_)
        if fast is not None and variant in (fast, getattr(fast, "generic", None)):
            return MISS  # the fast path matched but the code itself raised TypeError
        return self._answer(variant.run(args))

    def _answer(self, result: Any) -> Any:
        """``result``, or :data:`MISS` in place of a signal (acted on first)."""
        return result if result.__class__ is not Signal else self._signalled(result)

    def _signalled(self, signal: Signal) -> Signal:
        if signal is STALE:
            self._invalidate()
        elif signal is DEEP:
            self.demote()
        return MISS

    def _count(self, types_: TypeKey, args: tuple) -> Any:
        use_numpy()  # the program may have imported NumPy since: arrays can be keyed in C
        promoter = self.promoter
        if promoter.eager:  # a module run as __main__ calls before its import has finished
            promoter.compile_signatures()
        with self._lock:
            count = self._counts[types_] = self._counts.get(types_, 0) + 1
        if (
            self._specialize is not False
            and count <= self.min_calls
            and types_ not in self.specializer.routers
        ):
            self.specializer.observe(types_, args, count)
        if types_ in promoter.failures or count < self.quiet_until.get(types_, 0):
            return MISS
        admission = promoter.admission
        early = count == 1 and (types_ in promoter.ready or promoter.saved.promoted_before(types_))
        if count < admission.screening_from() and not early:
            return MISS
        reason = admission.screen(types_, args)
        if reason:  # decided without importing Numba
            promoter.fail(types_, types_, reason, describe_arguments(args))
            return MISS
        if not early:
            waiting = admission.cost_gate(types_, args, count)
            if waiting is not READY:
                return waiting
        if self.config.background_compile and not numba_loaded():
            # Importing Numba on this thread would wait for the import lock: let the
            # worker import it, and count on until it has.
            background.submit("import numba", load_numba)
            return MISS
        self._hot.add(types_)
        return self._answer(promoter.try_promotion(_exact_key(types_, self.code, args), args))

    def _invalidate(self) -> None:
        """A frozen global changed: drop every variant; recompile once, then give up."""
        with self._lock:
            if self.compiled is None:
                return  # another thread invalidated first
            changed = snapshot_changed(self.compiled.snapshot)
            self._drop_variants()
        self.promoter.invalidate(str(changed))

    def demote(self) -> None:
        """A recursion went, or could go, past its compiled budget: plain Python for good."""
        with self._lock:
            self._drop_variants()
        self.promoter.demote()
        self.armed = False

    def _drop_variants(self) -> None:
        self._exact.clear()
        self._fast = {}
        self._hot.clear()
        self._counts.clear()
        self.quiet_until.clear()
        self.compiled = None

    # What the promoter and the specializer ask of their function -------------------------

    def required_gain(self) -> float:
        """The speed-up a variant must reach: ``min_gain``, over the parent's generic variant
        for a value specialization (its speed-up times ``min_gain``)."""
        if self.parent is None:
            return self.min_gain
        return self.min_gain * self.parent.promoter.generic_speedup(self.parent_types)

    def dispatch_seconds(self, arity: int) -> float:
        """What reaching this function's variant adds to a call of ``arity`` arguments (s):
        a value specialization's calls pass its parent's trampoline first, a bound form's its
        function's shape dispatch (lower bounds: the routers' own lookups are not counted)."""
        outer = len(self.parent_types) if self.parent is not None else self.routed_arity
        extra = dispatch_seconds(outer) if self.parent is not None or outer else 0.0
        return dispatch_seconds(arity) + extra

    def clear_fast_path(self) -> None:
        """Dispatch nothing by argument types alone (the entry accepts a new signature)."""
        self._fast = {}

    def refresh_fast_path(self) -> None:
        """Dispatch by argument types alone only where Numba's C matching is safe.

        An unvalidated signature in the entry dispatcher (a pending trial, a rejected or
        evicted variant) must not be reachable by a call whose exact key differs; see
        :func:`~autoaccel.runtime.table.fast_routes`.
        """
        self._fast = self.specializer.fast_routes(fast_routes(self._exact))

    def failed(self, key: Any, types_: TypeKey, failure: Failure) -> None:
        """After the promoter recorded a failure: routers, fast path, and disarming."""
        self.specializer.on_failure(types_)
        self.refresh_fast_path()
        self.disarm_if_idle()
        if self.parent is not None and not self.armed:
            self.parent.specializer.failed(self.parent_types)

    def disarm_if_idle(self) -> None:
        """Back to (almost) zero cost when nothing is promoted or pending."""
        if not self.promotions and not self.promoter.trials and not self.specializer.routers:
            self.armed = False
            if self.parent is None:  # a value specialization has no function object
                swap_out_prologue(self)

    def pending(self, types_: TypeKey) -> bool:
        """Whether the generic variant of ``types_`` is still in its trial."""
        return self.promoter.pending(types_)

    def wants_values(self) -> bool:
        """Whether value specialization is on for it now (its setting, else ``values``)."""
        return bool(self._specialize or variant_table().options.values)

    def specialize(self, types_: TypeKey, positions: tuple[int, ...], key: ValueKey) -> Any:
        """A registered trampoline over the code with the values ``key`` frozen at
        ``positions``, or ``None`` (the reason is recorded) when the code cannot be."""
        try:
            code = specialized_code(self.code, positions, key)
        except Refused as exc:
            self.specializer.note_refused(str(exc))
            self.specializer.failed(types_, every_value=True)
            return None
        qualname = self.qualname + describe_values(self.code, positions, key)
        sub = type(self)(
            self.module, code, self.globals, self.config, None, (self, types_), qualname
        )
        register([sub])
        return sub

    def bound_trampoline(self, *form: Any) -> Trampoline:
        """See :func:`_bound_trampoline` (``form``: its arguments after ``owner``)."""
        return _bound_trampoline(self, *form)

    def signature_calls(self, types_: TypeKey | None = None) -> int:
        """The calls counted for ``types_`` before they became hot; ``None``: the most."""
        counts = self._counts
        return counts.get(types_, 0) if types_ is not None else max(counts.values(), default=0)


def _binding(code: types.CodeType) -> tuple[bool, types.CodeType]:
    """``(binds, code to compile)``: whether ``code`` takes ``*args``, ``**kwargs`` or
    keyword-only arguments (then compiled only as bound forms, which compiled callers must
    not call: backends/screening.py), and ``code`` with keyword-only arguments made
    positional."""
    binds = needs_binding(code)
    return binds, bound_form(code, Shape(0, ())) if binds and not routed(code) else code


def _bound_trampoline(
    owner: Trampoline, code: types.CodeType, suffix: str, refusal: str | None, arity: int
) -> Trampoline:
    """A registered trampoline over the bound form ``code`` of one call shape of ``owner``'s
    function (named ``f[*2, **{axis}]``), with its settings."""
    form = type(owner)(
        owner.module, code, owner.globals, owner.config, refusal, qualname=owner.qualname + suffix
    )
    form.min_calls, form.min_gain, form._specialize = owner.min_calls, owner.min_gain, False
    form.reported, form.routed_arity = owner.reported, arity
    register([form])
    return form


class _StandIn:
    """Compiled code that does nothing, for :func:`dispatch_seconds`: reached as Numba's
    is, through its entry point (C path) or its entry dispatcher (Python path)."""

    snapshot: tuple = ()
    guards = Guards()
    compiling = False

    def __init__(self, entry: Any) -> None:
        self.entry = entry

    def entry_point(self, args: tuple) -> Any:
        """The entry point for ``args``: the stand-in itself."""
        return self.entry


@functools.cache
def dispatch_seconds(arity: int) -> float:
    """Seconds :meth:`Trampoline.enter` adds to a promoted call of ``arity`` arguments.

    Measured once per process and arity on a stand-in trampoline whose variant does nothing
    (:func:`~autoaccel.policy.cost.stand_in`): a call through ``enter``
    (:func:`~autoaccel.policy.cost.call_seconds`), minus a call of the stand-in alone.
    A trial adds it to the variant's time, since every promoted call pays it. Guards whose
    cost depends on the function (frozen globals, written arguments) are timed by the trial.
    """
    standin, args = stand_in(arity)
    namespace = standin.__globals__
    trampoline = Trampoline("autoaccel.dispatch", standin.__code__, namespace, Config(), None)
    trampoline._fast = {tuple(map(type, args)): Variant(_StandIn(standin))}
    return max(call_seconds(trampoline.enter, args) - call_seconds(standin, args), 0.0)


def _exact_key(types_: TypeKey, code: types.CodeType, args: tuple) -> ExactKey:
    """The exact key of a hot call of ``code`` counted as ``types_``; an object among
    ``args`` is keyed by the fields the code reaches, those its variant converts (read by
    name: :func:`~autoaccel.runtime.keys.fingerprints`)."""
    if not any(map(is_object_class, map(type, args))):
        return ExactKey(types_, fingerprints(args))
    return ExactKey(types_, fingerprints(args, methods.resolve(code, args).fields()))
