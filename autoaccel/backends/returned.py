"""What a compiled function can return as is: the constants and arguments behind its result.

Why this design: Numba gives a variable one type where CPython's value keeps the type of
whatever was last stored in it (docs/divergences.md, rows 11 and 12): ``s = 0`` then
``s += x`` over an empty loop returns the int ``0`` in CPython and ``0.0`` in Numba, and
``short = 0.0`` that only an array's values are added to returns ``0.0`` or a
``np.float64``. Which path CPython took decides the type, so a promoted call whose result
(or an item of it) equals such a constant or argument with another type goes to the
original (:func:`autoaccel.policy.compare.ambiguous_result`). This module finds those
constants and arguments in the typed IR: it follows each ``return``, and each item of a
returned tuple, back through copies (assignments, casts, a helper's own result returned
as is) to what defines them. A value that only ever is one constant, of one type (``return
total, short, 0``'s count), is left out: CPython's type for it never depends on the path.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from numba.core import ir

# callee(function, call) -> (dispatcher, variables passed, their Numba types) or None.
Callee = Callable[[Any, ir.Expr], "tuple[Any, list, tuple] | None"]


class Returned(NamedTuple):
    """What a function may return as it is.

    Attributes:
        constants: Python numbers.
        arguments: positions in the argument list.
        shared_constants, shared_arguments: those of them returned where something else
            may be returned too (a computed value, an argument, another argument): a call
            returning one of them shows its type, which says nothing of the type the
            others have there.
    """

    constants: list[Any]
    arguments: set[int]
    shared_constants: list[Any]
    shared_arguments: set[int]


def returned_as_is(
    function: Any, callee: Callee, memo: dict[int, Any], followed: set[int]
) -> Returned:
    """The constants and argument positions that ``function`` may return as they are.

    The result is one value, whichever ``return`` gives it (Numba unifies their types),
    and so is each item position of the tuples it may be: item ``i`` of every returned
    tuple. A position that something other than copies, constants and tuples may reach
    (a computation, a helper's result) passes that on to its items: what else they hold
    is not known here.

    Args:
        function: one overload's indexed typed IR (``typed_checks._Function``: its
            ``statements`` and ``definitions``, name -> the values assigned to it).
        callee: finds the helper a call calls (``typed_checks._callee``).
        memo: ``id(overload)`` -> indexed typed IR of the helpers already inspected.
        followed: the ``id`` of the functions on the way (a recursion returns its own
            result).

    """
    followed = followed | {id(function)}
    found = Returned([], set(), [], set())
    returned = [stmt.value.name for stmt in function.statements if isinstance(stmt, ir.Return)]
    # (names, or constant items, of one value; whether more may reach it)
    values: list[tuple[list[Any], bool]] = [(returned, False)]
    while values:
        names, computed = values.pop()
        constants, positions, items, opaque = _reaching(function, names, (callee, memo, followed))
        computed = computed or opaque
        values.extend((item, computed) for item in items)
        if computed or positions or len({type(c) for c in constants}) > 1:
            found.constants.extend(constants)
            found.arguments.update(positions)
        if computed or positions:
            found.shared_constants.extend(constants)
        if computed or constants or len(positions) > 1:
            found.shared_arguments.update(positions)
    return found


def _reaching(
    function: Any, names: list[Any], helpers: tuple
) -> tuple[list[Any], set[int], list[list[Any]], bool]:
    """What reaches one value, which ``names`` hold, through copies: ``(constants, argument
    positions, per item position the names of the tuples' items, whether anything else may
    be it)``."""
    constants: list[Any] = []
    arguments: set[int] = set()
    items: list[list[Any]] = []
    computed = False
    pending: list[Any] = list(names)
    seen: set[str] = set()
    while pending:
        name = pending.pop()
        if isinstance(name, ir.Const):  # an item of a constant tuple
            definitions: Any = (name,)
        elif name in seen:
            continue
        else:
            seen.add(name)
            definitions = function.definitions.get(name, ())
        for value in definitions:
            if isinstance(value, ir.Var):
                pending.append(value.name)
            elif isinstance(value, ir.Expr) and value.op == "cast":
                pending.append(value.value.name)
            elif isinstance(value, ir.Expr) and value.op == "build_tuple":
                _add_items(items, [item.name for item in value.items])
            elif isinstance(value, ir.Const) and type(value.value) is tuple:
                # Python 3.12+ folds `return 0.0, 1` into one constant tuple
                _add_items(items, [ir.Const(item, value.loc) for item in value.value])
            elif isinstance(value, ir.Const) and is_scalar_constant(value.value):
                constants.append(value.value)
            elif isinstance(value, ir.Arg):
                arguments.add(value.index)
            elif isinstance(value, ir.Expr) and value.op == "call":
                inner = _helper_returns(function, value, *helpers)
                constants.extend(inner[0])
                pending.extend(inner[1])
                computed = True  # what else the helper returns is not known here
            else:
                computed = True
    return constants, arguments, items, computed


def _add_items(items: list[list[Any]], found: list[Any]) -> None:
    """Add a returned tuple's items (variable names, or constants) to each position's."""
    items.extend([] for _ in range(len(found) - len(items)))
    for position, item in enumerate(found):
        items[position].append(item)


def _helper_returns(
    function: Any, call: ir.Expr, callee: Callee, memo: dict[int, Any], followed: set[int]
) -> tuple[list[Any], list[str]]:
    """What the helper ``call`` calls returns as is: its constants, and the variables
    passed for its arguments that it returns (to be followed here)."""
    found = callee(function, call)
    if found is None:
        return [], []
    dispatcher, passed_vars, arg_types = found
    overload = dispatcher.overloads.get(arg_types)
    helper = memo.get(id(overload)) if overload is not None else None
    if helper is None or id(helper) in followed:
        return [], []
    returned = returned_as_is(helper, callee, memo, followed)
    positions = sorted(returned.arguments)
    return returned.constants, [passed_vars[p].name for p in positions if p < len(passed_vars)]


def is_scalar_constant(value: Any) -> bool:
    """Whether ``value`` is a Python number (or bool): the constants that may be ambiguous."""
    return isinstance(value, (bool, int, float, complex))
