"""autoaccel.backends.cpu: building a variant with its helpers and snapshot, explicit compiles."""

from __future__ import annotations

import types

import numba
import numpy as np
import pytest
from conftest import Unit, cache_at, units

from autoaccel.backends import cpu
from autoaccel.backends.range_compiler import RangeCompiler
from autoaccel.backends.snapshot import Flags, snapshot_changed
from autoaccel.cache.variants import VariantStore
from autoaccel.config import JitOptions
from autoaccel.errors import Rejection

SOURCE = """
import numpy as np

SCALE = 2.0
TABLE = np.arange(3.0)
TABLE.flags.writeable = False
BUFFER = np.zeros(3)

def scale(x):
    return x * SCALE

def scaled_sum(a):
    s = 0.0
    for i in range(a.shape[0]):
        s += scale(a[i]) + TABLE[0]
    return s

def bump(a):
    for i in range(a.shape[0]):
        a[i] += 1.0

def pairwise(a):
    return a.sum()

def broken(a):
    return a.no_such_attribute

def uses_buffer(a):
    return BUFFER[0] + a[0]

def zero_or_first(a, k):
    if k > 0:
        return a[0]
    return 0
"""

OPTIONS = JitOptions()
ARRAY = numba.typeof(np.zeros(3))


@pytest.fixture
def kernels():
    return units(SOURCE)


def _inspection(written=(), constants=(), arguments=(), shared=()):
    return types.SimpleNamespace(
        written=set(written),
        copied=None,
        ambiguous_constants=list(constants),
        ambiguous_arguments=set(arguments),
        shared_constants=list(shared),
        shared_arguments=set(),
    )


def test_guards_widen_with_each_signature_compiled():
    guards = cpu.Guards().widened(_inspection(written=[1], constants=[0.0]))
    assert guards == cpu.Guards((1,), (1,), (0.0,), (), float)  # only float constants pass
    guards = guards.widened(_inspection([0, 1], constants=[0], arguments=[2], shared=[0]))
    assert guards.written == (0, 1) and guards.shared_constants == (0,)
    assert guards.ambiguous_constants == (0.0, 0)
    assert guards.ambiguous_arguments == (2,)
    assert guards.unambiguous is None  # an int and a float constant, and an argument


def test_written_arguments_are_copied_only_where_a_hand_back_can_follow():
    quiet = _inspection(written=[0, 1])
    quiet.copied = {1}
    assert cpu.Guards().widened(quiet).copied == (1,)
    saved_before = _inspection(written=[0, 1])  # an outcome saved without ``copied``
    assert cpu.Guards().widened(saved_before).copied == (0, 1)
    typed = _inspection(written=[0, 1], constants=[0])  # a result handed back for its type
    typed.copied = set()
    assert cpu.Guards().widened(typed).copied == (0, 1)


def test_variants_compile_with_the_range_analysis_and_parfors_without():
    def kernel(a):
        return a.sum()

    serial = cpu._njit(kernel, JitOptions())._compiler.pipeline_class
    parallel = cpu._njit(kernel, JitOptions(parallel=True))._compiler.pipeline_class
    assert serial is RangeCompiler and parallel is not RangeCompiler


@pytest.mark.parametrize(
    ("constants", "arguments", "expected"),
    [((0.0, 1.5), (), float), ((0, 1), (), int), ((0, 0.0), (), None), ((0.0,), (1,), None)],
)
def test_a_result_type_no_constant_can_be_confused_with(constants, arguments, expected):
    assert cpu.unambiguous_type(constants, arguments) is expected


def test_build_replaces_helpers_by_dispatchers_and_records_what_it_froze(kernels):
    found, lookup = kernels
    unit = found["scaled_sum"]
    compiled = cpu.build(unit, OPTIONS, lookup)
    assert unit.compiled is compiled and found["scale"].compiled is not None
    overlay = compiled.entry.py_func.__globals__
    assert overlay["scale"] is found["scale"].compiled.dispatcher
    assert unit.globals["scale"] is not overlay["scale"]  # the module's own is untouched
    names = [name for _, name, _ in compiled.snapshot]
    assert names == ["range", "scale", "code", "SCALE", "TABLE", "writeable"]
    flags = [owner for owner, name, _ in compiled.snapshot if name == "writeable"]
    assert isinstance(flags[0], Flags) and flags[0].array is unit.globals["TABLE"]
    assert snapshot_changed(compiled.snapshot) is None


def test_build_calls_a_decorated_helper_as_the_function_its_wrapper_forwards_to():
    found, by_code = units(
        """
        import functools

        def jit(f):
            @functools.wraps(f)
            def wrapper(*args, **kwargs):
                return f(*args, **kwargs)
            return wrapper

        @jit
        def square(x):
            return x * x

        def twice(x):
            return square(x) * 2.0
        """
    )
    original = found["twice"].globals["square"].__wrapped__  # not a global: units skips it
    square = Unit(original.__code__, found["twice"].globals)

    def lookup(function):
        return square if function is original else by_code(function)

    compiled = cpu.build(found["twice"], OPTIONS, lookup)
    assert compiled.entry.py_func.__globals__["square"] is square.compiled.dispatcher
    assert [name for _, name, _ in compiled.snapshot][:4] == [
        "square", "__code__", "contents", "code",
    ]  # fmt: skip
    assert compiled.entry(3.0) == 18.0


def test_build_reuses_a_variant_until_a_frozen_global_changes(kernels):
    found, lookup = kernels
    unit = found["scaled_sum"]
    first = cpu.build(unit, OPTIONS, lookup)
    assert cpu.build(unit, OPTIONS, lookup) is first
    unit.globals["SCALE"] = 3.0  # a helper's global
    assert snapshot_changed(first.snapshot) == "SCALE"
    assert cpu.build(unit, OPTIONS, lookup) is not first


def test_build_refuses_a_global_it_cannot_freeze(kernels):
    found, lookup = kernels
    with pytest.raises(Rejection, match=r"reads global array BUFFER.*\[27\]"):
        cpu.build(found["uses_buffer"], OPTIONS, lookup)


def test_compile_signature_compiles_exactly_one_signature_then_refuses_others(kernels):
    found, lookup = kernels
    compiled = cpu.build(found["scaled_sum"], OPTIONS, lookup)
    seconds, from_cache = cpu.compile_signature(compiled, (ARRAY,))
    assert seconds > 0 and from_cache is False
    assert compiled.entry.signatures == [(ARRAY,)] and compiled.compiling is False
    a = np.arange(3.0)
    assert compiled.entry(a) == sum(x * 2.0 for x in a)
    with pytest.raises(TypeError):  # compile-disabled: never an unvalidated specialization
        compiled.entry(np.arange(3))
    assert compiled.unvalidated() == 1


def test_compile_signature_records_the_guards_the_typed_ir_asks_for(kernels):
    found, lookup = kernels
    bump = cpu.build(found["bump"], OPTIONS, lookup)
    cpu.compile_signature(bump, (ARRAY,))
    assert bump.guards.written == (0,)
    either = cpu.build(found["zero_or_first"], OPTIONS, lookup)
    cpu.compile_signature(either, (ARRAY, numba.int64))
    # Numba returns a float either way; CPython returns the int 0 on one path.
    assert either.guards.ambiguous_constants == (0,) and either.guards.unambiguous is int


@pytest.mark.parametrize(
    ("name", "reason"),
    [("broken", "Numba cannot compile it: "), ("pairwise", "which NumPy sums pairwise [16]")],
)
def test_what_numba_refuses_or_the_typed_ir_rules_out_is_a_rejection(kernels, name, reason):
    found, lookup = kernels
    compiled = cpu.build(found[name], OPTIONS, lookup)
    with pytest.raises(Rejection) as info:
        cpu.compile_signature(compiled, (ARRAY,))
    assert reason in str(info.value)
    assert len(str(info.value)) < 300 and "\x1b[" not in str(info.value)


def test_a_store_saves_a_compile_and_a_later_one_loads_it(kernels, tmp_path):
    found, lookup = kernels
    store = VariantStore(cache_at(tmp_path), "ab" * 32)
    first = cpu.build(found["bump"], OPTIONS, lookup)
    assert cpu.compile_signature(first, (ARRAY,), store)[1] is False
    found["bump"].compiled = None  # as in a later process
    again = cpu.build(found["bump"], OPTIONS, lookup)
    assert cpu.compile_signature(again, (ARRAY,), store)[1] is True
    assert again.guards.written == (0,)  # the saved inspection, not a new one


def test_a_saved_refusal_is_raised_again_without_compiling(kernels, tmp_path):
    found, lookup = kernels
    store = VariantStore(cache_at(tmp_path), "cd" * 32)
    with pytest.raises(Rejection):
        cpu.compile_signature(cpu.build(found["pairwise"], OPTIONS, lookup), (ARRAY,), store)
    found["pairwise"].compiled = None
    fresh = cpu.build(found["pairwise"], OPTIONS, lookup)
    with pytest.raises(Rejection, match=r"\[16\]"):
        cpu.compile_signature(fresh, (ARRAY,), store)
    assert fresh.entry.signatures == []  # refused from the store, never compiled


def test_a_derived_variant_takes_the_base_guards_and_renames_globals(kernels):
    found, lookup = kernels
    base = cpu.build(found["bump"], OPTIONS, lookup)
    cpu.compile_signature(base, (ARRAY,))
    renames = {"range": ("_autoaccel_prange", numba.prange)}
    derived, from_cache = cpu.compile_derived(base, JitOptions(parallel=True), (ARRAY,), renames)
    assert from_cache is False and derived.guards is base.guards
    assert "_autoaccel_prange" in derived.entry.py_func.__code__.co_names
    a = np.zeros(4)
    derived.entry(a)
    np.testing.assert_array_equal(a, np.ones(4))


def test_compiling_marks_only_this_thread_and_only_inside():
    assert not cpu.is_compiling()
    with cpu.compiling():
        assert cpu.is_compiling()
    assert not cpu.is_compiling()


def test_an_error_is_summarized_on_its_first_informative_line():
    error = Exception("\x1b[1mFailed in nopython mode\n\nUntyped global name 'x'\nDuring: typing")
    assert cpu.summarize_error(error) == "Untyped global name 'x'"
    assert cpu.summarize_error(Exception("y" * 300)).endswith("...")
    assert cpu.summarize_error(ValueError()) == "ValueError"


def test_only_small_helpers_that_index_are_inlined_at_the_ir_level():
    def at(a, i):
        return a[i - 1]

    def scalar(x):
        return x * x + 1.0

    big = (
        "def big(a, i):\n" + "".join(f"    i = i + {k}\n" for k in range(40)) + "    return a[i]\n"
    )
    namespace: dict = {}
    exec(big, namespace)
    assert cpu._inlined(at.__code__)
    assert not cpu._inlined(scalar.__code__)  # LLVM inlines it; IR inlining costs compile time
    assert not cpu._inlined(namespace["big"].__code__)
