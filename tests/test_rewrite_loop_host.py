"""autoaccel.rewrite.loop_host: candidate loops instrumented; disarmed, they run as written."""

from __future__ import annotations

import ast
import textwrap

from autoaccel.rewrite.loop_host import LoopRewriter

SOURCE = textwrap.dedent(
    """
    def total(a):
        s = 0.0
        for i in range(len(a)):
            s += a[i]
        else:
            s += 0.5
        return s

    def noisy(a):
        for x in a:
            print(x)
    """
)


def rewritten(source: str = SOURCE):
    rewriter = LoopRewriter(source.splitlines(keepends=True))
    return rewriter.module(ast.parse(source)), rewriter.specs


def test_each_loop_gets_a_spec_and_refused_ones_keep_their_reason():
    _, specs = rewritten()
    assert [(s.qualname, s.kind, s.refusal) for s in specs] == [
        ("total.<loop@4>", "range", ""),
        (
            "noisy.<loop@11>",
            "iter",
            "print() at line 12: prints (Numba writes to C stdout, out of order with sys.stdout)",
        ),
    ]
    assert specs[0].live_out == ("s",) and specs[0].exposed == ("a", "s")


def test_a_candidate_loop_is_guarded_by_its_trampoline_and_a_refused_one_is_not():
    tree, _ = rewritten()
    text = ast.unparse(tree)
    assert "if @loop0.armed:" in text and "@loop1" not in text


def test_the_users_statements_keep_their_lines():
    tree, _ = rewritten()
    function = tree.body[0]
    lines = {
        n.lineno
        for n in ast.walk(function)
        if isinstance(n, ast.AugAssign) and getattr(n.target, "id", "") == "s"
    }
    assert lines == {5, 7}, "s += a[i] and the else clause's s += 0.5"
