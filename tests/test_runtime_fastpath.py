"""autoaccel.runtime.fastpath: promoted calls and counting, in C and in Python, answer alike.

Every test runs on both paths (the ``path`` fixture): the C ``Dispatch.enter`` where the
extension is built, and ``Trampoline.python_enter``. Each guard's test promotes a function,
then brings the input or state that the guard exists for; a C path that skipped the guard
would return the variant's answer where the original's is due.
"""

from __future__ import annotations

import _thread
import gc
import os
import shutil
import sys
import sysconfig

import numpy as np
import pytest
from conftest import SHORTFALL, run_python

from autoaccel.backends.cpu import Guards
from autoaccel.boundary.convert import convert, native_plan
from autoaccel.config import Config
from autoaccel.runtime import fastpath
from autoaccel.runtime.registry import lookup
from autoaccel.runtime.trampoline import Trampoline
from autoaccel.runtime.variant import MISS, ConvertingVariant, Variant


@pytest.fixture(params=["c", "python"])
def path(request, monkeypatch):
    """Which path serves calls: "c" (skipped where the extension is not built) or "python"."""
    if request.param == "c" and fastpath.NATIVE is None:
        pytest.skip("the C fast path is not built (or AUTOACCEL_PURE_PYTHON=1)")
    if request.param == "python":
        monkeypatch.setattr(Trampoline, "enter", Trampoline.python_enter)
    return request.param


def promoted(module, name, *args):
    """``module.name`` after its signature for ``args`` was promoted."""
    function = getattr(module, name)
    for _ in range(10):
        function(*args)
        if lookup(function).promotions:
            return function
    raise AssertionError(f"{name} was not promoted: {lookup(function).failures}")


KERNELS = """
import numpy as np

SCALE = 2.0

def helper(x):
    return x + 1.0

def scaled(a):
    s = 0.0
    for i in range(a.shape[0]):
        s += a[i] * SCALE
    return s

def with_helper(x):
    return helper(x) * 2.0

def divide(a, b):
    return a / b

def choose(n):
    return 1 if n > 0 else 2.5

def twice(x):
    return x * 2

def area(w, h=3.0):
    return w * h

def first(a, i):
    return a[i]

def total(a):
    s = 0.0
    for i in range(a.shape[0]):
        s += a[i]
    return s
"""


def test_a_promoted_call_answers_as_the_original(accelerated, path):
    mod = accelerated(KERNELS)
    a = np.arange(5.0)
    total = promoted(mod, "total", a)
    result = total(a)
    assert result == 10.0 and type(result) is np.float64
    assert lookup(total).promotions[0].signature == "(array(float64, 1d, C))"


def test_a_global_reassigned_after_promotion_is_seen(accelerated, path):
    mod = accelerated(KERNELS)
    a = np.ones(3)
    scaled = promoted(mod, "scaled", a)
    assert scaled(a) == 6.0
    mod.SCALE = 5.0  # a write to the module's globals after the variant froze SCALE
    assert scaled(a) == 15.0
    assert "global SCALE changed" in str(lookup(scaled).failures) or not lookup(scaled).promotions


def test_a_helper_redefined_after_promotion_is_seen(accelerated, path):
    mod = accelerated(KERNELS)
    with_helper = promoted(mod, "with_helper", 1.0)
    assert with_helper(1.0) == 4.0
    mod.helper.__code__ = (lambda x: x + 10.0).__code__  # the helper itself, not its name
    assert with_helper(1.0) == 22.0
    mod.helper = lambda x: x - 1.0  # the name rebound
    assert with_helper(1.0) == 0.0


def test_numpy_error_state_changed_after_promotion_is_seen(accelerated, path):
    mod = accelerated(KERNELS)
    divide = promoted(mod, "divide", np.ones(2), np.ones(2))
    with np.errstate(divide="raise"), pytest.raises(FloatingPointError):
        divide(np.ones(2), np.zeros(2))
    with np.errstate(divide="ignore"):
        assert np.isinf(divide(np.ones(2), np.zeros(2))).all()


def test_a_result_whose_type_is_ambiguous_comes_from_the_original(accelerated, path):
    mod = accelerated(KERNELS)
    choose = promoted(mod, "choose", -1)
    assert choose(-1) == 2.5
    result = choose(5)  # CPython returns the int constant; Numba's unified type is float
    assert result == 1 and type(result) is int


def test_numpy_scalars_big_ints_and_float_subclasses_get_the_originals_answer(accelerated, path):
    mod = accelerated(KERNELS)
    twice = promoted(mod, "twice", 3.0)
    for value in (np.float64(1.5), np.float32(1.5), 2**70, -(2**63), 7):
        result = twice(value)
        assert result == value * 2 and type(result) is type(value * 2), value

    class Loud(float):
        def __mul__(self, other):
            return "loud"

    assert twice(Loud(1.0)) == "loud"


def test_keywords_and_defaults_are_bound_before_the_variant_runs(accelerated, path):
    mod = accelerated(KERNELS)
    area = promoted(mod, "area", 2.0)
    assert area(2.0) == 6.0
    assert area(h=4.0, w=2.0) == 8.0
    area.__defaults__ = (10.0,)
    assert area(2.0) == 20.0


def test_an_exception_in_the_compiled_code_is_the_originals(accelerated, path):
    mod = accelerated(KERNELS)
    a = np.arange(3.0)
    first = promoted(mod, "first", a, 1)
    with pytest.raises(IndexError) as raised:
        first(a, 7)
    assert str(raised.value) == "index 7 is out of bounds for axis 0 with size 3"
    assert any(entry.name == "first" for entry in raised.traceback)


def test_ctrl_c_interrupts_a_loop_of_promoted_calls(accelerated, path, python_sigint):
    mod = accelerated(KERNELS)
    a = np.arange(3.0)
    total = promoted(mod, "total", a)
    calls = 0
    with pytest.raises(KeyboardInterrupt):
        for calls in range(10**7):
            total(a)
            if calls == 1000:
                _thread.interrupt_main()  # as Ctrl-C: a pending signal, raised at the next check
    assert 1000 <= calls < 10**7 - 1


def test_arrays_numba_cannot_type_get_the_originals_answer(accelerated, path):
    mod = accelerated(KERNELS)
    total = promoted(mod, "total", np.arange(4.0))
    for array in (np.arange(4, dtype=np.longdouble), np.arange(4.0).astype(">f8")):
        for _ in range(3):
            result = total(array)
            assert result == 6.0 and type(result) is type(array[0] + 0.0), array.dtype


class _Raising:
    """Compiled code (as ``Variant`` sees it) that raises ``exception`` when called."""

    snapshot: tuple = ()
    guards = Guards()
    compiling = False

    def __init__(self, exception: BaseException) -> None:
        def entry(*args):
            raise exception

        self.entry = entry

    def entry_point(self, args: tuple):
        return self.entry


def test_only_exceptions_hand_the_call_back_keyboard_interrupt_propagates(path):
    namespace: dict = {}
    exec("def original(x):\n    return x", namespace)
    code = namespace["original"].__code__
    for exception in (ValueError("v"), KeyboardInterrupt()):
        trampoline = Trampoline("m", code, namespace, Config(), None)
        trampoline._fast = {(float,): Variant(_Raising(exception))}
        if isinstance(exception, Exception):
            assert trampoline.enter(1.0) is MISS  # the prologue then runs the original body
        else:
            with pytest.raises(KeyboardInterrupt):  # as Ctrl-C in compiled code: not retried
                trampoline.enter(1.0)


def test_arrays_of_another_dtype_layout_or_writability_are_keyed_apart(accelerated, path):
    mod = accelerated(KERNELS)
    a = np.arange(6.0)
    total = promoted(mod, "total", a)
    read_only = a.copy()
    read_only.flags.writeable = False
    for _ in range(6):  # each pattern is counted, trialled and promoted on its own
        for array in (np.arange(6), a[::2], read_only, np.arange(6, dtype=np.float32), a):
            expected = sum(array.tolist(), 0.0)
            assert total(array) == expected, array
    # Each pattern reached its own trial: none was served by another's compiled code.
    assert {p.signature for p in lookup(total).promotions} >= {
        "(array(float64, 1d, C))",
        "(array(float64, 1d, A))",
        "(array(int64, 1d, C))",
        "(readonly array(float64, 1d, C))",
    }


def test_calls_are_counted_exactly_before_and_after_promotion(accelerated, path):
    mod = accelerated(KERNELS, min_calls=50)
    trampoline = lookup(mod.twice)
    for _ in range(30):
        mod.twice(1.0)
        mod.twice(1)
    assert trampoline.signature_calls() == 30
    assert trampoline._counts == {(float,): 30, (int,): 30}
    assert not trampoline.promotions
    for _ in range(30):
        mod.twice(1.0)
    assert trampoline.promotions
    assert int(repr(trampoline.calls)[len("count(") : -1]) == 90


def test_the_c_path_is_built_where_a_compiler_is(monkeypatch):
    """CI installs with a compiler: a failed build must not pass silently as the fallback."""
    if os.environ.get(fastpath.PURE_PYTHON, "0") not in ("", "0"):
        pytest.skip("the Python path is forced")
    compiler = (sysconfig.get_config_var("CC") or "cc").split()[0]
    if shutil.which(compiler) is None:
        pytest.skip("no C compiler here")
    assert fastpath.NATIVE is not None, "autoaccel/runtime/_fastpath.c was not built"
    assert fastpath.describe().startswith("C (")


def test_a_bad_pure_python_setting_is_a_clear_error():
    result = run_python("-c", "import autoaccel", env={fastpath.PURE_PYTHON: "maybe"})
    assert result.returncode != 0
    assert "AUTOACCEL_PURE_PYTHON='maybe'" in result.stderr


def test_the_forced_fallback_serves_every_call_in_python():
    script = (
        "from autoaccel.runtime import fastpath, trampoline;"
        "print(fastpath.describe(), trampoline.Trampoline.enter is "
        "trampoline.Trampoline.python_enter)"
    )
    result = run_python("-c", script, env={fastpath.PURE_PYTHON: "1"})
    assert result.stdout.split() == ["Python", "True"]


@pytest.mark.slow
def test_a_million_promoted_calls_leak_nothing(accelerated, path):
    """Reference leaks in the C path would grow the process by ~100 MB per million calls."""
    mod = accelerated(KERNELS)
    a = np.arange(5.0)
    total = promoted(mod, "total", a)
    choose = promoted(mod, "choose", -1)

    def rss() -> int:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

    if not os.path.exists("/proc/self/statm"):
        pytest.skip("no /proc here")
    for _ in range(100_000):  # warm: allocator pools, caches
        total(a)
        choose(5)
    gc.collect()
    before, blocks = rss(), sys.getallocatedblocks()
    for _ in range(1_000_000):
        total(a)
        choose(5)  # handed back to the original each time (ambiguous result)
        choose(-1)
    gc.collect()
    assert rss() - before < 4 * 2**20
    assert sys.getallocatedblocks() - blocks < 1000


def test_the_calls_before_min_calls_are_timed_on_either_path(accelerated, path):
    # Admission (autoaccel/runtime/admission.py) times the last TIMED_CALLS calls before
    # min_calls; a C path that counted them itself would leave it nothing to judge by.
    from autoaccel.policy.cost import TIMED_CALLS

    mod = accelerated(KERNELS, min_calls=10, min_gain=1.2, min_seconds=0.0)
    a = np.ones(100)
    for _ in range(9):
        mod.scaled(a)
    trampoline = lookup(mod.scaled)
    (cost,) = trampoline.promoter.admission.costs.values()
    assert trampoline.signature_calls((np.ndarray,)) == 9
    assert len(cost.seconds) == TIMED_CALLS


def test_calls_waiting_for_python_time_are_only_counted(accelerated, path, monkeypatch):
    # Admission has nothing to decide until a signature's calls have taken min_seconds
    # (here never); the calls up to then are counted exactly, and in C without Python.
    mod = accelerated(KERNELS, min_calls=10, min_gain=1.2, min_seconds=1e6)
    a = np.ones(100)
    for _ in range(12):
        mod.scaled(a)
    trampoline = lookup(mod.scaled)
    (cost,) = trampoline.promoter.admission.costs.values()
    assert trampoline.quiet_until == {(np.ndarray,): cost.needed}
    slow = []
    original = Trampoline._enter_slow
    monkeypatch.setattr(
        Trampoline, "_enter_slow", lambda self, *a: slow.append(1) or original(self, *a)
    )
    for _ in range(500):
        assert mod.scaled(a) == 200.0
    assert trampoline.signature_calls((np.ndarray,)) == 512
    assert trampoline.compiled is None
    if path == "c":
        assert slow == []


RECURSIVE = """
def depth(n):
    return 0 if n == 0 else depth(n - 1) + 1
"""


def test_recursive_code_is_served_until_a_caller_or_a_recursion_may_be_too_deep(
    accelerated, path, monkeypatch
):
    # The C path reads the thread's recursion depth in O(1) and leaves a caller that may be
    # too deep to Variant.run's exact check; a recursion past the compiled budget is DEEP.
    mod = accelerated(RECURSIVE)
    depth = promoted(mod, "depth", 30)
    runs = []
    monkeypatch.setattr(Variant, "run", _counting(Variant.run, runs))
    assert [depth(30) for _ in range(5)] == [30] * 5
    assert len(runs) == (0 if path == "c" else 5), "shallow calls are the route's"
    namespace: dict = {}
    exec("def nest(k, f):\n    return f(5) if k == 0 else nest(k - 1, f)", namespace)
    variant = next(iter(lookup(depth)._exact.values()))
    assert namespace["nest"](20, depth) == 5 and lookup(depth).armed
    assert namespace["nest"](variant.max_frames, depth) == 5  # the original answers
    assert not lookup(depth).armed and lookup(depth).promotions == []
    deep = accelerated(RECURSIVE.replace("depth", "again"))
    again = promoted(deep, "again", 30)
    assert again(600) == 600 and not lookup(again).armed  # past its budget of 250 levels


def test_a_recursion_limit_changed_after_promotion_invalidates_recursive_code(accelerated, path):
    mod = accelerated(RECURSIVE)
    depth = promoted(mod, "depth", 30)
    limit = sys.getrecursionlimit()
    try:
        sys.setrecursionlimit(limit + 7)  # the compiled budget was computed for the old one
        assert depth(30) == 30
        assert lookup(depth).promoter.invalidations == 1
    finally:
        sys.setrecursionlimit(limit)


LISTS = """
SCALE = 2.0

def weighted(i_u):
    i, u = i_u
    s = 0.0
    for j in range(len(u)):
        s += u[j] * (i + j) * SCALE
    return s

def dot(a, b):
    s = 0
    for j in range(len(a)):
        s += a[j] * b[j]
    return s
"""


def _weighted(i, u, scale=2.0):
    s = 0.0
    for j in range(len(u)):
        s += u[j] * (i + j) * scale
    return s


def test_calls_carrying_lists_are_converted_in_c_and_every_guard_holds(
    accelerated, path, monkeypatch
):
    # spectral_norm's shape: a tuple holding an int and a list of floats. The C path
    # converts the list itself (a converting route) and never reaches ConvertingVariant.run.
    mod = accelerated(LISTS)
    u = [0.5, 1.5, 2.5, 3.0]
    weighted = promoted(mod, "weighted", (1, u))
    runs = []
    monkeypatch.setattr(ConvertingVariant, "run", _counting(ConvertingVariant.run, runs))
    assert [weighted((k, u)) for k in range(5)] == [_weighted(k, u) for k in range(5)]
    assert len(runs) == (0 if path == "c" else 5)
    assert u == [0.5, 1.5, 2.5, 3.0] and all(type(x) is float for x in u)
    # After promotion: an element of another class (the unboxer hands the call back), a
    # list of ints (no promoted signature), a list of lists (the walk's): CPython's answers.
    mixed, ints = [0.5, 2, 2.5], [1, 2, 3]
    assert weighted((2, mixed)) == _weighted(2, mixed)
    assert weighted((2, ints)) == _weighted(2, ints)
    with pytest.raises(TypeError):
        weighted((2, [[1.0]]))
    assert lookup(weighted).armed
    mod.SCALE = 3.0  # a frozen global reassigned: the route answers STALE, Python recompiles
    assert weighted((1, u)) == _weighted(1, u, 3.0)
    # One list passed twice is converted once; ints stay exact.
    dot = promoted(mod, "dot", [1, 2, 3], [1, 2, 3])
    same, runs[:] = [4, 5, 6], []
    assert [dot(same, same) for _ in range(3)] == [77] * 3 and type(dot(same, same)) is int
    assert len(runs) == (0 if path == "c" else 4)


def test_the_c_conversion_makes_the_walks_objects_and_declines_the_rest():
    if fastpath.NATIVE is None:
        pytest.skip("the C fast path is not built (or AUTOACCEL_PURE_PYTHON=1)")
    numbers, tuples = native_plan()
    u = [1.0, 2.0]
    (walked,) = convert(((1, u),))
    natives = fastpath.native_convert((u, (1, u), u, 7, "s"), numbers, tuples, np.empty)
    assert natives[0] is natives[1][1] is natives[2] and natives[0].source is u  # aliasing
    assert type(natives[1]) is type(walked) and type(natives[0]) is type(walked[1])
    assert natives[3:] == (7, "s") and natives[0].storage.shape == (3,)  # + the written mark
    deep: tuple = (u,)
    for _ in range(100_000):  # the C recursion is bounded
        deep = (deep,)
    for declined in ([], [[1.0]], [np.float64(1.0)], bytearray(b"x"), object(), deep):
        assert fastpath.native_convert((declined,), numbers, tuples, np.empty) is None


SHORTFALL_AND_HELPERS = (
    SHORTFALL
    + """
def shortfall_of(demand, stock):
    short = 0.0
    for t in range(demand.shape[0]):
        if demand[t] > stock:
            short += demand[t] - stock
    return short, demand.shape[0]

def scaled_sum(a, k, x):
    s = 0.0
    for i in range(k):
        s += a[i]
    return a * 2.0, (s, x, a)
"""
)


def test_a_constant_returned_inside_a_tuple_keeps_its_type(accelerated, path):
    # examples/mixed's simulate_policy: `short` is the float 0.0 in CPython until a NumPy
    # value is added to it; the trial saw only calls that added one (np.float64), so the
    # adapter makes the item a NumPy scalar, and a call that adds none must not get one.
    mod = accelerated(SHORTFALL_AND_HELPERS)
    demand = np.array([1.0, 5.0, 2.0])
    shortfall = promoted(mod, "shortfall", demand, 3.0)
    assert [type(x) for x in shortfall(demand, 3.0)] == [np.float64, np.float64, int]
    result = shortfall(demand, 10.0)
    assert result == (8.0, 0.0, 0) and [type(x) for x in result] == [np.float64, float, int]
    assert lookup(shortfall).armed
    # Arrays among the items (and an array argument returned as is) are not compared with
    # the constants: an array's == gives no truth value (this raised ValueError in the
    # user's program once).
    a = np.arange(1.0, 4.0)
    scaled_sum = promoted(mod, "scaled_sum", a, 2, 1.5)
    doubled, (s, x, same) = scaled_sum(a, 0, 1.5)
    assert (doubled == a * 2.0).all() and (s, x) == (0.0, 1.5) and type(s) is float
    assert same is a or (same == a).all()


@pytest.mark.parametrize(
    "stocks", [[3.0, 10.0] * 8, [10.0, 3.0] * 8, [10.0] * 30 + [3.0, 10.0] * 4]
)
def test_a_trial_seeing_the_constant_returned_promotes_and_such_calls_get_its_type(
    accelerated, path, stocks
):
    # The same function when the trial itself sees calls that return the constant (in
    # examples/mixed's run, one of them made the trial reject simulate_policy as answering
    # differently): a promoted call would hand such a call back, so the trial neither
    # compares nor times it; and it does not learn the result's types from one (that
    # taught `short` the constant's type, float, and then a promoted call that added to
    # it returned 2.0 where CPython returns np.float64(2.0)). The count, always the int
    # 0, is never ambiguous (beside the float constants, it made every call run twice).
    mod = accelerated(SHORTFALL_AND_HELPERS, validation_calls=4)
    demand = np.array([1.0, 5.0, 2.0])
    shortfall = mod.shortfall
    for stock in stocks:  # 3.0: some shortfall; 10.0: none (the constant 0.0)
        result = shortfall(demand, stock)
        short = np.float64 if stock == 3.0 else float
        assert [type(x) for x in result] == [np.float64, short, int], stock
        assert result == ((8.0, 2.0, 0) if stock == 3.0 else (8.0, 0.0, 0))
    assert lookup(shortfall).promotions, lookup(shortfall).failures


def test_a_trial_that_saw_only_the_constant_returned_learns_no_type_from_it(accelerated, path):
    # Every trial call returns the constant 0.0 for `short`: its type there (float) says
    # nothing of the type a call that adds to it returns (np.float64). Learned anyway, a
    # promoted call returned 2.0 where CPython returns np.float64(2.0).
    mod = accelerated(SHORTFALL_AND_HELPERS, validation_calls=4)
    demand = np.array([1.0, 5.0, 2.0])
    for _ in range(50):
        result = mod.shortfall_of(demand, 10.0)
        assert result == (0.0, 3) and type(result[0]) is float
    result = mod.shortfall_of(demand, 3.0)
    assert result == (2.0, 3) and type(result[0]) is np.float64
    assert not lookup(mod.shortfall_of).promotions


def _counting(run, runs):
    def counted(self, args, call=None):
        runs.append(args)
        return run(self, args, call)

    return counted
