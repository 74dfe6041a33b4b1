"""Value specialization: variants with an argument frozen as a constant, guarded on its value.

Why this design: a trading signal called again and again with ``ma_type="EMA"`` does not need
a variant that handles every ``ma_type``; with the argument frozen as a constant, Numba prunes
the branches of the other types, so the variant can be faster, and a function that Numba
cannot compile in general (a ``str`` argument, which autoaccel does not pass to Numba, or a
branch Numba cannot type) can compile for one value. So while a signature is counted, the
values of its ``str``, ``int``, ``bool`` and small int-tuple arguments are counted too
(:class:`ValueStats`); when a few values cover most calls, a router
(:mod:`autoaccel.runtime.specializer`) sends the calls with those values to a trampoline each,
over the code with the argument replaced by the value (``LOAD_FAST`` -> ``LOAD_CONST``,
argument removed; :func:`specialized_code`). Dispatch is guarded on ``(type, value)``, so
``1``, ``True`` and ``1.0`` never share a variant. The frozen value is a constant of the specialized code, so the disk cache's
keys (which hash the code with its constants) and the decision's name both contain it.

Ints and bools are frozen only where the function branches on them (``if flag:``,
``if mode == 2:``), so that an integer such as a window length is not compiled once per
value for nothing; strs and tuples always, because Numba gets them only this way.
"""

from __future__ import annotations

import operator
import types
from typing import Any

from bytecode import Bytecode, Instr

_MAX_TUPLE = 8  # a "small tuple of ints"
_TRACK_LIMIT = 32  # distinct values per argument beyond which it is no longer counted
_JUMPS = ("POP_JUMP", "JUMP_IF", "TO_BOOL", "UNARY_NOT")
_COMPARES = ("COMPARE_OP", "CONTAINS_OP", "IS_OP")

ValueKey = tuple[tuple[type, Any], ...]


class Refused(Exception):
    """The function cannot be specialized on these arguments; ``str(exc)`` says why."""


def eligible(value: Any) -> bool:
    """Whether ``value`` can be frozen: a str, int, bool, or a tuple of at most 8 ints."""
    kind = value.__class__
    if kind is tuple:
        return len(value) <= _MAX_TUPLE and all(item.__class__ is int for item in value)
    return kind in (str, int, bool)


def branched_on(code: types.CodeType) -> frozenset[str]:
    """Arguments of ``code`` it branches on directly: tested, or compared with a constant."""
    instructions = [i for i in Bytecode.from_code(code) if isinstance(i, Instr)]
    names: set[Any] = set()
    for index, ins in enumerate(instructions[:-1]):
        if ins.name != "LOAD_FAST":
            continue
        after = instructions[index + 1]
        if after.name.startswith(_JUMPS) or (
            after.name == "LOAD_CONST"
            and index + 2 < len(instructions)
            and instructions[index + 2].name in _COMPARES
        ):
            names.add(ins.arg)
    return frozenset(names)


class ValueStats:
    """Counts of the values each freezable argument took over one signature's calls.

    Args:
        code: the function's original code (to know which ints it branches on).
        types_: the signature's argument types.
    """

    def __init__(self, code: types.CodeType, types_: tuple) -> None:
        tested = branched_on(code)
        names = code.co_varnames[: len(types_)]
        self.calls = 0
        # Numba gets a str or tuple argument's value only by freezing it
        self.always = {position for position, kind in enumerate(types_) if kind in (str, tuple)}
        self.counts: dict[int, dict[Any, int]] = {
            position: {}
            for position, kind in enumerate(types_)
            if kind in (str, tuple) or (kind in (int, bool) and names[position] in tested)
        }

    def record(self, args: tuple) -> None:
        """Count one call's values (an argument with too many distinct values is dropped)."""
        self.calls += 1
        for position, counts in list(self.counts.items()):
            value = args[position]
            if not eligible(value) or (value not in counts and len(counts) >= _TRACK_LIMIT):
                del self.counts[position]
                continue
            counts[value] = counts.get(value, 0) + 1

    def plan(self, threshold: float, max_values: int) -> tuple[int, ...]:
        """Positions to freeze.

        A position qualifies when its ``max_values`` commonest values cover ``threshold``
        of the calls counted; a str or tuple position always does, because its value can
        reach Numba no other way (the router still gives at most ``max_values``
        values a variant).
        """
        chosen = []
        for position, counts in self.counts.items():
            top = sorted(counts.values(), reverse=True)[:max_values]
            if position in self.always or sum(top) >= threshold * max(self.calls, 1):
                chosen.append(position)
        return tuple(chosen)


def value_key(args: tuple, positions: tuple[int, ...]) -> ValueKey | None:
    """The guard's key for ``args``: ``(type, value)`` per frozen position, or ``None``."""
    key = []
    for position in positions:
        value = args[position]
        if not eligible(value):
            return None
        key.append((value.__class__, value))
    return tuple(key)


def describe_values(code: types.CodeType, positions: tuple[int, ...], key: ValueKey) -> str:
    """``"[mode='EMA', flag=True]"``: the suffix naming a specialization."""
    names = code.co_varnames
    return (
        "[" + ", ".join(f"{names[p]}={v!r}" for p, (_, v) in zip(positions, key, strict=True)) + "]"
    )


def specialized_code(
    code: types.CodeType, positions: tuple[int, ...], key: ValueKey
) -> types.CodeType:
    """``code`` with the arguments at ``positions`` replaced by the values in ``key``.

    The arguments are removed from the signature, so the result takes the other arguments
    in their order; its qualified name ends with :func:`describe_values`.

    Raises:
        Refused: an argument is assigned, deleted or captured by a nested function, or the
            code compares identities (``is``) with a value whose identity is not unique.
    """
    names = [code.co_varnames[p] for p in positions]
    values = dict(zip(names, (value for _, value in key), strict=True))
    captured = [n for n in names if n in code.co_cellvars]
    if captured:
        raise Refused(f"its argument {captured[0]} is used by a nested function")
    bytecode = Bytecode.from_code(code)
    _split_pairs(bytecode, values)
    for index, ins in enumerate(bytecode):
        if not isinstance(ins, Instr):
            continue
        if ins.name == "IS_OP" and any(type(v) is not bool for v in values.values()):
            raise Refused("compares identities (is), which an equal frozen value may not share")
        if ins.name == "LOAD_FAST" and ins.arg in values:
            bytecode[index] = Instr("LOAD_CONST", values[str(ins.arg)], location=ins.location)
        elif "FAST" in ins.name and _mentions(ins.arg, values):
            raise Refused(f"assigns or deletes its argument {ins.arg}")
    _fold_comparisons(bytecode)
    for name, position in zip(names, positions, strict=True):
        bytecode.argnames.remove(name)
        if position < code.co_posonlyargcount:
            bytecode.posonlyargcount -= 1
    bytecode.argcount -= len(names)
    result = bytecode.to_code()
    qualname = getattr(code, "co_qualname", code.co_name) + describe_values(code, positions, key)
    if hasattr(result, "co_qualname"):
        result = result.replace(co_qualname=qualname)
    return result


# 3.13's superinstructions on two locals, and the two instructions each stands for.
_PAIRS = {
    "LOAD_FAST_LOAD_FAST": ("LOAD_FAST", "LOAD_FAST"),
    "STORE_FAST_LOAD_FAST": ("STORE_FAST", "LOAD_FAST"),
    "STORE_FAST_STORE_FAST": ("STORE_FAST", "STORE_FAST"),
}


def _split_pairs(bytecode: Bytecode, names: dict[str, Any]) -> None:
    """Split 3.13's ``LOAD_FAST_LOAD_FAST (mode, x)`` and the like where they use ``names``.

    Each half is then one plain instruction, so a frozen argument's load becomes a
    ``LOAD_CONST`` of its own and a store to it is refused as any store is.
    """
    for index in range(len(bytecode) - 1, -1, -1):
        ins = bytecode[index]
        if isinstance(ins, Instr) and ins.name in _PAIRS and _mentions(ins.arg, names):
            pair: tuple[str, str] = ins.arg  # type: ignore[assignment]
            bytecode[index : index + 1] = [
                Instr(name, arg, location=ins.location)
                for name, arg in zip(_PAIRS[ins.name], pair, strict=True)
            ]


_COMPARE = {
    "EQ": operator.eq,
    "NE": operator.ne,
    "LT": operator.lt,
    "LE": operator.le,
    "GT": operator.gt,
    "GE": operator.ge,
}


def _fold_comparisons(bytecode: Bytecode) -> None:
    """Replace ``const <op> const`` by its result, so Numba sees a constant condition.

    autoaccel routes comparisons to checked operations (:mod:`autoaccel.backends.variant_code`),
    which Numba cannot evaluate while it prunes branches; a comparison of the frozen value
    with a literal is decided here instead, with CPython's own operators.
    """
    index = 0
    while index + 2 < len(bytecode):
        first, second, op = bytecode[index : index + 3]
        if (
            isinstance(first, Instr)
            and isinstance(second, Instr)
            and isinstance(op, Instr)
            and first.name == second.name == "LOAD_CONST"
        ):
            folded = _folded(first.arg, second.arg, op)
            if folded is not None:
                bytecode[index : index + 3] = [Instr("LOAD_CONST", folded[0], location=op.location)]
                index = max(index - 1, 0)  # the result may start a new foldable triple
                continue
        index += 1


def _folded(left: Any, right: Any, op: Instr) -> tuple[bool] | None:
    try:
        compare = getattr(op.arg, "name", None)  # a bytecode.Compare member
        if compare is not None:  # 3.13's EQ_CAST...: the result converted to bool, as here
            compare = compare.removesuffix("_CAST")
        if op.name == "COMPARE_OP" and compare in _COMPARE:
            return (bool(_COMPARE[compare](left, right)),)
        if op.name == "CONTAINS_OP":
            return ((left in right) != bool(op.arg),)
        if op.name == "IS_OP" and type(left) is bool:
            return ((left is right) != bool(op.arg),)
    except Exception:  # e.g. "a" < 1: left for CPython to raise at run time
        return None
    return None


def _mentions(arg: Any, names: dict[str, Any]) -> bool:
    parts = arg if isinstance(arg, tuple) else (arg,)
    return any(part in names for part in parts if isinstance(part, str))
