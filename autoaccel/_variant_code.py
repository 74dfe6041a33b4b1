"""The variant's code: the original bytecode with checked operations swapped in.

Why this design: Numba compiles from bytecode, so the cheapest place to make it use the
checked operations of :mod:`autoaccel._checked_ops` is the code object it is given. Each
``BINARY_OP`` among ``+ - * / // ** <<`` (and their in-place forms), each unary ``-`` and ``~``,
and each call of ``int``, ``round`` or a ``math`` function becomes a call of a stand-in
global (``__aa_add__``, ``__aa_math_sqrt__``...), which the compiler puts in the variant's
private globals. The original function's code is never changed; only the copy Numba sees.
Uses the ``bytecode`` library (the same as :mod:`autoaccel._rewriter`).
"""

from __future__ import annotations

import builtins
import sys
import types
from collections.abc import Callable, Iterator
from typing import Any

from bytecode import BinaryOp, Bytecode, Compare, Instr

_NEEDS_PRECALL = sys.version_info < (3, 12)
# 3.13 loads a called attribute of a module as LOAD_ATTR followed by PUSH_NULL; before, a
# PUSH_NULL after LOAD_ATTR starts the next call's callee, so the shape means nothing there.
_NULL_AFTER_CALLABLE = sys.version_info >= (3, 13)
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
    from autoaccel import _checked_ops  # imports Numba; only reached when compiling

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
            comparison = _comparison(ins)
            if ins.name == "BINARY_OP" and arg in _OPERATIONS:
                yield from self._call(self.ops.BINARY[_OPERATIONS[arg]], ins, (_RHS, _LHS))
            elif comparison is not None:
                name, to_bool = comparison
                yield from self._call(self.ops.COMPARE[name], ins, (_RHS, _LHS))
                if to_bool:  # 3.13: the jump after a *_CAST comparison expects a bool
                    yield Instr("TO_BOOL", location=ins.location)
            elif ins.name in _UNARY:
                yield from self._call(getattr(self.ops, _UNARY[ins.name]), ins, (_LHS,))
            elif ins.name == "LOAD_GLOBAL":
                replacement, skip = self._load_global(ins, instructions[index + 1 : index + 3])
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
        yield Instr("LOAD_GLOBAL", (True, self._stand_in(function)), location=location)
        for name in reversed(stored):
            yield Instr("LOAD_FAST", name, location=location)
        if _NEEDS_PRECALL:
            yield Instr("PRECALL", len(stored), location=location)
        yield Instr("CALL", len(stored), location=location)

    def _resolve(self, name: str) -> Any:
        if name in self.namespace:
            return self.namespace[name]
        return getattr(builtins, name, None)

    def _load_global(self, ins: Instr, following: list[Any]) -> tuple[Instr, int]:
        """``int(...)``/``sqrt(...)`` or ``math.sqrt(...)`` as a stand-in call, else ``ins``.

        Returns the instruction to emit and how many following ones it replaces.
        """
        push_null, name = _argument(ins)
        value = self._resolve(name)
        module = getattr(value, "__name__", None) in _MODULES
        covered = _called_attribute(push_null, following) if module else 0
        if covered:
            attribute = getattr(value, _attribute_name(following[0]), None)
            checked = self.ops.CALLS.get(id(attribute))
            if checked is not None:
                return self._renamed(ins, checked), covered
        checked = self.ops.CALLS.get(id(value)) if push_null else None
        if checked is None:
            return ins, 0
        return self._renamed(ins, checked), 0

    def _renamed(self, ins: Instr, checked: Callable[..., Any]) -> Instr:
        return Instr("LOAD_GLOBAL", (True, self._stand_in(checked)), location=ins.location)


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


def _called_attribute(null_pushed: bool, following: list[Any]) -> int:
    """How many of the instructions ``following`` a module's load call its attribute, or 0.

    3.13 loads it with ``LOAD_ATTR (False, "sqrt"); PUSH_NULL`` (2) where 3.12 pushed the
    NULL before the module; the other shapes are one instruction (:func:`_is_call_attribute`).
    """
    if not following:
        return 0
    if _is_call_attribute(null_pushed, following[0]):
        return 1
    after = following[1] if len(following) > 1 else None
    if _NULL_AFTER_CALLABLE and isinstance(after, Instr) and after.name == "PUSH_NULL":
        return 2 if isinstance(following[0], Instr) and following[0].name == "LOAD_ATTR" else 0
    return 0


def _is_call_attribute(null_pushed: bool, ins: Any) -> bool:
    """Whether ``ins`` loads a module attribute to be called.

    3.11 emits ``LOAD_GLOBAL (NULL + math); LOAD_ATTR sqrt`` for a module this module
    imported and ``LOAD_METHOD sqrt`` for another global module; 3.12 emits
    ``LOAD_ATTR (False, "sqrt")`` after the NULL and ``LOAD_ATTR (True, "sqrt")`` otherwise.
    """
    if not isinstance(ins, Instr):
        return False
    arg = _argument(ins)
    if null_pushed:
        return ins.name == "LOAD_ATTR" and (isinstance(arg, str) or not arg[0])
    if ins.name == "LOAD_METHOD":
        return True
    return ins.name == "LOAD_ATTR" and isinstance(arg, tuple) and bool(arg[0])


def _method_without_arguments(instructions: list[Any]) -> str | None:
    """The method name if these instructions call ``obj.name()`` with no arguments."""
    if not instructions or not isinstance(instructions[0], Instr):
        return None
    first, rest = instructions[0], instructions[1:]
    expected = ["PRECALL", "CALL"] if _NEEDS_PRECALL else ["CALL"]
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
