"""A disarmed function's objects get the code as written: no prologue left to pay."""

from __future__ import annotations

from autoaccel.runtime.registry import lookup

OBJECTS = """
import functools

class Box:  # __getattr__: the boundary refuses its objects before compiling anything
    def __init__(self, value):
        self.value = value

    def __getattr__(self, name):
        raise AttributeError(name)

def unbox(box):
    return box.value

class Shelf:
    def take(self, box):
        return box.value + 1

    @staticmethod
    def peek(box):
        return box.value

    @property
    def size(self):
        return len(self.__dict__)

def logged(function):
    @functools.wraps(function)
    def wrapper(*args):
        return function(*args)
    return wrapper

@logged
def wrapped(box):
    return box.value * 2

def scaled(box, *, factor=2):
    return box.value * factor

def with_loop(box, n):
    total = 0
    for i in range(n):
        total += box.value
    return total
"""


def _load(accelerated):
    return accelerated(OBJECTS, min_calls=2, min_gain=1.2)


def test_a_rejected_function_runs_its_code_as_written(accelerated):
    mod = _load(accelerated)
    box = mod.Box(4)
    running = mod.unbox.__code__
    assert [mod.unbox(box) for _ in range(3)] == [4, 4, 4]
    trampoline = lookup(mod.unbox)
    assert not trampoline.armed
    assert running is not trampoline.code, "ran with a prologue until disarmed"
    assert mod.unbox.__code__ is trampoline.code
    assert lookup(mod.unbox) is trampoline, "still found from its function"
    assert mod.unbox(mod.Box(5)) == 5


def test_methods_static_methods_and_wrapped_functions_are_found(accelerated):
    mod = _load(accelerated)
    shelf, box = mod.Shelf(), mod.Box(1)
    for _ in range(3):
        assert (shelf.take(box), mod.Shelf.peek(box), mod.wrapped(box)) == (2, 1, 2)
    for function in (mod.Shelf.take, mod.Shelf.peek, mod.wrapped.__wrapped__):
        trampoline = lookup(function)
        assert not trampoline.armed
        assert function.__code__ is trampoline.code, function.__qualname__


def test_a_function_with_keyword_only_arguments_keeps_its_parameters(accelerated):
    # Its trampoline holds the bound form (keyword-only made positional): not the code to
    # give the function, which CPython must go on binding by keyword.
    mod = _load(accelerated)
    box = mod.Box(3)
    assert [mod.scaled(box, factor=3) for _ in range(3)] == [9, 9, 9]
    assert not lookup(mod.scaled).armed
    assert mod.scaled(box) == 6 and mod.scaled(box, factor=4) == 12
    try:
        mod.scaled(box, 5)
    except TypeError as error:
        assert "positional" in str(error)
    else:
        raise AssertionError("a keyword-only argument was taken positionally")


def test_a_function_with_an_instrumented_loop_keeps_its_code(accelerated):
    # Its running code holds the loop's instrumentation, which the code as written lacks.
    mod = _load(accelerated)
    running = mod.with_loop.__code__
    assert [mod.with_loop(mod.Box(2), 3) for _ in range(3)] == [6, 6, 6]
    assert not lookup(mod.with_loop).armed
    assert mod.with_loop.__code__ is running


def test_tracebacks_keep_their_lines(accelerated):
    mod = _load(accelerated)
    for _ in range(3):
        mod.unbox(mod.Box(0))
    try:
        mod.unbox(None)
    except AttributeError as exc:
        frame = exc.__traceback__.tb_next
        assert frame.tb_frame.f_code is lookup(mod.unbox).code
        assert frame.tb_lineno == mod.unbox.__code__.co_firstlineno + 1
    else:
        raise AssertionError("no AttributeError")
