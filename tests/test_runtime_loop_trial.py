"""autoaccel.runtime.loop_trial: a hot loop compiled, validated on windows, promoted."""

from __future__ import annotations

import textwrap

import numpy as np

from autoaccel.analysis.loops import LoopSpec
from autoaccel.config import Config
from autoaccel.rewrite.loop_host import LoopRewriter
from autoaccel.runtime.loop_boundary import NEVER, boundary
from autoaccel.runtime.loop_trial import LoopTrial, window_owner, with_budget

SOURCE = textwrap.dedent(
    """
    def total(a):
        s = 0.0
        for i in range(a.shape[0]):
            s += a[i] * 0.5
        return s
    """
)


class Owner:
    """A loop trampoline reduced to what the trial reads and tells."""

    def __init__(self, spec: LoopSpec) -> None:
        self.name = self.qualname = spec.qualname
        self.module = "m"
        self.filename = "m.py"
        self.spec = spec
        self.globals: dict = {"__file__": "m.py"}
        self.config = Config(cache=False, isolate_first_run=False, validation_calls=2)
        self.min_gain = 0.0
        self.seconds, self.iterations = 1.0, 100
        self.window = None
        self.promoted: list = []
        self.failed: list = []

    def promote(self, key, compiled, site_types, record):
        self.promoted.append((key, site_types, record))

    def fail(self, key, reason, signature=""):
        self.failed.append(reason)

    def run_promoted(self, key, plan, arguments):
        raise AssertionError("no saved decision without a cache")


def loop_spec() -> LoopSpec:
    rewriter = LoopRewriter(SOURCE.splitlines(keepends=True))
    import ast

    rewriter.module(ast.parse(SOURCE))
    return rewriter.specs[0]


def test_with_budget_sets_only_the_budget_argument():
    assert with_budget("range", (3, 10, 1, NEVER, "x"), 8) == (3, 10, 1, 8, "x")
    assert with_budget("while", (NEVER, "x"), 8) == (8, "x")
    assert window_owner("while", object())[1] == 0


def test_windows_that_match_python_promote_with_the_sites_types():
    spec = loop_spec()
    owner = Owner(spec)
    trial = LoopTrial(owner)
    a = np.arange(1000.0)
    frame = {"a": a, "s": 0.0}
    state = boundary(spec, {}, range(1000), 0, frame)
    size = trial.start(state, range(1000), frame)
    assert isinstance(size, int) and owner.window is not None
    s, position = 0.0, 0
    for _ in range(2):  # Python runs each window for real, then reaches the boundary
        for i in range(position, position + size):
            s += a[i] * 0.5
        position += size
        frame = {"a": a, "s": s}
        trial.finish_window(0, position, frame, owner.window.started + 1e-3)
        if trial.pending is not None:
            state = boundary(spec, {}, range(1000), position, frame)
            size = trial.open_window(state, range(1000), frame)
    assert not owner.failed and len(owner.promoted) == 1
    (_, site_types, record) = owner.promoted[0]
    assert set(site_types.types.values()) == {np.float64}  # s += a[i] * 0.5
    assert record.signature == "(a: array(float64, 1d, C), s: float64)"


def test_a_first_look_after_one_iteration_opens_a_window_of_one_iteration():
    # A loop promoted in an earlier run and trialled again (the configuration changed) looks
    # first at its first boundary, microseconds in: no estimate of an iteration's time. A
    # window sized from it covered a whole run, and the loop stayed in validation.
    spec = loop_spec()
    owner = Owner(spec)
    owner.seconds, owner.iterations = 30e-6, 1
    trial = LoopTrial(owner)
    a = np.arange(1000.0)
    frame = {"a": a, "s": 0.0}
    state = boundary(spec, {}, range(1000), 1, frame)
    assert trial.start(state, range(1000), frame) == 1
    # Once a millisecond is seen, the time per iteration sizes the window (2 ms of it).
    owner.seconds, owner.iterations = 2e-3, 10
    assert trial.open_window(state, range(1000), frame) == 10
