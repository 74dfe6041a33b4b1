"""The attributes a function reads, stores and calls on each of its parameters, from bytecode.

Why this design: an object argument converts to a record of its attributes
(:mod:`autoaccel.boundary.objects`), and compiled code can use only its fields. A method that
calls ``self.other()``, reads an attribute the object does not hold as a field, or sets one
it does not have, fails Numba's typing; knowing this before compiling saves the compile (and
Numba's import), which on pyperformance's object-heavy scripts cost seconds a run. Only the
direct forms are read: ``p.name`` where the instruction before loads the parameter ``p``
(``LOAD_FAST``, or 3.13's ``LOAD_FAST_LOAD_FAST`` whose second name it is), or duplicates it
just after loading it (an augmented ``p.name += v``), for a parameter the function never
rebinds. What this misses (an attribute used through an alias or in
a helper) Numba's typing still refuses.

Version differences: 3.10 and 3.11 load a method with ``LOAD_METHOD``; 3.12 and later with
``LOAD_ATTR`` whose low argument bit is set.
"""

from __future__ import annotations

import ast
import dis
import functools
import sys
import types
from typing import NamedTuple

_METHOD_BIT = sys.version_info >= (3, 12)  # LOAD_ATTR's low bit: a method load
_LOADS_ONE = frozenset(("LOAD_FAST", "LOAD_FAST_CHECK"))
_ATTRIBUTE_OPS = frozenset(("LOAD_ATTR", "LOAD_METHOD", "STORE_ATTR"))
_BINDS = frozenset(("STORE_FAST", "DELETE_FAST", "STORE_FAST_STORE_FAST", "STORE_FAST_LOAD_FAST"))


class AttributeUses(NamedTuple):
    """What a function does with one parameter's attributes (names, in first-use order).

    Attributes:
        loads: attributes read (``p.x``).
        stores: attributes set (``p.x = v``; an augmented ``p.x += v`` reads and sets).
        methods: attributes called as methods (``p.m(...)``).
        complete: every use of the parameter is one of these (it is never passed on,
            aliased, returned or captured by a closure).
    """

    loads: tuple[str, ...]
    stores: tuple[str, ...]
    methods: tuple[str, ...]
    complete: bool = False

    def fields(self) -> frozenset[str] | None:
        """The attributes the code can reach, methods included, if these uses are all of it
        (the parameter is never passed on, aliased or captured), else ``None``: an object
        converted for this code needs no other field."""
        return frozenset((*self.loads, *self.stores, *self.methods)) if self.complete else None


def attribute_uses(code: types.CodeType) -> tuple[AttributeUses | None, ...]:
    """Per positional parameter of ``code``, its :class:`AttributeUses`, or ``None`` for a
    parameter the function rebinds (its name then stands for other values too)."""
    try:
        return _cached_uses(code)
    except TypeError:  # a code object holding an unhashable constant (a bound form's dict)
        return _uses(code)


@functools.lru_cache(maxsize=1024)
def _cached_uses(code: types.CodeType) -> tuple[AttributeUses | None, ...]:
    return _uses(code)


def _uses(code: types.CodeType) -> tuple[AttributeUses | None, ...]:
    params = code.co_varnames[: code.co_argcount]
    instructions = list(dis.get_instructions(code))
    rebound: set[str] = set()
    for instruction in instructions:
        if instruction.opname in _BINDS:
            argval = instruction.argval
            rebound.update(argval if isinstance(argval, tuple) else (argval,))
    found: dict[str, tuple[dict, dict, dict]] = {name: ({}, {}, {}) for name in params}
    loaded = {name: _loads_of(instructions, name) for name in params}
    as_receiver = dict.fromkeys(params, 0)
    for at, instruction in enumerate(instructions[1:], 1):
        receiver = _loaded(instructions[at - 1])
        augmented = receiver is None and at > 1 and _duplicates(instructions[at - 1])
        if augmented:  # p.x += v: LOAD_FAST p, COPY 1 (DUP_TOP on 3.10), LOAD_ATTR x
            receiver = _loaded(instructions[at - 2])
        if receiver not in found or receiver in rebound:
            continue
        loads, stores, methods = found[receiver]
        name = instruction.argval
        if instruction.opname in _ATTRIBUTE_OPS and not (
            augmented and instruction.opname == "STORE_ATTR"
        ):
            as_receiver[receiver] += 1
        if _loads_method(instruction):
            methods[name] = None
        elif instruction.opname == "LOAD_ATTR":
            loads[name] = None
            if augmented:  # ... and later SWAP 2 (ROT_TWO), STORE_ATTR x
                stores[name] = None
        elif instruction.opname == "STORE_ATTR" and not augmented:
            stores[name] = None
    captured = set(code.co_cellvars)
    return tuple(
        None
        if name in rebound
        else _uses_of(found[name], name not in captured and as_receiver[name] == loaded[name])
        for name in params
    )


def global_attribute_uses(code: types.CodeType) -> dict[str, AttributeUses]:
    """Per global name ``code`` loads, the attributes it reads (``Geodesic.nC1_``) and
    calls (``Math.sq(x)``) on it; complete where every load of the global is followed by
    one of these (a class used as a namespace, never called, passed on or set)."""
    instructions = list(dis.get_instructions(code))
    found: dict[str, tuple[dict, dict, dict]] = {}
    complete: dict[str, bool] = {}
    for at, instruction in enumerate(instructions):
        if instruction.opname != "LOAD_GLOBAL":
            continue
        name = instruction.argval
        loads, _, methods = found.setdefault(name, ({}, {}, {}))
        after = instructions[at + 1] if at + 1 < len(instructions) else None
        if after is not None and _loads_method(after):
            methods[after.argval] = None
        elif after is not None and after.opname == "LOAD_ATTR":
            loads[after.argval] = None
        else:
            complete[name] = False
    return {name: _uses_of(uses, complete.get(name, True)) for name, uses in found.items()}


def _loads_method(instruction: dis.Instruction) -> bool:
    """Whether ``instruction`` loads an attribute to call it (3.10, 3.11: ``LOAD_METHOD``;
    3.12 and later: ``LOAD_ATTR`` with its low argument bit set)."""
    return instruction.opname == "LOAD_METHOD" or (
        instruction.opname == "LOAD_ATTR" and _METHOD_BIT and bool((instruction.arg or 0) & 1)
    )


def _loads_of(instructions: list[dis.Instruction], name: str) -> int:
    """How many times ``instructions`` push local ``name``."""
    count = 0
    for instruction in instructions:
        if instruction.opname in _LOADS_ONE or instruction.opname == "LOAD_FAST_AND_CLEAR":
            count += instruction.argval == name
        elif instruction.opname == "LOAD_FAST_LOAD_FAST":
            count += instruction.argval.count(name)
    return count


def _duplicates(instruction: dis.Instruction) -> bool:
    """Whether ``instruction`` pushes a copy of the top of the stack."""
    return instruction.opname == "DUP_TOP" or (
        instruction.opname == "COPY" and instruction.arg == 1
    )


def _loaded(instruction: dis.Instruction) -> str | None:
    """The local ``instruction`` leaves on top of the stack, if it loads one."""
    if instruction.opname in _LOADS_ONE:
        return instruction.argval
    if instruction.opname == "LOAD_FAST_LOAD_FAST":  # 3.13: pushes both, the second on top
        return instruction.argval[1]
    return None


@functools.lru_cache(maxsize=1024)
def source_attribute_uses(source: str) -> dict[str, AttributeUses]:
    """Per name, what the statements of ``source`` do with its attributes (a loop's body,
    read from its source: a loop compiles from it, not from the function's bytecode).
    ``p.m(...)`` is a method call; ``p.x += v`` reads and sets ``x``; the uses are complete
    where the name appears only before attributes. Names the source binds are left out (a
    name rebound stands for other values too)."""
    tree = ast.parse(source)
    bound = {
        node.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del))
    }
    called = {id(node.func) for node in ast.walk(tree) if isinstance(node, ast.Call)}
    augmented = {id(node.target) for node in ast.walk(tree) if isinstance(node, ast.AugAssign)}
    found: dict[str, tuple[dict, dict, dict]] = {}
    receivers = {
        id(node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
    }
    # Names used otherwise too (passed on, aliased, compared): their uses are not all of it.
    escaping = {
        node.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Name)
        and isinstance(node.ctx, ast.Load)
        and id(node) not in receivers
    }
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)):
            continue
        name = node.value.id
        if name in bound:
            continue
        loads, stores, methods = found.setdefault(name, ({}, {}, {}))
        if id(node) in called:
            methods[node.attr] = None
        elif isinstance(node.ctx, ast.Load) or id(node) in augmented:
            loads[node.attr] = None
        if isinstance(node.ctx, ast.Store):
            stores[node.attr] = None
    return {name: _uses_of(uses, name not in escaping) for name, uses in found.items()}


def _uses_of(found: tuple[dict, dict, dict], complete: bool) -> AttributeUses:
    loads, stores, methods = found
    return AttributeUses(tuple(loads), tuple(stores), tuple(methods), complete)
