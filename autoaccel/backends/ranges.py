"""Range analysis: array accesses proven in bounds, guards hoisted before loops, int operations
proven unable to overflow int64.

Why this design: bounds checks and overflow checks keep a variant's answers CPython's
(docs/divergences.md, rows 1 and 18), but inside loops they keep LLVM from vectorizing and
cost a comparison and a branch per access. Most of them can never fail, and this module
proves which, on Numba's typed IR in SSA form (before ``PreLowerStripPhis``). It is ABCD
(Bodik, Gupta and Sarkar, "ABCD: Eliminating Array Bounds Checks on Demand", PLDI 2000): to
show ``x <= y + c`` it follows the facts of :mod:`autoaccel.backends.range_facts` from ``x``
upwards and from ``y`` downwards until the two meet; a phi is proven through each of its
incoming values, and a loop-carried phi by induction (a cycle that does not loosen the bound
is harmless).

An access is in bounds when ``-len <= index <= len - 1`` on each axis (a negative index wraps
as in Python, and its wrap-around stays: only the check goes). What cannot be proven from the
code may still be proven from values known before a loop: ``for i in range(n): a[i]`` with
``n`` an argument holds when ``n <= len(a)``. Such a remaining condition becomes a *guard*
evaluated once before the outermost loop it can be hoisted out of; a failing guard
deoptimizes, so the original Python runs and raises CPython's ``IndexError`` at the same
iteration. This is loop predication (LLVM's ``LoopPredication`` pass, HotSpot C2's loop
predicates). A guard is only placed where its failure means Python fails too, so that
correct programs never deoptimize: the access runs on every iteration of every loop between
it and the guard, those loops have no ``break`` or ``return`` (a raise is allowed: the
original raises as well), and the guard is excused when one of them would run no iteration.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, NamedTuple

from numba.core import ir

from autoaccel.backends import checked_ops
from autoaccel.backends.range_facts import Atom, Facts, RangeLoop
from autoaccel.backends.range_terms import INT64_MAX, ZERO, Canon, negated_canon

_INT64_MIN = -(2**63)
_MAX_DEPTH = 10
_STEPS = 4000  # search steps per goal: past them the goal counts as unproven
_HALF = 2**62 - 1  # |x|, |y| <= this: x + y and x - y stay in int64
_ROOT = 3037000499  # floor(sqrt(2**63 - 1)): |x|, |y| <= this: x * y stays in int64
_OPERATIONS = {id(stub): name for (name, _), stub in checked_ops.BINARY.items()}
_OPERATIONS[id(checked_ops.negative)] = "negative"


class Access(NamedTuple):
    """One array access and what the analysis concluded.

    Attributes:
        statement: the IR statement (an assignment of a ``getitem``, or a ``setitem``).
        block: its block.
        line: its source line.
        array: the array's name in the source.
        status: ``"proven"`` (in bounds from the code alone), ``"guarded"`` (in bounds once
            the guard before its loop held) or ``"checked"`` (keeps its bounds check).
        guard: for ``"guarded"``, the block at whose end its guard goes.
    """

    statement: Any
    block: int
    line: int
    array: str
    status: str
    guard: int | None = None


class Clause(NamedTuple):
    """Part of a guard: holds when a loop in ``nonempty`` runs no iteration, or ``goals`` hold."""

    nonempty: tuple[Atom, ...]
    goals: tuple[Atom, ...]


class Analysis(NamedTuple):
    """What :func:`analyse` found in one function.

    Attributes:
        accesses: every array access with integer indices.
        guards: block label -> the clauses to check at its end (before a loop is entered).
        exact: the checked int operations (assignments of their calls) that cannot overflow,
            with the operation's name (``"add"``, ``"sub"``, ``"mul"``, ``"negative"``).
        facts: the facts read (for the guards' terms).
    """

    accesses: list[Access]
    guards: dict[int, list[Clause]]
    exact: list[tuple[ir.Assign, str]]
    facts: Facts


class Prover:
    """Demand-driven proofs of ``x <= y + c`` over one function's facts."""

    def __init__(self, facts: Facts) -> None:
        self.facts = facts
        self._active: dict[tuple, int] = {}
        self._tried: dict[tuple, int] = {}
        self._steps = 0

    def holds(self, x: Canon, y: Canon, c: int, context: Any, found: list | None = None) -> bool:
        """Whether ``x <= y + c`` holds in ``context`` (a block, or an edge).

        Args:
            found: if given, receives every sufficient condition met on the way, each a
                tuple of conjuncts, each conjunct a tuple of alternative atoms ``left <=
                right + offset``: one atom per conjunct, with the facts of ``context``,
                implies the goal. A condition on a phi needs one per incoming value.
        """
        (tx, kx), (ty, ky) = x, y
        self._steps = _STEPS
        self._tried.clear()
        return self._search(tx, ty, c + ky - kx, context, 0, found)

    def _search(self, x: Any, y: Any, c: int, context: Any, depth: int, found: Any) -> bool:
        if x == y:
            return c >= 0
        if self._steps <= 0 or depth > _MAX_DEPTH:
            return False
        self._steps -= 1
        key = (x, y, context)
        tried = self._tried.get(key)
        if tried is not None and c <= tried:  # a goal at least this hard failed
            return False
        if found is not None:
            found.append(((Atom(x, y, c),),))
        if self._split(x, y, c, context, depth, found):
            return True
        for atom in self.facts.at(context):
            if atom.left == x and self._search(
                atom.right, y, c - atom.offset, context, depth + 1, found
            ):
                return True
            if atom.right == y and self._search(
                x, atom.left, c - atom.offset, context, depth + 1, found
            ):
                return True
        # A type's bounds (a length is at least 0) prove, but make no guard: "len(a) <= 0"
        # would excuse the access only when its loop runs no iteration.
        x_high = self.facts.type_bounds(x)[1]
        y_low = self.facts.type_bounds(y)[0]
        if x != ZERO and self._search(ZERO, y, c - x_high, context, depth + 1, None):
            return True
        if y != ZERO and self._search(x, ZERO, c + y_low, context, depth + 1, None):
            return True
        self._tried[key] = c if tried is None else max(c, tried)
        return False

    def _split(self, x: Any, y: Any, c: int, context: Any, depth: int, found: Any) -> bool:
        """A phi on either side holds the bound if every incoming value does, on its edge.

        A phi reached again through its own cycle (``k = k + 1`` back to the loop's header)
        holds by induction when the bound asked there is no tighter than the one being
        proven, and the other side was computed before the loop. When some incoming values
        fail, a condition for each of them, together, is a sufficient condition (``found``).
        """
        for side, phi, other in (("x", x, y), ("y", y, x)):
            flip = phi[0] == "-"
            variable = phi[1] if flip else phi
            incoming = self.facts.phi_incoming(variable)
            if not incoming:
                continue
            block = self.facts.defined_in[variable[1]]
            if not self.facts.invariant(other, block):
                continue
            key = (phi, other, side)
            if key in self._active:
                if c >= self._active[key]:
                    return True
                continue
            self._active[key] = c
            try:
                conjuncts = self._incomings(side, flip, other, c, incoming, block, depth, found)
            finally:
                del self._active[key]
            if conjuncts == []:
                return True
            if conjuncts and found is not None:
                found.append(tuple(conjuncts))
        return False

    def _incomings(
        self,
        side: str,
        flip: bool,
        other: Any,
        c: int,
        incoming: list,
        block: int,
        depth: int,
        found: Any,
    ) -> list | None:
        """``[]`` when every incoming value holds the bound; else, when asked (``found``),
        for each one that does not, its alternative sufficient atoms; ``None`` when some
        incoming value fails without any."""
        conjuncts = []
        for value, source in incoming:
            sub: list | None = [] if found is not None else None
            if self._incoming(side, value, flip, other, c, ("edge", source, block), depth, sub):
                continue
            alternatives = tuple(e[0][0] for e in sub or () if len(e) == 1 and len(e[0]) == 1)
            if not alternatives:
                return None
            conjuncts.append(alternatives)
        return conjuncts

    def _incoming(
        self,
        side: str,
        value: str,
        flip: bool,
        other: Any,
        c: int,
        edge: Any,
        depth: int,
        found: Any,
    ) -> bool:
        if not self.facts.is_int(value):
            return False
        term, k = negated_canon(self.facts.canon(value)) if flip else self.facts.canon(value)
        if side == "x":
            return self._search(term, other, c - k, edge, depth + 1, found)
        return self._search(other, term, c + k, edge, depth + 1, found)


def analyse(
    blocks: dict[int, ir.Block], typemap: dict[str, Any], checked: bool, suspension: str = ""
) -> Analysis:
    """Range analysis of one function's typed SSA IR.

    Args:
        blocks: ``func_ir.blocks``, in SSA form (Numba's, right after type inference).
        typemap: variable name -> Numba type.
        checked: whether bounds checking is on (see :class:`Facts`).
        suspension: the name of an argument compared with ``==`` before a ``return`` that
            only stops a run early at an iteration boundary (the compiled loop's budget,
            :mod:`autoaccel.backends.loop_code`), or ``""``. Such a return does not count
            as an early exit when placing guards.
    """
    facts = Facts(blocks, typemap, checked)
    prover = Prover(facts)
    placer = _Placer(facts, suspension)
    accesses: list[Access] = []
    guards: dict[int, list[Clause]] = {}
    for label, block in blocks.items():
        for index, stmt in enumerate(block.body):
            found = facts.indexing(stmt)
            if found is None:
                continue
            array, items = found
            status, placed = _decide(facts, prover, placer, ("stmt", label, index), array, items)
            if placed is not None:
                clauses = guards.setdefault(placed[0], [])
                if placed[1] not in clauses:
                    clauses.append(placed[1])
            name = facts.resolved_name(array).split(".")[0]
            where = placed[0] if placed else None
            accesses.append(Access(stmt, label, stmt.loc.line, name, status, where))
    return Analysis(accesses, guards, list(_exact(facts, prover)), facts)


def _decide(
    facts: Facts, prover: Prover, placer: _Placer, context: tuple, array: str, items: list
) -> tuple[str, tuple[int, Clause] | None]:
    """``(status, (guard block, clause) or None)`` of one access."""
    open_goals: list[list] = []
    for axis, item in enumerate(items):
        if item is None:
            return "checked", None
        length = facts.canon_len(array, axis)
        upper = (item, length, -1)  # index <= len - 1
        lower = (negated_canon(length), item, 0)  # -len <= index: Python wraps it
        for x, y, c in (upper, lower):
            found: list = []
            if not prover.holds(x, y, c, context, found):
                open_goals.append(found)
    if not open_goals:
        return "proven", None
    placed = placer.place(context[1], open_goals)
    return ("guarded", placed) if placed is not None else ("checked", None)


class _Placer:
    """Where a guard for an access's unproven goals can go (see the module docstring)."""

    def __init__(self, facts: Facts, suspension: str) -> None:
        self.facts = facts
        self.suspension = suspension

    def place(self, block: int, open_goals: list[list]) -> tuple[int, Clause] | None:
        """The outermost loop entry where a guard for ``open_goals`` can go, and its clause.

        Args:
            block: the access's block.
            open_goals: per unproven goal, its sufficient conditions (see
                :meth:`Prover.holds`).
        """
        best = None
        executed, nonempty = block, []
        for loop in self.facts.cfg.in_loops(block):
            entry = self._entry(loop)
            ranged = self._range_of(loop)
            if entry is None or ranged is None or not self._every_iteration(loop, ranged, executed):
                break
            runs = Atom(ranged.lo[0], ranged.hi[0], ranged.hi[1] - ranged.lo[1])
            if runs.left == runs.right and runs.offset < 0:
                break  # a loop over an empty constant range: nothing to guard
            if runs.left != runs.right and runs not in nonempty:  # constant and not empty
                nonempty.append(runs)
            chosen = [self._available(found, entry) for found in open_goals]
            if all(c is not None for c in chosen) and all(self._usable(a, entry) for a in nonempty):
                goals = tuple(atom for atoms in chosen for atom in atoms)  # type: ignore[union-attr]
                best = (entry, Clause(tuple(nonempty), goals))
            executed = entry
        return best

    def _entry(self, loop: Any) -> int | None:
        """The one block that enters ``loop``, if it ends with a jump to the header."""
        if len(loop.entries) != 1:
            return None
        (entry,) = loop.entries
        terminator = self.facts.blocks[entry].terminator
        return entry if isinstance(terminator, ir.Jump) else None

    def _range_of(self, loop: Any) -> RangeLoop | None:
        """The ``range`` the loop iterates over, if it has no other way out."""
        for header, ranged in self.facts.ranges.items():
            exhausted = self.facts.blocks[header].terminator.falsebr
            if header in loop.body and ranged.body in loop.body and exhausted not in loop.body:
                break
        else:
            return None
        for source in loop.body:
            for target, _ in self.facts.cfg.successors(source):
                if target in loop.body or (source, target) == (header, exhausted):
                    continue
                if not (self._raises(target) or self._suspends(source, target)):
                    return None  # a break or a return
        return ranged

    def _raises(self, label: int) -> bool:
        return "Raise" in type(self.facts.blocks[label].terminator).__name__

    def _suspends(self, source: int, target: int) -> bool:
        """Whether ``source -> target`` returns because the run's budget ran out."""
        branch = self.facts.blocks[source].terminator
        if not self.suspension or not isinstance(self.facts.blocks[target].terminator, ir.Return):
            return False
        if not isinstance(branch, ir.Branch) or branch.truebr != target:
            return False
        compared = self.facts.comparison(branch.cond.name)
        if compared is None or compared[0].__name__ != "eq":
            return False
        for term, _ in compared[1:]:
            value = self.facts.definitions.get(term[1]) if term[0] == "v" else None
            if isinstance(value, ir.Arg) and value.name == self.suspension:
                return True
        return False

    def _every_iteration(self, loop: Any, ranged: RangeLoop, executed: int) -> bool:
        """Whether every iteration of ``loop`` runs block ``executed``."""
        if executed == ranged.body:
            return True
        seen, pending = {ranged.body}, [ranged.body]
        while pending:
            label = pending.pop()
            for target, _ in self.facts.cfg.successors(label):
                if target == loop.header:
                    return False  # around the loop without passing it
                if target in loop.body and target != executed and target not in seen:
                    seen.add(target)
                    pending.append(target)
        return True

    def _available(self, found: list, entry: int) -> list[Atom] | None:
        """The atoms of the first sufficient condition whose terms are known at ``entry``;
        plain variables and lengths before a range's run-time bounds."""
        options = []
        for conjuncts in found:
            picked = []
            for alternatives in conjuncts:
                usable = _weakest([a for a in alternatives if self._usable(a, entry)])
                if not usable:
                    break
                picked.append(min(usable, key=_runtime_bounds))
            else:
                options.append(picked)
        if not options:
            return None
        return min(options, key=lambda atoms: (sum(map(_runtime_bounds, atoms)), len(atoms)))

    def _usable(self, atom: Atom, entry: int) -> bool:
        if atom.left == atom.right or abs(atom.offset) > 2**40:
            return False  # trivially true or false, or a type bound: not a real condition
        return self.facts.available(atom.left, entry) and self.facts.available(atom.right, entry)


def _weakest(atoms: list[Atom]) -> list[Atom]:
    """``atoms`` without those another one with the same terms implies: of ``x <= y + c``
    for several ``c``, only the largest ``c`` is kept (the condition most likely to hold).

    montecarlo's ``spins[i, j + 1 if j < L - 1 else 0]`` (``L`` the rows) is in bounds if
    ``rows <= columns`` (from the branch) and also if ``rows <= columns - 1`` (from the
    loop's range alone); the guard tested the second, which no square array meets, so every
    call deoptimized and the function was rejected.
    """
    weakest: dict[tuple, int] = {}
    for atom in atoms:
        terms = (atom.left, atom.right)
        weakest[terms] = max(weakest.get(terms, atom.offset), atom.offset)
    return [atom for atom in atoms if atom.offset == weakest[atom.left, atom.right]]


def _runtime_bounds(atom: Atom) -> int:
    """How many of the atom's terms are a range's run-time bounds (``lo``/``hi``)."""
    return sum(term[0] in ("lo", "hi") for term in (atom.left, atom.right))


def _exact(facts: Facts, prover: Prover) -> Iterator[tuple[ir.Assign, str]]:
    """The checked int ``+ - *`` and negations whose result cannot leave int64."""
    for label, block in facts.blocks.items():
        for index, stmt in enumerate(block.body):
            value = stmt.value if isinstance(stmt, ir.Assign) else None
            if not (isinstance(value, ir.Expr) and value.op == "call" and not value.kws):
                continue
            operation = _OPERATIONS.get(id(facts.callee(value)))
            names = [arg.name for arg in value.args]
            if operation not in ("add", "sub", "mul", "negative"):
                continue
            if not all(facts.is_int(name) for name in [*names, stmt.target.name]):
                continue
            goals = _no_overflow(facts, operation, names)
            if all(prover.holds(x, y, c, ("stmt", label, index)) for x, y, c in goals):
                yield stmt, operation


def _no_overflow(facts: Facts, operation: str, names: list[str]) -> list[tuple]:
    """Goals ``(x, y, c)`` under which the operation's result stays in int64."""
    operands = [facts.canon(name) for name in names]
    if operation == "negative":
        return [((ZERO, 0), operands[0], -_INT64_MIN - 1)]  # x >= INT64_MIN + 1
    (tx, kx), (ty, ky) = operands
    if operation == "add" and ZERO in (tx, ty):
        return _exactly((ty, kx + ky) if tx == ZERO else (tx, kx + ky))
    if operation == "sub" and ty == ZERO:
        return _exactly((tx, kx - ky))
    if operation in ("add", "sub"):
        return _within(operands, _HALF)
    if ZERO in (tx, ty):  # x * k
        constant, other = (kx, (ty, ky)) if tx == ZERO else (ky, (tx, kx))
        return _within([other], INT64_MAX // abs(constant) if constant else INT64_MAX)
    return _within(operands, _ROOT)


def _exactly(value: Canon) -> list[tuple]:
    """Goals ``INT64_MIN <= value <= INT64_MAX``."""
    zero = (ZERO, 0)
    return [(value, zero, INT64_MAX), (zero, value, -_INT64_MIN)]


def _within(operands: list[Canon], limit: int) -> list[tuple]:
    """Goals ``-limit <= operand <= limit`` for each operand."""
    zero = (ZERO, 0)
    goals = []
    for operand in operands:
        goals += [(operand, zero, limit), (zero, operand, limit)]
    return goals
