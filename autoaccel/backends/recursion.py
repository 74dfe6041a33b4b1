"""Recursion with a depth budget: compiled code hands back before CPython's limit would bite.

Why this design: CPython raises ``RecursionError`` once a thread's Python frames pass
``sys.getrecursionlimit()``; compiled code has no such limit (docs/divergences.md, row 30:
``rec(5000)`` returns where CPython raises). So a function that calls itself is compiled in
a *depth form*: its code gets one more parameter, the levels it may still go down, and each
call of itself passes that budget less one through :func:`step`, which deoptimizes at zero.
The variant's entry is a generated function of the original parameters that starts the
recursion with the whole budget (:data:`BUDGET` levels at most). A promoted call runs
compiled only while the caller's stack is shallow enough (:func:`too_deep`) that the
frames below it, the budget of every recursive function it may reach and the chain of its
other helpers stay below the limit; otherwise, and whenever a budget runs out, the original
runs and CPython raises exactly where it would. Only direct recursion is compiled: a cycle
through other functions stays refused (:func:`autoaccel.backends.screening.helpers`).
"""

from __future__ import annotations

import functools
import inspect
import sys
import types
from typing import Any

from bytecode import Bytecode, Instr

from autoaccel.backends.variant_code import call_of, callee_load, global_call
from autoaccel.errors import RecursionBudget, Rejection

# The generated names (no user name starts with ``__aa_``: autoaccel's stand-ins do).
DEPTH, SELF, STEP = "__aa_depth", "__aa_self", "__aa_step"
BUDGET = 250  # levels one recursive function may go down in compiled code, at most
_MARGIN = 50  # frames kept free for what CPython's own calls push (comparisons, C calls)
_MIN_FRAMES = 16  # a budget leaving room for fewer caller frames is not worth compiling


def budget(limit: int) -> int:
    """Levels a recursive function may go down compiled under recursion limit ``limit``."""
    return max(0, min(BUDGET, limit // 4))


def max_frames(limit: int, recursive: int, helpers: int) -> int:
    """How many Python frames a promoted call's caller may have below it.

    Compiled code pushes no Python frames, but CPython would push one per level: the
    caller's frames (counted twice: on 3.10 and 3.11 some C calls count against the limit
    too), each recursive function's budget and the chain of the other helpers must stay
    ``_MARGIN`` below the limit.

    Args:
        limit: ``sys.getrecursionlimit()`` when compiling.
        recursive: recursive functions the variant may reach, itself included.
        helpers: functions it may reach (an upper bound on a chain of calls without
            recursion).

    Raises:
        Rejection: the room left is too small to be worth a variant.
    """
    frames = (limit - recursive * budget(limit) - helpers - _MARGIN) // 2
    if frames < _MIN_FRAMES:
        raise Rejection(
            f"is recursive, and recursion limit {limit} leaves no room for a compiled budget [30]"
        )
    return frames


def too_deep(frames: int) -> bool:
    """Whether the calling thread has more than ``frames`` Python frames below its caller.

    ``sys._getframe(n)`` walks the frames in C and raises ``ValueError`` when the stack is
    not that deep: the common, shallow case costs one caught exception (~0.4 µs).
    """
    try:
        sys._getframe(frames)
    except ValueError:
        return False
    return True


class RecursionLimit:
    """A live view of ``sys.getrecursionlimit()`` for a snapshot entry ``(view, "limit", n)``:
    while the limit is still ``n``, :attr:`limit` is that very object (snapshots compare by
    identity), and the cache key names the limit the budget was computed for."""

    __slots__ = ("compiled",)

    def __init__(self, limit: int) -> None:
        self.compiled = limit

    @property
    def limit(self) -> int:
        """The recursion limit now (the compiled object while it is unchanged)."""
        now = sys.getrecursionlimit()
        return self.compiled if now == self.compiled else now


def self_names(unit: Any, helpers: list[tuple[str, Any, Any]]) -> frozenset[str]:
    """The global names under which ``unit`` calls itself (from its helpers' walk)."""
    return frozenset(name for name, _, helper in helpers if helper is unit)


def depth_form(code: types.CodeType, names: frozenset[str]) -> types.CodeType:
    """``code`` with a last parameter :data:`DEPTH`; each call of itself, under one of
    ``names``, calls :data:`SELF` with :data:`DEPTH` less one (through :data:`STEP`).

    Raises:
        Rejection: the function uses itself otherwise than in a call with positional
            arguments (passed on as a value, called with keywords or ``*args``), or takes
            ``*args``, ``**kwargs`` or keyword-only arguments.
    """
    if code.co_kwonlyargcount or code.co_flags & 0x0C:  # CO_VARARGS | CO_VARKEYWORDS
        raise Rejection("is recursive and takes *args, **kwargs or keyword-only arguments [30]")
    bytecode = Bytecode.from_code(code)
    instructions = list(bytecode)
    replaced: dict[int, list] = {}
    for index, ins in enumerate(instructions):
        if isinstance(ins, Instr) and ins.name == "LOAD_GLOBAL" and _global(ins) in names:
            replaced.update(_self_call(instructions, index, ins))
    out: list = []
    for index, ins in enumerate(instructions):
        before = instructions[index - 1] if index else None
        if index - 1 in replaced and isinstance(before, Instr) and before.name == "PRECALL":
            continue  # 3.11: this CALL was rewritten with its PRECALL
        out.extend(replaced.get(index, [ins]))
    bytecode.clear()
    bytecode.extend(out)
    bytecode.argnames.insert(code.co_argcount, DEPTH)
    bytecode.argcount += 1
    return bytecode.to_code()


def _global(ins: Instr) -> str:
    return ins.arg[1] if isinstance(ins.arg, tuple) else ins.arg  # type: ignore[return-value]


def _self_call(instructions: list, index: int, load: Instr) -> dict[int, list]:
    """The rewriting of the self-call whose callee ``load`` (at ``index``) loads.

    Raises:
        Rejection: the loaded function is not called with positional arguments.
    """
    call = call_of(instructions, index)
    if call is None or not _positional(instructions, call):
        line = load.location.lineno if load.location else None
        where = f" (line {line})" if line else ""
        raise Rejection(f"uses itself other than in a call with positional arguments{where} [30]")
    at = instructions[call].location
    step = global_call(STEP, [Instr("LOAD_FAST", DEPTH, location=at)], at)
    return {
        index: [callee_load(SELF, load.location)],
        call: [*step, *_with_one_more(instructions, call)],
    }


def _positional(instructions: list, call: int) -> bool:
    """Whether the call at ``call`` passes positional arguments only."""
    ins = instructions[call]
    before = instructions[call - 1] if call else None
    keywords = isinstance(before, Instr) and before.name == "KW_NAMES"  # 3.11, 3.12
    return ins.name in ("CALL_FUNCTION", "PRECALL", "CALL") and not keywords


def _with_one_more(instructions: list, call: int) -> list[Instr]:
    """The call at ``call`` (and on 3.11 the ``CALL`` after its ``PRECALL``) taking one more
    argument, the budget pushed just before it."""
    ins = instructions[call]
    calls = [ins, instructions[call + 1]] if ins.name == "PRECALL" else [ins]
    return [Instr(c.name, c.arg + 1, location=c.location) for c in calls]


def check_module(function: types.FunctionType) -> None:
    """Refuse a recursive function whose module Numba would not find.

    Numba names the function it compiles after ``inspect.getmodule`` (``sys.modules``) and
    its recursive calls after ``__module__``: when the two differ (code run with ``exec``
    in a namespace that is no module of ``sys.modules``), the self-call is linked to a
    symbol never defined, and the compiled code aborts.

    Raises:
        Rejection: the module is not in ``sys.modules`` under the function's
            ``__module__``.
    """
    module = inspect.getmodule(function)
    if module is None or module.__name__ != function.__module__:
        raise Rejection(
            f"is recursive, and its module {function.__module__!r} is not in sys.modules, "
            "where Numba looks for it to compile the recursion [30]"
        )


def entry_function(
    code: types.CodeType, inner: Any, levels: int, module: str
) -> types.FunctionType:
    """A function of ``code``'s parameters that calls ``inner`` with ``levels`` to go.

    It is what the variant's dispatchers compile: the trampoline calls it as it would the
    original, and other compiled functions call it as their helper. ``module`` names the
    module it is counted in: Numba's cache rebuilds a variant's environment from it.
    """
    params = ", ".join(code.co_varnames[: code.co_argcount])
    arguments = f"{params}, {levels}" if params else str(levels)
    source = f"def {code.co_name}({params}):\n    return {SELF}({arguments})\n"
    namespace: dict = {SELF: inner, "__name__": module}
    exec(compile(source, code.co_filename, "exec", dont_inherit=True), namespace)
    function = namespace[code.co_name]
    del namespace[code.co_name]
    return function


@functools.cache
def step_function() -> Any:
    """The compiled :data:`STEP`: the budget less one, or :class:`RecursionBudget` at zero."""
    import numba

    @numba.njit(inline="always")
    def step(depth: int) -> int:
        if depth <= 0:
            raise RecursionBudget("recursion deeper than its compiled budget")
        return depth - 1

    return step
