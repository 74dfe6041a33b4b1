"""autoaccel.runtime.loop_unit: a loop's compile unit, the function generated for one plan."""

from __future__ import annotations

import ast
import textwrap
from types import SimpleNamespace

from autoaccel.config import Config
from autoaccel.rewrite.loop_host import LoopRewriter
from autoaccel.runtime.loop_boundary import boundary
from autoaccel.runtime.loop_unit import LoopUnit

SOURCE = textwrap.dedent(
    """
    def total(a, f):
        s = 0.0
        for i in range(len(a)):
            s += f(a[i]) * SCALE
        return s
    """
)


def _unit(namespace: dict, frozen: bool = False) -> LoopUnit:
    rewriter = LoopRewriter(SOURCE.splitlines(keepends=True))
    rewriter.module(ast.parse(SOURCE))
    spec = rewriter.specs[0]
    loop = SimpleNamespace(
        name="m.total.<loop@4>", qualname="total.<loop@4>", module="m", filename="m.py",
        globals=namespace, config=Config(cache=False), min_gain=0.0, spec=spec,
    )  # fmt: skip
    frame = {"a": [1.0, 2.0], "f": abs, "s": 0.0}
    state = boundary(spec, namespace, range(2), 0, frame)
    assert not isinstance(state, str), state
    assert state.frozen == (("f", abs),)  # a variable holding code: read as a global
    return LoopUnit(loop, state.plan, state.frozen if frozen else ())


def test_the_unit_is_a_function_of_the_loops_live_ins_with_the_modules_globals():
    namespace = {"SCALE": 2.0}
    unit = _unit(namespace)
    assert unit.globals is namespace and unit.code.co_filename == "m.py"
    params = set(unit.code.co_varnames[: unit.code.co_argcount])
    assert {"a", "s"} <= params and "f" not in params
    assert unit.required_gain() == 0.0


def test_frozen_code_variables_read_as_globals_of_a_copy_kept_up_to_date():
    namespace = {"SCALE": 2.0}
    unit = _unit(namespace, frozen=True)
    assert unit.globals is not namespace and unit.globals["f"] is abs
    namespace["SCALE"] = 3.0
    unit.refresh()  # a global changed since the copy was made
    assert unit.globals["SCALE"] == 3.0 and unit.globals["f"] is abs
    # The variant's snapshot watches the module's own globals, but the frozen names in the
    # copy (their values are the key's).
    snapshot = ((unit.globals, "SCALE", 3.0), (unit.globals, "f", abs))
    assert unit.live_snapshot(snapshot) == ((namespace, "SCALE", 3.0), (unit.globals, "f", abs))
