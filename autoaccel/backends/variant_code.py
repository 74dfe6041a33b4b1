"""The variant's code: the original bytecode with checked operations swapped in.

Why this design: Numba compiles from bytecode, so the cheapest place to make it use the
checked operations of :mod:`autoaccel.backends.checked_ops` is the code object it is given. Each
``BINARY_OP`` among ``+ - * / // ** <<`` (and their in-place forms), each unary ``-`` and ``~``,
and each call of ``int``, ``round`` or a ``math`` function becomes a call of a stand-in
global (``__aa_add__``, ``__aa_math_sqrt__``...), which the compiler puts in the variant's
private globals. The original function's code is never changed; only the copy Numba sees.
Uses the ``bytecode`` library (the same as :mod:`autoaccel.rewrite.prologue`).

The shapes recognised differ per Python version, and each is listed where it is matched:
3.10 has one opcode per operator (``BINARY_ADD``, ``INPLACE_ADD``...), ``CALL_FUNCTION`` and
``LOAD_METHOD``/``CALL_METHOD``, and its ``LOAD_GLOBAL`` does not say whether the global is
called; 3.11 has ``BINARY_OP``, ``PRECALL``/``CALL`` and a NULL bit on ``LOAD_GLOBAL``; 3.12
drops ``PRECALL`` and gives ``LOAD_ATTR`` a method bit; 3.13 pushes the NULL after the callable
(``PUSH_NULL`` after ``LOAD_ATTR``) and marks comparisons that feed a jump (``Compare.LT_CAST``).
"""

from __future__ import annotations

import builtins
import sys
import types
from collections.abc import Callable, Iterator
from typing import Any

from bytecode import BinaryOp, Bytecode, Compare, Instr, Label

_PY310 = sys.version_info < (3, 11)  # CALL_FUNCTION, CALL_METHOD, one opcode per operator
_NEEDS_PRECALL = (3, 11) <= sys.version_info < (3, 12)
# 3.13 loads a called attribute of a module as LOAD_ATTR followed by PUSH_NULL; before, a
# PUSH_NULL after LOAD_ATTR starts the next call's callee, so the shape means nothing there.
_NULL_AFTER_CALLABLE = sys.version_info >= (3, 13)
# The opcodes that call a method loaded by LOAD_METHOD (3.10, 3.11) or LOAD_ATTR (3.12+).
_METHOD_CALL = ["CALL_METHOD"] if _PY310 else ["PRECALL", "CALL"] if _NEEDS_PRECALL else ["CALL"]
_LHS, _RHS = "__aa_lhs", "__aa_rhs"

_OPERATIONS = {
    BinaryOp.ADD: ("add", False),
    BinaryOp.SUBTRACT: ("sub", False),
    BinaryOp.MULTIPLY: ("mul", False),
    BinaryOp.TRUE_DIVIDE: ("truediv", False),
    BinaryOp.POWER: ("pow", False),
    BinaryOp.LSHIFT: ("lshift", False),
    BinaryOp.FLOOR_DIVIDE: ("floordiv", False),
    BinaryOp.INPLACE_ADD: ("add", True),
    BinaryOp.INPLACE_SUBTRACT: ("sub", True),
    BinaryOp.INPLACE_MULTIPLY: ("mul", True),
    BinaryOp.INPLACE_TRUE_DIVIDE: ("truediv", True),
    BinaryOp.INPLACE_POWER: ("pow", True),
    BinaryOp.INPLACE_LSHIFT: ("lshift", True),
    BinaryOp.INPLACE_FLOOR_DIVIDE: ("floordiv", True),
}
# Python 3.10's opcodes for the same operations (3.11 merged them into BINARY_OP).
_OPCODE_OPERATIONS = {
    (op.name if op.name.startswith("INPLACE_") else f"BINARY_{op.name}"): operation
    for op, operation in _OPERATIONS.items()
}
_UNARY = {"UNARY_NEGATIVE": "negative", "UNARY_INVERT": "invert"}
_COMPARISONS = {
    Compare.LT: "lt",
    Compare.LE: "le",
    Compare.EQ: "eq",
    Compare.NE: "ne",
    Compare.GT: "gt",
    Compare.GE: "ge",
}
_MODULES = ("math", "numpy")


def checked_code(code: types.CodeType, namespace: dict) -> tuple[types.CodeType, dict]:
    """``code`` calling checked operations, and the globals those calls need.

    Args:
        code: a function's original code object.
        namespace: the function's globals (to resolve ``int``, ``math`` and ``from math
            import sqrt`` to the objects they name at compile time).

    Returns:
        ``(new code, {global name: checked stand-in})``.
    """
    from autoaccel.backends import (
        checked_ops as _checked_ops,  # imports Numba; only reached when compiling
    )

    rewriter = _Rewriter(namespace, _checked_ops)
    bytecode = Bytecode.from_code(code)
    rewritten = list(rewriter.rewrite(list(bytecode)))
    bytecode.clear()
    bytecode.extend(rewritten)
    return bytecode.to_code(), rewriter.needed


class _Rewriter:
    """One pass over a function's instructions, collecting the stand-ins it uses."""

    def __init__(self, namespace: dict, ops: Any) -> None:
        self.namespace = namespace
        self.ops = ops
        self.needed: dict[str, Callable[..., Any]] = {}
        # 3.10: indexes of the CALL_METHODs whose LOAD_METHOD became a stand-in's LOAD_GLOBAL
        self.plain_calls: set[int] = set()

    def rewrite(self, instructions: list[Any]) -> Iterator[Any]:
        skip = 0
        for index, ins in enumerate(instructions):
            if skip:
                skip -= 1
                continue
            if not isinstance(ins, Instr):
                yield ins
                continue
            arg = _argument(ins)
            operation = _binary_operation(ins)
            comparison = _comparison(ins)
            if index in self.plain_calls:
                yield Instr("CALL_FUNCTION", arg, location=ins.location)
            elif operation is not None:
                yield from self._call(self.ops.BINARY[operation], ins, (_RHS, _LHS))
            elif comparison is not None:
                name, to_bool = comparison
                yield from self._call(self.ops.COMPARE[name], ins, (_RHS, _LHS))
                if to_bool:  # 3.13: the jump after a *_CAST comparison expects a bool
                    yield Instr("TO_BOOL", location=ins.location)
            elif ins.name in _UNARY:
                yield from self._call(getattr(self.ops, _UNARY[ins.name]), ins, (_LHS,))
            elif ins.name == "LOAD_GLOBAL":
                replacement, skip = self._load_global(instructions, index)
                yield replacement
            elif _method_without_arguments(instructions[index : index + 3]) in self.ops.METHODS:
                method = self.ops.METHODS[_attribute_name(ins)]
                yield from self._call(method, ins, (_LHS,))
                skip = 2 if _NEEDS_PRECALL else 1
            else:
                yield ins

    def _stand_in(self, function: Callable[..., Any]) -> str:
        name = f"__aa_{function.__name__}__"
        self.needed[name] = function
        return name

    def _call(self, function: Callable[..., Any], ins: Instr, stored: tuple) -> Iterator[Instr]:
        """Pop the operands into temporaries and call ``function`` on them, in order."""
        location = ins.location
        for name in stored:
            yield Instr("STORE_FAST", name, location=location)
        loads = [Instr("LOAD_FAST", name, location=location) for name in reversed(stored)]
        yield from global_call(self._stand_in(function), loads, location)

    def _load_stand_in(self, function: Callable[..., Any], location: Any) -> Instr:
        """Load ``function`` as a callee (3.11+: with the NULL that ``CALL`` expects)."""
        return callee_load(self._stand_in(function), location)

    def _resolve(self, name: str) -> Any:
        if name in self.namespace:
            return self.namespace[name]
        return getattr(builtins, name, None)

    def _load_global(self, instructions: list[Any], index: int) -> tuple[Instr, int]:
        """``int(...)``/``sqrt(...)`` or ``math.sqrt(...)`` as a stand-in call, else the load.

        Returns the instruction to emit for ``instructions[index]`` and how many following
        ones it replaces.
        """
        ins = instructions[index]
        push_null, name = _global_argument(ins)
        value = self._resolve(name)
        if getattr(value, "__name__", None) in _MODULES:
            attribute, covered = _called_attribute(instructions, index, push_null)
            checked = self.ops.CALLS.get(id(getattr(value, attribute or "", None)))
            if attribute and checked is not None:
                if _PY310 and instructions[index + 1].name == "LOAD_METHOD":
                    call = call_of(instructions, index + 1)
                    if call is None:  # the compiler always pairs them; never guess
                        raise ValueError(f"no CALL_METHOD found for {name}.{attribute}")
                    self.plain_calls.add(call)
                return self._load_stand_in(checked, ins.location), covered
        if push_null is None:  # 3.10: called when a call consumes the loaded value
            push_null = call_of(instructions, index) is not None
        checked = self.ops.CALLS.get(id(value)) if push_null else None
        if checked is None:
            return ins, 0
        return self._load_stand_in(checked, ins.location), 0


def callee_load(name: str, location: Any) -> Instr:
    """``LOAD_GLOBAL name`` as a callee (3.11+: with the NULL that ``CALL`` expects)."""
    return Instr("LOAD_GLOBAL", name if _PY310 else (True, name), location=location)


def global_call(name: str, loads: list[Instr], location: Any) -> list[Instr]:
    """Instructions that call global ``name`` on what ``loads`` push, leaving the result."""
    count = len(loads)
    opcodes = ["CALL_FUNCTION"] if _PY310 else ["PRECALL", "CALL"] if _NEEDS_PRECALL else ["CALL"]
    calls = [Instr(opcode, count, location=location) for opcode in opcodes]
    return [callee_load(name, location), *loads, *calls]


def _binary_operation(ins: Instr) -> tuple[str, bool] | None:
    """``(operation, in place)`` of a checked binary operator, or ``None``."""
    if ins.name == "BINARY_OP":
        return _OPERATIONS.get(_argument(ins))
    return _OPCODE_OPERATIONS.get(ins.name)  # 3.10


def _comparison(ins: Instr) -> tuple[str, bool] | None:
    """``(operation, result converted to bool)`` of a checked comparison, or ``None``.

    3.13 sets bit 16 of COMPARE_OP's argument (``Compare.LT_CAST``...) where the compiler
    dropped the ``TO_BOOL`` between the comparison and a jump.
    """
    if ins.name != "COMPARE_OP":
        return None
    arg = int(_argument(ins))
    name = _COMPARISONS.get(Compare(arg & 15))
    return None if name is None else (name, bool(arg & 16))


def _global_argument(ins: Instr) -> tuple[bool | None, str]:
    """``(NULL pushed, name)`` of a ``LOAD_GLOBAL``; 3.10's does not tell: ``None``."""
    arg = _argument(ins)
    return (None, arg) if isinstance(arg, str) else (bool(arg[0]), arg[1])


def _called_attribute(
    instructions: list[Any], index: int, null_pushed: bool | None
) -> tuple[str | None, int]:
    """The attribute of the module loaded at ``index`` that is called, and its instructions.

    Returns ``(attribute name, how many instructions after index load it)`` when the code
    loads a module attribute to call it, else ``(None, 0)``. The shapes, per version:
    3.10: ``LOAD_METHOD sqrt``, or ``LOAD_ATTR sqrt`` consumed by a call (keywords or ``*``);
    3.11: ``LOAD_GLOBAL (NULL + math); LOAD_ATTR sqrt`` for a module this module imported,
    ``LOAD_METHOD sqrt`` for another global module; 3.12: ``LOAD_ATTR (False, "sqrt")`` after
    a NULL, else ``LOAD_ATTR (True, "sqrt")``; 3.13: ``LOAD_ATTR (False, "sqrt"); PUSH_NULL``,
    else ``LOAD_ATTR (True, "sqrt")``.
    """
    following = instructions[index + 1 : index + 3]
    ins = following[0] if following else None
    if not isinstance(ins, Instr) or ins.name not in ("LOAD_ATTR", "LOAD_METHOD"):
        return None, 0
    name = _attribute_name(ins)
    if ins.name == "LOAD_METHOD":
        return name, 1
    arg = _argument(ins)
    method = isinstance(arg, tuple) and bool(arg[0])
    if method or null_pushed:
        return name, 1
    after = following[1] if len(following) > 1 else None
    if _NULL_AFTER_CALLABLE and isinstance(after, Instr) and after.name == "PUSH_NULL":
        return name, 2
    if null_pushed is None and call_of(instructions, index + 1) is not None:
        return name, 1
    return None, 0


def call_of(instructions: list[Any], start: int) -> int | None:
    """The index of the call whose callee is the value ``instructions[start]`` pushes.

    Follows the stack depth above that value (above both slots of a 3.11+ ``LOAD_GLOBAL``
    that pushes a NULL too) through the instructions after it, jumps included, as the
    compiler lays out conditional expressions; ``None`` when something else pops the value
    first. A ``LOAD_METHOD`` pushes the callee in two slots, which only ``CALL_METHOD``
    consumes. On 3.11 the call found is the ``PRECALL`` before its ``CALL``.
    """
    method = instructions[start].name == "LOAD_METHOD"
    depth = 0  # stack items above the value
    at_label: dict[Label, int] = {}
    reachable = True
    for index in range(start + 1, len(instructions)):
        ins = instructions[index]
        if isinstance(ins, Label):
            if ins in at_label:
                depth, reachable = at_label[ins], True
            continue
        if not isinstance(ins, Instr) or not reachable:
            continue
        if _arguments_of_call(ins, method) == depth:
            return index
        pops, pushes = ins.pre_and_post_stack_effect(jump=False)
        if ins.name == "LOAD_METHOD":
            pops, pushes = -1, 2  # bytecode counts its net effect only
        if depth + pops < 0:
            return None
        if ins.has_jump():
            at_label[_argument(ins)] = depth + ins.stack_effect(jump=True)
        depth += pops + pushes
        if ins.is_final():
            reachable = False
    return None


def _arguments_of_call(ins: Instr, method: bool) -> int | None:
    """How many stack items above its callee ``ins`` pops, if it is a call.

    3.10: ``CALL_FUNCTION``, ``CALL_FUNCTION_KW``, ``CALL_METHOD``; 3.11: ``PRECALL`` (its
    ``CALL`` then pops the callee); 3.12+: ``CALL``; 3.13: ``CALL_KW``; all:
    ``CALL_FUNCTION_EX``.
    """
    arg = _argument(ins)
    if method:  # a LOAD_METHOD's callee is consumed by CALL_METHOD only
        return arg if ins.name == "CALL_METHOD" else None
    if ins.name in ("CALL_FUNCTION", "PRECALL") or (ins.name == "CALL" and not _NEEDS_PRECALL):
        return arg
    if ins.name in ("CALL_FUNCTION_KW", "CALL_KW"):
        return arg + 1  # and the tuple of keyword names
    if ins.name == "CALL_FUNCTION_EX":
        return 1 + (arg & 1)  # the argument tuple, and the keyword dict if any
    return None


def _method_without_arguments(instructions: list[Any]) -> str | None:
    """The method name if these instructions call ``obj.name()`` with no arguments."""
    if not instructions or not isinstance(instructions[0], Instr):
        return None
    first, rest = instructions[0], instructions[1:]
    expected = _METHOD_CALL
    calls = [(i.name, _argument(i)) for i in rest[: len(expected)] if isinstance(i, Instr)]
    if calls != [(name, 0) for name in expected]:
        return None
    if first.name == "LOAD_METHOD" or (
        first.name == "LOAD_ATTR" and isinstance(first.arg, tuple) and bool(first.arg[0])
    ):
        return _attribute_name(first)
    return None


def _attribute_name(ins: Instr) -> str:
    arg = _argument(ins)
    return arg if isinstance(arg, str) else arg[1]


def _argument(ins: Instr) -> Any:
    """The instruction's argument, whose type depends on the opcode."""
    return ins.arg
