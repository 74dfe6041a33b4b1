"""A loop's compiled form: the function Numba compiles for one loop, entered mid-run.

Why this design: a loop entered at an iteration boundary (on-stack replacement) needs
everything the rest of its run depends on as arguments, and must hand back everything the
code after it may read. So the loop's source (:class:`~autoaccel.analysis.loops.LoopSpec`)
becomes a function whose arguments are the position reached (the ``range`` value about to
run, the index into the sequence, or nothing for a ``while`` loop), an iteration budget, and
the variables the loop reads and binds; it returns how the run ended, the value of a
``return``, the position, and the variables. This is Numba's loop-lifting
(``numba/core/transforms.py``: the live-in variables become arguments, the live-out ones the
result) with two changes: the function starts at an iteration boundary, and it can stop
after ``budget`` iterations (a trial window) with the state at that boundary. The first
iteration after entry does not test a ``while`` condition: Python has just tested it.
"""

from __future__ import annotations

import ast
import types
from typing import NamedTuple

from autoaccel.analysis.attributes import source_attribute_uses
from autoaccel.analysis.loops import LoopSpec, place_at, returns_of

# How a compiled run ended (the first item of its result); autoaccel.rewrite.loop_host's
# instrumentation uses the same numbers.
SUSPENDED, BROKE, RETURNED, ENDED = 0, 1, 2, 3


class _Unbound:
    """A variable that has no value: the loop did not bind it, so it stays unassigned."""

    def __repr__(self) -> str:
        return "<unbound>"


UNBOUND = _Unbound()


class LoopPlan(NamedTuple):
    """What one compiled variant of a loop takes and gives back.

    Every variable handed back comes with the number of the assignment site (statement and
    variable) that last bound it in the run, 0 for none: the trial learns which Python type
    each site leaves in the variable (a ``float``, or a NumPy ``float64`` from an array),
    which Numba's single type per variable cannot tell.

    Attributes:
        params: the variables passed in, in order (after the position and the budget).
        outputs: the variables handed back, in order (those of ``params`` the loop binds).
        maybe: variables without a value at entry that the loop may bind but never reads,
            handed back after ``outputs`` when it did bind them (a variable set on a
            ``break``, say).
        prefix: the prefix of the generated names (none of the loop's names starts with it).
        fields: per argument (the leading ones, then ``params``), the only attributes an
            object there is converted with, or ``None`` (all): what the loop's source reaches
            of it (:func:`~autoaccel.analysis.attributes.source_attribute_uses`); every
            conversion for the plan uses these.
    """

    params: tuple[str, ...]
    outputs: tuple[str, ...]
    maybe: tuple[str, ...]
    prefix: str
    fields: tuple = ()

    @property
    def names(self) -> tuple[str, ...]:
        """The variables a run hands back, in the order :func:`decode` gives them."""
        return self.outputs + self.maybe


def plan_for(
    spec: LoopSpec, params: tuple[str, ...], maybe: tuple[str, ...] = (), fields: tuple = ()
) -> LoopPlan:
    """The plan of a variant that takes ``params``: it hands back those the loop binds.
    ``fields``: per param, the attributes an object there converts with, where the caller
    knows better than the loop's source (the methods called on it reach others); else
    what the source reaches."""
    assigned = set(spec.assigned)
    outputs = tuple(name for name in params if name in assigned)
    used = set(spec.assigned) | set(spec.read) | set(params)
    prefix = "_aa_"
    while any(name.startswith(prefix) for name in used):
        prefix = "_" + prefix
    if not fields:
        uses = source_attribute_uses(spec.source)
        fields = tuple(uses[name].fields() if name in uses else None for name in params)
    fields = (None,) * len(leading_arguments(spec.kind)) + tuple(fields)
    return LoopPlan(tuple(params), outputs, tuple(maybe), prefix, fields)


def decode(plan: LoopPlan, result: tuple) -> tuple[tuple, tuple[int, ...]]:
    """``(values, sites)``: the variables a run handed back, in the order of ``plan.names``,
    and for each the assignment site that last bound it (0: none did during the run)."""
    count = len(plan.names)
    return tuple(result[3 : 3 + count]), tuple(result[3 + count : 3 + 2 * count])


def leading_arguments(kind: str) -> tuple[str, ...]:
    """The generated arguments before the variables: position and budget, per loop kind."""
    return {
        "range": ("pos", "stop", "step", "budget"),
        "iter": ("seq", "pos", "budget"),
        "while": ("budget",),
    }[kind]


def loop_code(spec: LoopSpec, plan: LoopPlan, filename: str) -> types.CodeType:
    """The code of the function Numba compiles for ``spec`` under ``plan``.

    Its arguments are :func:`leading_arguments` then ``plan.params``; it returns
    ``(kind, return number, position, *variables, *sites)`` where kind is one of
    :data:`SUSPENDED`, :data:`BROKE`, :data:`RETURNED`, :data:`ENDED`, the return number
    says which of the loop's ``return`` statements stopped it (``-1`` for the other kinds),
    and the variables are ``plan.names``; :func:`decode` reads them.

    Args:
        spec: the loop.
        plan: the variables in and out.
        filename: the module's file name, compiled into the code (Numba's messages name it).

    Raises:
        SyntaxError: the loop's source does not parse on its own.
    """
    loop = _parse_loop(spec)
    p = plan.prefix
    position = {"range": spec.target, "iter": f"{p}j", "while": "0"}[spec.kind]
    sites = [f"{p}site_{name}" for name in plan.names]
    state = ", ".join([position, *plan.names, *sites])
    returns = {id(node): number for number, node in enumerate(returns_of(loop))}
    body = _ExitsAsReturns(state, returns).transform(loop.body)
    # A maybe variable starts as None (Numba types it as an optional); no site yet.
    unset = "".join(f"    {name} = None\n" for name in plan.maybe)
    unset += "".join(f"    {site} = 0\n" for site in sites)
    arguments = [p + name for name in leading_arguments(spec.kind)] + list(plan.params)
    header = _header(spec, p)
    source = (
        f"def {p}loop({', '.join(arguments)}):\n"
        f"    {p}n = 0\n"
        + unset
        + "".join(f"    {line}\n" for line in header)
        + f"    return ({ENDED}, -1, {state})\n"
    )
    module = ast.parse(source)
    function = module.body[0]
    assert isinstance(function, ast.FunctionDef)
    inner = function.body[-2]
    assert isinstance(inner, (ast.For, ast.While)), "the generated header ends with the loop"
    opening = [s for s in inner.body if not isinstance(s, ast.Pass)]  # the while's first test
    # The element first: at a suspension, the loop variable holds the element about to
    # run, as it does in Python at the boundary.
    marker = _MarkSites(plan.names, p)
    body = marker.statements(body)
    target = marker.sites_for([spec.target], inner) if spec.target in plan.names else []
    inner.body = opening + _element(spec, p) + target + _budget_check(p, state) + body
    for node in ast.walk(module):
        if "lineno" in node._attributes and not getattr(node, "_aa_user", False):
            place_at(node, spec.lineno, 0)
    code = compile(module, filename, "exec", dont_inherit=True)
    return next(c for c in code.co_consts if isinstance(c, types.CodeType))


def _parse_loop(spec: LoopSpec) -> ast.For | ast.While:
    """The loop statement of ``spec.source``, at its lines in the module."""
    tree = ast.parse(spec.source)
    ast.increment_lineno(tree, spec.lineno - 1)
    loop = tree.body[0]
    assert isinstance(loop, (ast.For, ast.While))
    for node in ast.walk(loop):
        node._aa_user = True  # type: ignore[attr-defined]
    return loop


def _header(spec: LoopSpec, p: str) -> list[str]:
    """The generated lines that set up and open the loop (its body comes later)."""
    if spec.kind == "range":
        return [
            f"{spec.target} = {p}pos",
            f"for {spec.target} in range({p}pos, {p}stop, {p}step):",
            "    pass",
        ]
    if spec.kind == "iter":
        return [f"{p}j = {p}pos", f"for {p}j in range({p}pos, len({p}seq)):", "    pass"]
    test = ast.unparse(_parse_loop(spec).test)  # type: ignore[union-attr]
    return [
        f"{p}first = True",
        "while True:",
        f"    if {p}first:",
        f"        {p}first = False",
        f"    elif not ({test}):",
        "        break",
    ]


def _budget_check(p: str, state: str) -> list[ast.stmt]:
    """Stop (suspended) at the top of an iteration once ``budget`` iterations ran."""
    return ast.parse(
        f"if {p}n == {p}budget:\n    return ({SUSPENDED}, -1, {state})\n{p}n += 1\n"
    ).body


def _element(spec: LoopSpec, p: str) -> list[ast.stmt]:
    """For a loop over a sequence, the target's assignment from the index."""
    if spec.kind != "iter":
        return []
    return ast.parse(f"{spec.target} = {p}seq[{p}j]").body


class _ExitsAsReturns(ast.NodeTransformer):
    """The loop's own ``break`` and ``return`` become returns of the run's state.

    A ``return`` stops the run before its expression is evaluated: the run hands back the
    number of that ``return`` and the state, and the instrumentation evaluates the
    expression in Python (so its value and type are CPython's). A ``break`` or ``continue``
    of a nested loop belongs to that loop and stays.
    """

    def __init__(self, state: str, returns: dict[int, int]) -> None:
        self.state = state
        self.returns = returns

    def transform(self, body: list[ast.stmt]) -> list[ast.stmt]:
        return [self.visit(statement) for statement in body]

    def visit_For(self, node: ast.For) -> ast.AST:
        return self._nested(node)

    def visit_While(self, node: ast.While) -> ast.AST:
        return self._nested(node)

    def _nested(self, node: ast.For | ast.While) -> ast.AST:
        # Returns inside a nested loop still leave the whole loop; its breaks do not. A
        # break in its else clause belongs to the outer loop.
        node.body = [_Returns(self).visit(statement) for statement in node.body]
        node.orelse = [self.visit(statement) for statement in node.orelse]
        return node

    def visit_Break(self, node: ast.Break) -> ast.AST:
        return self._exit(node, BROKE, -1)

    def visit_Return(self, node: ast.Return) -> ast.AST:
        return self._exit(node, RETURNED, self.returns[id(node)])

    def _exit(self, node: ast.stmt, kind: int, number: int) -> ast.AST:
        new = ast.parse(f"return ({kind}, {number}, {self.state})").body[0]
        for child in ast.walk(new):
            ast.copy_location(child, node)
            child._aa_user = True  # type: ignore[attr-defined]
        return new


class _Returns(ast.NodeTransformer):
    """Inside a nested loop: only ``return`` leaves the outer loop."""

    def __init__(self, outer: _ExitsAsReturns) -> None:
        self.outer = outer

    def visit_Return(self, node: ast.Return) -> ast.AST:
        return self.outer.visit_Return(node)


class _MarkSites:
    """After each statement that binds a handed-back variable, the number of that site."""

    def __init__(self, names: tuple[str, ...], prefix: str) -> None:
        self.names = set(names)
        self.prefix = prefix
        self.count = 0

    def statements(self, body: list[ast.stmt]) -> list[ast.stmt]:
        if not self.names:
            return body
        out: list[ast.stmt] = []
        for statement in body:
            for field in ("body", "orelse"):
                inner = getattr(statement, field, None)
                if isinstance(inner, list) and inner and isinstance(inner[0], ast.stmt):
                    setattr(statement, field, self.statements(inner))
            out.append(statement)
            bound = self._binds(statement)
            if isinstance(statement, (ast.For, ast.While)) and bound:
                statement.body = self.sites_for(bound, statement) + statement.body
            elif bound:
                out.extend(self.sites_for(bound, statement))
        return out

    def _binds(self, statement: ast.stmt) -> list[str]:
        if isinstance(statement, ast.For):
            targets: list[ast.AST] = [statement.target]
        elif isinstance(statement, ast.Assign):
            targets = list(statement.targets)
        elif isinstance(statement, (ast.AugAssign, ast.AnnAssign)):
            targets = [statement.target]
        else:
            return []
        found = {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
        return sorted(found & self.names)

    def sites_for(self, names: list[str], at: ast.AST) -> list[ast.stmt]:
        """Statements recording a new site for each of ``names``, placed at ``at``."""
        lines = []
        for name in names:
            self.count += 1
            lines.append(f"{self.prefix}site_{name} = {self.count}")
        sites = ast.parse("\n".join(lines)).body
        for site in sites:
            for node in ast.walk(site):
                ast.copy_location(node, at)
                node._aa_user = True  # type: ignore[attr-defined]
        return sites
