"""The facts a range analysis reads from Numba's typed SSA IR: inequalities between terms.

Why this design: inequalities between terms (:mod:`autoaccel.backends.range_terms`), ``left
<= right + offset``, come from the edges of the control-flow graph: a ``for`` over a
``range`` holds its value between the range's bounds in the loop's body, and a comparison
holds on the edge its branch takes. A fact of an edge ``P -> S`` holds wherever ``S``
dominates, when ``P`` is ``S``'s only predecessor: these are the pi-nodes of e-SSA form
(Bodik, Gupta and Sarkar, "ABCD: Eliminating Array Bounds Checks on Demand", PLDI 2000). An
array access that ran, checked or proven, leaves its index in bounds for every point it
dominates, as an executed check does in ABCD. Every fact is kept with its mirror (``x <= y +
c`` is ``-y <= -x + c``), so that a lower bound such as ``-len(a) <= index`` is proven as
any upper one.
"""

from __future__ import annotations

import operator
from collections.abc import Iterator
from typing import Any, NamedTuple

from numba.core import ir
from numba.core.analysis import compute_cfg_from_blocks

from autoaccel.backends.range_terms import NEGATED, ZERO, Canon, Term, Terms, negated


class Atom(NamedTuple):
    """``left <= right + offset``, between two terms."""

    left: Term
    right: Term
    offset: int


class RangeLoop(NamedTuple):
    """A ``for`` over ``range(...)``: where its value is defined and the bounds it stays in.

    Attributes:
        header: the block that asks the iterator for the next value and branches.
        body: the block an iteration starts in (the branch's target while values remain).
        value: the variable holding the value (``pair_first`` of ``iternext``).
        lo, hi: the smallest and largest value it can take, as canonical terms. With a step
            whose sign is unknown at compile time they are the opaque terms
            ``("lo", range)`` and ``("hi", range)``, which only a run-time guard evaluates.
        arguments: the variables of ``range(start, stop, step)`` (``None`` where omitted).
    """

    header: int
    body: int
    value: str
    lo: Canon
    hi: Canon
    arguments: tuple[str | None, str | None, str | None]


class Facts(Terms):
    """The control-flow graph and the facts of one function's typed IR (and its terms).

    Args:
        blocks: ``func_ir.blocks`` (label -> ``ir.Block``), in SSA form.
        typemap: variable name -> Numba type.
        checked: whether an access that ran was in bounds (bounds checking is on: an
            access the analysis leaves unchecked was proven in bounds). Then every later
            point knows ``-len <= index <= len - 1`` of it, as after an executed check.
    """

    def __init__(
        self, blocks: dict[int, ir.Block], typemap: dict[str, Any], checked: bool = True
    ) -> None:
        super().__init__(blocks, typemap)
        self.checked = checked
        self.cfg = compute_cfg_from_blocks(blocks)
        self.dominators = self.cfg.dominators()
        self.ranges = {loop.header: loop for loop in self._range_loops()}
        self.ranges_by_value = {loop.value: loop for loop in self.ranges.values()}
        self._edges = self._edge_atoms()
        self._everywhere = self._definition_atoms()
        self._accessed = {label: self._access_atoms(block) for label, block in blocks.items()}
        self._at: dict[Any, list[Atom]] = {}

    # Control flow ------------------------------------------------------------------------

    def dominates(self, a: int, b: int) -> bool:
        """Whether block ``a`` dominates block ``b``."""
        return a in self.dominators.get(b, ())

    def available(self, term: Term, block: int) -> bool:
        """Whether ``term``'s value is known at the end of ``block`` (its definitions dominate)."""
        if term == ZERO:
            return True
        names = self.term_variables(term)
        return all(
            name in self.defined_in and self.dominates(self.defined_in[name], block)
            for name in names
        )

    def invariant(self, term: Term, block: int) -> bool:
        """Whether ``term`` was defined before ``block`` is entered (strict dominance)."""
        if term == ZERO:
            return True
        return all(
            name in self.defined_in
            and self.defined_in[name] != block
            and self.dominates(self.defined_in[name], block)
            for name in self.term_variables(term)
        )

    def term_variables(self, term: Term) -> list[str]:
        """The variables whose values ``term`` is computed from."""
        if term[0] == "-":
            return self.term_variables(term[1])
        if term[0] in ("lo", "hi"):
            return [name for name in self.ranges_by_value[term[1]].arguments if name]
        return [] if term == ZERO else [term[1]]

    def phi_incoming(self, term: Term) -> list[tuple[str, int]] | None:
        """``[(value, predecessor block)]`` when ``term`` is a variable defined by a phi."""
        if term[0] != "v":
            return None
        value = self.definitions.get(term[1])
        if isinstance(value, ir.Expr) and value.op == "phi":
            pairs = zip(value.incoming_values, value.incoming_blocks, strict=True)
            return [(v.name, b) for v, b in pairs if isinstance(v, ir.Var)]
        return None

    def predecessors(self, block: int) -> list[int]:
        return [p for p, _ in self.cfg.predecessors(block)]

    # Facts -------------------------------------------------------------------------------

    def at(self, context: Any) -> list[Atom]:
        """The facts that hold in ``context``, each with its mirror.

        Contexts: a block label (the facts at its start), ``("stmt", block, index)`` (before
        the statement ``index`` of ``block``), ``("edge", source, target)`` (on the branch
        from ``source`` to ``target``: the facts at the end of ``source`` and the branch's).
        """
        known = self._at.get(context)
        if known is not None:
            return known
        if isinstance(context, int):
            facts = list(self._everywhere)
            for (source, target), atoms in self._edges.items():
                if self.predecessors(target) == [source] and self.dominates(target, context):
                    facts.extend(atoms)
            for label, accessed in self._accessed.items():
                if label != context and self.dominates(label, context):
                    facts.extend(atom for _, atom in accessed)
            facts += [Atom(negated(a.right), negated(a.left), a.offset) for a in facts]
        elif context[0] == "stmt":
            _, block, index = context
            facts = self.at(block) + _mirrored(a for i, a in self._accessed[block] if i < index)
        else:
            _, source, target = context
            edge = self._edges.get((source, target), [])
            facts = self.at(source) + _mirrored([a for _, a in self._accessed[source]] + edge)
        self._at[context] = facts
        return facts

    def _access_atoms(self, block: ir.Block) -> list[tuple[int, Atom]]:
        """``(statement index, atom)`` for what each access of ``block`` leaves known."""
        if not self.checked:
            return []
        atoms = []
        for index, stmt in enumerate(block.body):
            found = self.indexing(stmt)
            if found is None:
                continue
            array, items = found
            for axis, item in enumerate(items):
                if item is None:
                    continue
                (term, k), (length, lk) = item, self.canon_len(array, axis)
                for atom in (
                    Atom(term, length, lk - 1 - k),  # index <= len - 1
                    Atom(negated(length), term, k + lk),  # -len <= index
                    Atom(ZERO, length, lk - 1),  # len >= 1
                ):
                    atoms.append((index, atom))
        return atoms

    def _definition_atoms(self) -> list[Atom]:
        """Facts that hold everywhere: ``m = min(a, b)`` is at most ``a`` and ``b``, ``max``
        at least."""
        atoms = []
        for name, value in self.definitions.items():
            if not (isinstance(value, ir.Expr) and value.op == "call" and self.is_int(name)):
                continue
            callee = self.callee(value)
            if callee not in (min, max) or not all(self.is_int(a.name) for a in value.args):
                continue
            term, offset = self.canon(name)
            for argument in value.args:
                other, k = self.canon(argument.name)
                if callee is min:
                    atoms.append(Atom(term, other, k - offset))
                else:
                    atoms.append(Atom(other, term, offset - k))
        return atoms

    def _range_loops(self) -> Iterator[RangeLoop]:
        for label, block in self.blocks.items():
            branch = block.terminator
            if not isinstance(branch, ir.Branch):
                continue
            found = self._range_loop(label, block, branch)
            if found is not None:
                yield found

    def _range_loop(self, label: int, block: ir.Block, branch: ir.Branch) -> RangeLoop | None:
        second = self.value_of(branch.cond.name)
        if not (isinstance(second, ir.Expr) and second.op == "pair_second"):
            return None
        pair = second.value.name
        nxt = self.value_of(pair)
        if not (isinstance(nxt, ir.Expr) and nxt.op == "iternext"):
            return None
        iterator = self.value_of(nxt.value.name)
        if not (isinstance(iterator, ir.Expr) and iterator.op == "getiter"):
            return None
        made = self.value_of(iterator.value.name)
        if not (isinstance(made, ir.Expr) and made.op == "call" and self.callee(made) is range):
            return None
        value = next(
            (
                s.target.name
                for s in block.body
                if isinstance(s, ir.Assign)
                and isinstance(s.value, ir.Expr)
                and s.value.op == "pair_first"
                and self.resolved_name(s.value.value.name) == self.resolved_name(pair)
            ),
            None,
        )
        args = [a.name for a in made.args]
        if value is None or made.kws or not 1 <= len(args) <= 3 or not self.is_int(value):
            return None
        if not all(self.is_int(a) for a in args):
            return None
        # range(stop), range(start, stop), range(start, stop, step)
        start, stop, step = [None, args[0], None] if len(args) == 1 else [*args, None][:3]
        lo, hi = self._range_bounds(value, start, stop, step)
        return RangeLoop(label, branch.truebr, value, lo, hi, (start, stop, step))

    def _range_bounds(self, value: str, start: Any, stop: str, step: Any) -> tuple[Canon, Canon]:
        first = self.canon(start) if start else (ZERO, 0)
        last = self.canon(stop)
        sign = 1 if step is None else self._sign(step)
        if sign > 0:
            return first, (last[0], last[1] - 1)
        if sign < 0:
            return (last[0], last[1] + 1), first
        return (("lo", value), 0), (("hi", value), 0)

    def _sign(self, step: str) -> int:
        term, k = self.canon(step)
        return (k > 0) - (k < 0) if term == ZERO else 0

    def _edge_atoms(self) -> dict[tuple[int, int], list[Atom]]:
        edges: dict[tuple[int, int], list[Atom]] = {}
        for loop in self.ranges.values():
            (lo, lk), (hi, hk) = loop.lo, loop.hi
            value = ("v", loop.value)
            edges[(loop.header, loop.body)] = [Atom(lo, value, -lk), Atom(value, hi, hk)]
        for label, block in self.blocks.items():
            branch = block.terminator
            if not isinstance(branch, ir.Branch) or label in self.ranges:
                continue
            comparison = self.comparison(branch.cond.name)
            if comparison is None:
                continue
            function, left, right = comparison
            edges.setdefault((label, branch.truebr), []).extend(_atoms(function, left, right))
            edges.setdefault((label, branch.falsebr), []).extend(
                _atoms(NEGATED[function], left, right)
            )
        return edges


def _mirrored(atoms: Any) -> list[Atom]:
    """``atoms`` and, for each, ``-right <= -left + offset``."""
    atoms = list(atoms)
    return atoms + [Atom(negated(a.right), negated(a.left), a.offset) for a in atoms]


def _atoms(function: Any, left: Canon, right: Canon) -> list[Atom]:
    """The atoms ``left <function> right`` implies."""
    (lt, lk), (rt, rk) = left, right
    if function is operator.lt:
        return [Atom(lt, rt, rk - lk - 1)]
    if function is operator.le:
        return [Atom(lt, rt, rk - lk)]
    if function is operator.gt:
        return [Atom(rt, lt, lk - rk - 1)]
    if function is operator.ge:
        return [Atom(rt, lt, lk - rk)]
    if function is operator.eq:
        return [Atom(lt, rt, rk - lk), Atom(rt, lt, lk - rk)]
    return []
