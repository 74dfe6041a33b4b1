"""autoaccel.rewrite.module: a module rewritten from its source, then bound to live objects."""

from __future__ import annotations

import marshal
import textwrap

import pytest

from autoaccel.rewrite.module import BindError, Rewritten, bind, rewrite_source

SOURCE = textwrap.dedent(
    """
    def total(a):
        s = 0
        for i in range(len(a)):
            s += a[i]
        return s

    grand = 0
    for k in range(5):
        grand += total([k, k])
    """
).encode()


class Disarmed:
    """A trampoline or loop that is never armed: the module runs exactly as written."""

    armed = False

    def __init__(self, *args):
        self.args = args

    def clean(self, namespace):
        for name in [n for n in namespace if n.startswith("@")]:
            del namespace[name]


def test_functions_get_their_code_as_written_and_loops_their_specs():
    rewritten = rewrite_source(SOURCE, "m.py")
    ((code, refusal),) = rewritten.functions
    assert code.co_name == "total" and refusal is None
    assert "@loop0" not in code.co_names, "the trampoline compiles the loop as written"
    assert [spec[1] for spec in rewritten.loops] == ["total.<loop@4>", "<module>.<loop@9>"]
    loaded = Rewritten(*marshal.loads(marshal.dumps(tuple(rewritten))))  # the code cache's way
    assert loaded.loops == rewritten.loops and len(loaded.functions) == 1


def test_bound_and_disarmed_the_module_runs_as_written_and_leaves_no_temporaries():
    rewritten = rewrite_source(SOURCE, "m.py")
    names = {"@locals": locals, "@int": int, "@unbound": object()}
    code = bind(rewritten, lambda c, r: Disarmed(c, r), object(), Disarmed, names)
    namespace: dict = {"__name__": "m"}
    exec(code, namespace)
    assert namespace["grand"] == 20 and namespace["k"] == 4
    assert not [name for name in namespace if name.startswith("@")]


def test_a_placeholder_without_its_object_is_a_bind_error():
    rewritten = rewrite_source(SOURCE, "m.py")
    with pytest.raises(BindError):
        bind(rewritten, lambda c, r: Disarmed(c, r), object(), Disarmed, {})
