"""Methods of converted objects, compiled with the code that calls them.

Why this design: on real code a hot method calls others on the same object
(``self.step()``), and issue 18 asks that those calls compile with it. The method is found
on the object's class, as CPython's attribute lookup finds it once the instance's own
attributes are passed (an instance attribute of that name is a field, and code calling it
is refused). Its uses of ``self`` are folded into the caller's, so the object converts with
the fields that both reach (:func:`resolve`); its code is built as a helper's is
(:func:`autoaccel.backends.cpu.build`) and compiled code calls it through that dispatcher
with the same record (:mod:`autoaccel.boundary.instance_type`), so its stores reach the
buffer the call writes back from. The method's function is part of the converted type, and
its code and frozen globals part of the variant's snapshot (:func:`bind`): a method
replaced on the class, or a global it froze rebound, leaves the variant unused.

What is refused, before compiling: a method that is no plain function of the class (a
``staticmethod``, a ``classmethod``, a callable attribute), one outside the accelerated
modules, a method that passes ``self`` on, aliases or rebinds it (its uses are then not
known), and methods calling each other in a cycle (docs/divergences.md, row 30).
"""

from __future__ import annotations

import types
from typing import Any, NamedTuple

from autoaccel.analysis.attributes import AttributeUses, attribute_uses
from autoaccel.backends import cpu
from autoaccel.backends.snapshot import CodeOf, Snapshot, reached_through
from autoaccel.boundary.convert import refusal
from autoaccel.boundary.objects import class_methods, is_object_class
from autoaccel.config import JitOptions
from autoaccel.errors import Rejection
from autoaccel.runtime.registry import lookup
from autoaccel.state import STATE


class Method(NamedTuple):
    """A method that compiled code calls on a converted object.

    Attributes:
        cls: the object's class.
        name: the attribute called.
        function: the function the class gives for it.
        unit: its trampoline (original code, globals).
    """

    cls: type
    name: str
    function: Any  # a types.FunctionType (mypy reads a function-typed field as a method)
    unit: Any


class Resolved(NamedTuple):
    """What code does with its arguments' objects, methods included.

    Attributes:
        uses: per positional parameter, its :class:`AttributeUses` with the uses of the
            methods it calls on an object folded in (``None``: not known).
        methods: every method reached, called directly or by another method.
        reason: why the methods cannot be compiled with the code, or ``None``.
    """

    uses: tuple[AttributeUses | None, ...]
    methods: tuple[Method, ...]
    reason: str | None

    def fields(self) -> tuple[frozenset[str] | None, ...]:
        """Per position, the attributes (methods included) an object there converts with,
        or ``None`` (all; :meth:`AttributeUses.fields`)."""
        return tuple(used.fields() if used is not None else None for used in self.uses)


def resolve(code: types.CodeType, args: tuple) -> Resolved:
    """The uses of ``args``' objects by ``code`` (a function's code as written), with the
    methods it calls on them resolved on their classes (never raises)."""
    return fold(args, attribute_uses(code))


def fold(values: Any, uses: Any) -> Resolved:
    """``uses`` (per value, its :class:`AttributeUses` or ``None``: code's uses of the
    values' attributes, from bytecode or a loop's source) with the methods called on the
    objects among ``values`` resolved on their classes and their uses folded in (never
    raises)."""
    folded = list(uses)
    reached: list[Method] = []
    for position, (value, used) in enumerate(zip(values, uses, strict=False)):
        if used is None or not used.methods or not is_object_class(type(value)):
            continue
        found = _fold(type(value), used, reached, ())
        if isinstance(found, str):
            return Resolved(tuple(folded), (), found)
        folded[position] = found
    return Resolved(tuple(folded), tuple(reached), None)


def screen(code: types.CodeType, args: tuple, strings: bool) -> str | None:
    """Why ``args`` cannot be passed to a variant of ``code`` (the arguments' own refusals,
    :func:`autoaccel.boundary.convert.refusal`, and their objects' methods), or ``None``.
    Numba is not imported."""
    try:
        admitted(code, args, strings)
    except Rejection as exc:
        return str(exc)
    return None


def admitted(code: types.CodeType, args: tuple, strings: bool) -> Resolved:
    """:func:`resolve`'s answer for arguments :func:`screen` admits.

    Raises:
        Rejection: with :func:`screen`'s reason.
    """
    resolved = resolve(code, args)
    reason = resolved.reason or refusal(args, strings, resolved.uses, methods=True)
    if reason:
        raise Rejection(reason)
    return resolved


def _fold(
    cls: type, used: AttributeUses, reached: list[Method], chain: tuple
) -> AttributeUses | str:
    """``used`` with the uses of ``self`` by each method it calls (and theirs) added, the
    methods appended to ``reached``; or why they cannot be compiled with the code."""
    short = cls.__name__
    if not used.complete:
        return f"calls {short}.{used.methods[0]}() on an object it also passes on or aliases"
    loads, stores, methods = list(used.loads), list(used.stores), list(used.methods)
    for name in used.methods:
        function = dict(class_methods(cls, (name,))).get(name)
        if function is None:
            return f"calls {short}.{name}(), which is not a function of its class"
        unit = lookup(function)
        if unit is None:
            return f"calls {short}.{name}(), a method outside the accelerated modules"
        if function in chain:
            return f"calls {short}.{name}(), which calls itself through its methods [30]"
        own = attribute_uses(unit.code)
        itself = own[0] if own else None
        if itself is None or not itself.complete:
            return f"calls {short}.{name}(), which passes its self on, aliases or rebinds it"
        if not any(method.function is function for method in reached):
            reached.append(Method(cls, name, function, unit))
        if itself.methods:
            inner = _fold(cls, itself, reached, (*chain, function))
            if isinstance(inner, str):
                return inner
            itself = inner
        loads += itself.loads
        stores += itself.stores
        methods += itself.methods
    return AttributeUses(_unique(loads), _unique(stores), _unique(methods), True)


def _unique(names: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(names))


def bind(compiled: Any, methods: tuple[Method, ...], options: JitOptions, caller: Any) -> None:
    """Build the code of each method compiled code calls for it to call, and make
    ``compiled``'s variants depend on it.

    Args:
        compiled: the caller's :class:`~autoaccel.backends.cpu.Compiled` (a function's or
            a loop's); its ``snapshot`` gains, per method, the class still giving the
            function, the function still running the method's code, and the globals the
            method froze.
        methods: :attr:`Resolved.methods`.
        options: ``numba.njit`` options (the caller's).
        caller: the caller's unit (a method reaching it back is recursion).

    Raises:
        Rejection: a method's global cannot be frozen, or it reaches the caller.
    """
    entries = list(compiled.snapshot)
    seen = {_identity(entry) for entry in entries}
    for method in methods:
        built = cpu.build(method.unit, options, lookup, (caller,))
        STATE.methods[method.function] = built.dispatcher
        held: Snapshot = (
            (method.cls, method.name, method.function),
            *reached_through(method.function, method.unit.code),
            *built.snapshot,
        )
        for entry in held:
            if _identity(entry) not in seen:
                seen.add(_identity(entry))
                entries.append(entry)
    compiled.snapshot = tuple(entries)


def _identity(entry: tuple[Any, str, Any]) -> tuple[int, str, int]:
    """A snapshot entry by identity (its values may be arrays, which ``==`` compares
    element by element; a helper's code is watched through a view made per entry)."""
    owner, name, value = entry
    watched = owner.function if type(owner) is CodeOf else owner
    return id(watched), name, id(value)
