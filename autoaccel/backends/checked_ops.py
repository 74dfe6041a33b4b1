"""Checked operations: Numba implementations of the operations whose results can differ.

Why this design: several rows of docs/divergences.md are value-dependent, so comparing the
first calls cannot catch them: int64 wrap-around (docs/divergences.md, row 1), int ** negative
int (docs/divergences.md, row 3), float to int of NaN, inf or huge values (docs/divergences.md,
row 4), math domain and range errors (docs/divergences.md, row 5), true division of ints above
2**53 (docs/divergences.md, row 6), ``~`` on bool (docs/divergences.md, row 7), int array **
negative (docs/divergences.md, row 19), float ``**`` that CPython refuses (overflow, a
negative base with a fractional exponent, zero to a negative power), and float ``**`` int
or ``math.pow`` with an int exponent, which Numba computes by repeated multiplication
(docs/divergences.md, row 37).
:mod:`autoaccel.backends.variant_code` rewrites the variant's bytecode so that each such operation
calls one of the functions here instead. Their Numba implementations (``numba.extending.
overload``) are chosen by type at compile time: for float64 operands they are the plain
operation (LLVM inlines them, so hot float loops pay nothing), for int64 they use LLVM's
overflow intrinsics, and where the result leaves the range in which Numba and CPython agree
they raise :class:`Deoptimize`. The trampoline then runs the original on the same call, so
the user gets CPython's exact answer or exception.

Type combinations whose results differ for every value, such as NumPy 2's scalar promotion
(NEP 50, docs/divergences.md, row 8: ``float32 + Python float`` stays float32 in NumPy,
widens in Numba), are refused at compile time: the reason is kept in :data:`refusals` for
the report.

The math rule is CPython's own (``Modules/mathmodule.c``, ``math_1``/``math_2``): a libm
result that is NaN for non-NaN arguments is a domain error, and an infinite result for
finite arguments is a range or domain error. Numba returns those NaN and inf values.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from typing import Any

import numba
import numpy as np
from numba import types
from numba.core.errors import TypingError
from numba.extending import intrinsic, overload, register_jitable

from autoaccel.errors import Deoptimize

# Reasons for compile-time refusals made by the overloads below, newest last; read and
# cleared by the compiler around each compile (which holds the process-wide compile lock).
refusals: list[str] = []

_INT64_MIN = -(2**63)
_FLOAT_EXACT_INT = 2**53  # ints up to this convert to float64 exactly
_DEFAULT_SCALARS = (types.int64, types.float64, types.complex128, types.boolean)


def _compiled_only() -> RuntimeError:
    """The error of a stand-in called from Python: it exists only for compiled code."""
    return RuntimeError("autoaccel stand-in for an operation, callable from compiled code only")


def _refuse(reason: str) -> None:
    refusals.append(reason)
    raise TypingError(reason)


def _scalar(t: Any) -> Any:
    """The unliteral type if ``t`` is a number or bool, else ``None``."""
    t = types.unliteral(t)
    return t if isinstance(t, (types.Number, types.Boolean)) else None


def _check_promotion(symbol: str, a: Any, b: Any) -> None:
    """Refuse scalar operand types for which NumPy 2 (NEP 50) and Numba pick other types."""
    if a in _DEFAULT_SCALARS and b in _DEFAULT_SCALARS:
        return
    if a == b and isinstance(a, types.Float):
        return  # float32 op float32 stays float32 in both
    _refuse(
        f"computes {a} {symbol} {b}: NumPy 2 keeps the smaller type (NEP 50), Numba widens it [8]"
    )


def _overflow_intrinsic(method: str) -> Any:
    """An intrinsic ``(int64, int64) -> (int64 result, bool overflowed)`` via LLVM."""

    def typer(typingctx: Any, a: Any, b: Any) -> Any:
        signature = types.Tuple((types.int64, types.boolean))(types.int64, types.int64)

        def codegen(context: Any, builder: Any, sig: Any, args: Any) -> Any:
            pair = getattr(builder, method)(args[0], args[1])
            values = [builder.extract_value(pair, 0), builder.extract_value(pair, 1)]
            return context.make_tuple(builder, sig.return_type, values)

        return signature, codegen

    typer.__name__ = f"_{method}"
    return intrinsic(typer)


_sadd = _overflow_intrinsic("sadd_with_overflow")
_ssub = _overflow_intrinsic("ssub_with_overflow")
_smul = _overflow_intrinsic("smul_with_overflow")


def _overflow_checked(overflowing, what: str):
    """``overflowing(a, b) -> (value, overflowed)`` as an operation that deoptimizes."""

    def impl(a, b):
        value, overflowed = overflowing(a, b)
        if overflowed:
            raise Deoptimize(what)
        return value

    return impl


_int_add = _overflow_checked(_sadd, "int64 add overflows")
_int_sub = _overflow_checked(_ssub, "int64 subtract overflows")
_int_mul = _overflow_checked(_smul, "int64 multiply overflows")
_mul_int = numba.njit(inline="always")(_int_mul)  # for _int_pow, which calls it


def _int_truediv(a, b):
    if abs(a) > _FLOAT_EXACT_INT or abs(b) > _FLOAT_EXACT_INT:
        raise Deoptimize("true division of ints above 2**53")
    return a / b


def _int_floordiv(a, b):
    if b == -1 and a == _INT64_MIN:
        raise Deoptimize("int64 floor division overflows")
    return a // b


def _int_pow(a, b):
    if b < 0:
        raise Deoptimize("int ** negative int is a float in CPython")
    result = 1
    base = a
    exponent = b
    while exponent:
        if exponent & 1:
            result = _mul_int(result, base)
        exponent >>= 1
        if exponent:
            base = _mul_int(base, base)
    return result


def _int_lshift(a, b):
    if b < 0 or (b > 62 and a != 0):
        raise Deoptimize("shift count out of int64 range")
    value = a << b
    if (value >> b) != a:
        raise Deoptimize("int64 left shift overflows")
    return value


@register_jitable  # callable from _float_int_pow's compiled body as well
def _float_pow(a, b):
    value = a**b
    if a == 0.0 and b < 0.0:
        raise Deoptimize("zero to a negative power")
    if a < 0.0 and math.isfinite(b) and b != math.floor(b):
        raise Deoptimize("negative base, fractional exponent: CPython returns a complex")
    if math.isinf(value) and math.isfinite(a) and math.isfinite(b):
        raise Deoptimize("float power overflows")
    return value


def _float_int_pow(a, b):
    # CPython converts the int exponent to float and calls libm's pow(); Numba's float ** int
    # multiplies by squaring, whose last bits differ (docs/divergences.md, row 37).
    return _float_pow(a, float(b))


_INT_IMPLS: dict[str, Callable[..., Any]] = {
    "add": _int_add,
    "sub": _int_sub,
    "mul": _int_mul,
    "truediv": _int_truediv,
    "floordiv": _int_floordiv,
    "pow": _int_pow,
    "lshift": _int_lshift,
}

_SYMBOLS = {
    "add": "+",
    "sub": "-",
    "mul": "*",
    "truediv": "/",
    "floordiv": "//",
    "pow": "**",
    "lshift": "<<",
}


def _plain(operation: str, inplace: bool) -> Callable[..., Any]:
    """The unchecked operation; in-place forms update arrays and lists where CPython does."""
    function = getattr(operator, ("i" if inplace else "") + operation)

    def impl(a, b):
        return function(a, b)

    return impl


def _array_pow(inplace: bool, a: Any, b: Any) -> Callable[..., Any] | None:
    """int array ** int: CPython raises for negative exponents, Numba gives zeros.

    docs/divergences.md, row 19.
    """
    base = a.dtype if isinstance(a, types.Array) else _scalar(a)
    exponent = b.dtype if isinstance(b, types.Array) else _scalar(b)
    if not (isinstance(base, types.Integer) and isinstance(exponent, types.Integer)):
        return None
    function = operator.ipow if inplace else operator.pow

    def scalar_exponent(a, b):
        if b < 0:
            raise Deoptimize("integers to negative integer powers")
        return function(a, b)

    def array_exponent(a, b):
        if (b < 0).any():
            raise Deoptimize("integers to negative integer powers")
        return function(a, b)

    return array_exponent if isinstance(b, types.Array) else scalar_exponent


def _binary_impl(operation: str, inplace: bool, a: Any, b: Any) -> Callable[..., Any]:
    if isinstance(a, types.Array) or isinstance(b, types.Array):
        checked = _array_pow(inplace, a, b) if operation == "pow" else None
        return checked or _plain(operation, inplace)
    left, right = _scalar(a), _scalar(b)
    if left is None or right is None:
        return _plain(operation, inplace)  # tuples, lists, strings: Numba's own semantics
    _check_promotion(_SYMBOLS[operation], left, right)
    if isinstance(left, types.Complex) or isinstance(right, types.Complex):
        return _plain(operation, inplace)
    if isinstance(left, types.Float) or isinstance(right, types.Float):
        if operation != "pow":
            return _plain(operation, inplace)
        return _float_int_pow if isinstance(right, types.Integer) else _float_pow
    return _INT_IMPLS[operation]


def _make_binary(operation: str, inplace: bool) -> Callable[..., Any]:
    def stub(a, b):  # only ever called from compiled code
        raise _compiled_only()

    stub.__name__ = stub.__qualname__ = ("i" if inplace else "") + operation

    @overload(stub)
    def typer(a, b):
        return _binary_impl(operation, inplace, a, b)

    return stub


def _negative(a):
    if a == _INT64_MIN:
        raise Deoptimize("int64 negation overflows")
    return -a


def _compare_impl(operation: str, a, b):
    function = getattr(operator, operation)
    left, right = _scalar(a), _scalar(b)
    if left is None or right is None:
        return lambda a, b: function(a, b)  # arrays compare elementwise alike
    if isinstance(left, types.Float) and isinstance(right, types.Float) and left != right:
        _refuse(f"compares {left} with {right}: NumPy 2 rounds to the smaller type [8]")
    if isinstance(left, types.Integer) and isinstance(right, types.Float):
        return _exact_compare(function, 0)
    if isinstance(left, types.Float) and isinstance(right, types.Integer):
        return _exact_compare(function, 1)
    return lambda a, b: function(a, b)


def _exact_compare(function, integer_side: int):
    """CPython compares int with float exactly; Numba rounds the int to float.

    docs/divergences.md, row 6.
    """

    def impl(a, b):
        integer = a if integer_side == 0 else b
        if abs(integer) > _FLOAT_EXACT_INT:
            raise Deoptimize("int above 2**53 compared with a float")
        return function(a, b)

    return impl


def _make_compare(operation: str):
    def stub(a, b):
        raise _compiled_only()

    stub.__name__ = stub.__qualname__ = operation

    @overload(stub)
    def typer(a, b):
        return _compare_impl(operation, a, b)

    return stub


COMPARE = {
    operation: _make_compare(operation) for operation in ("lt", "le", "eq", "ne", "gt", "ge")
}


def _float_max(a):
    value = a.max()
    if value == 0.0:
        raise Deoptimize("a zero maximum: which signed zero is an implementation detail")
    return value


def _float_min(a):
    value = a.min()
    if value == 0.0:
        raise Deoptimize("a zero minimum: which signed zero is an implementation detail")
    return value


def array_max(a):
    """Stand-in for ``a.max()`` and ``np.max(a)`` (compiled code only)."""
    raise _compiled_only()


def array_min(a):
    """Stand-in for ``a.min()`` and ``np.min(a)`` (compiled code only)."""
    raise _compiled_only()


@overload(array_max)
def _max_typer(a):
    if isinstance(a, types.Array) and isinstance(a.dtype, types.Float):
        # NumPy and Numba may return different signed zeros (docs/divergences.md, row 20).
        return _float_max
    return lambda a: np.max(a)


@overload(array_min)
def _min_typer(a):
    if isinstance(a, types.Array) and isinstance(a.dtype, types.Float):
        return _float_min
    return lambda a: np.min(a)


def negative(a):
    """Stand-in for unary ``-`` (compiled code only)."""
    raise _compiled_only()


@overload(negative)
def _negative_typer(a):
    if types.unliteral(a) == types.int64:
        return _negative
    return lambda a: -a


def invert(a):
    """Stand-in for unary ``~`` (compiled code only)."""
    raise _compiled_only()


@overload(invert)
def _invert_typer(a):
    if isinstance(types.unliteral(a), types.Boolean):
        return lambda a: ~int(a)  # CPython: ~True == -2, an int (docs/divergences.md, row 7)
    return lambda a: ~a


def _float_to_int(function: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """``function`` (int, round, math.floor...) refusing what int64 cannot hold.

    docs/divergences.md, row 4.
    """

    def checked(x):
        if not (-9.223372036854775e18 <= x <= 9.223372036854775e18):  # False for NaN too
            raise Deoptimize("float to int of NaN, inf or a value beyond int64")
        return function(x)

    def plain(x):
        return function(x)

    def typer(x):
        return checked if isinstance(types.unliteral(x), types.Float) else plain

    return typer


def _math_check(function: Callable[..., Any]) -> Callable[..., Any]:
    """``function`` raising :class:`Deoptimize` where CPython's math module raises.

    Its arguments are converted to float first, as CPython's ``math_1``/``math_2`` do: Numba
    computes ``math.pow(x, 5)`` with an int exponent by repeated multiplication, whose last
    bits differ from libm's ``pow`` (docs/divergences.md, row 37).
    """

    def unary(x, y=None):
        value = function(float(x))
        if (math.isnan(value) and not math.isnan(x)) or (math.isinf(value) and math.isfinite(x)):
            raise Deoptimize("math domain or range error")
        return value

    def binary(x, y=None):
        value = function(float(x), float(y))
        if (math.isnan(value) and not (math.isnan(x) or math.isnan(y))) or (
            math.isinf(value) and math.isfinite(x) and math.isfinite(y)
        ):
            raise Deoptimize("math domain or range error")
        return value

    def typer(x, y=None):
        if y is None or isinstance(y, (types.NoneType, types.Omitted)):
            return unary
        return binary

    return typer


# Math functions that return floats and report errors the math_1/math_2 way.
# fmt: off
_MATH_FLOAT = [
    "sqrt", "exp", "expm1", "log", "log10", "log2", "log1p", "sin", "cos", "tan", "asin",
    "acos", "atan", "sinh", "cosh", "tanh", "asinh", "acosh", "atanh", "erf", "erfc", "gamma",
    "lgamma", "pow", "fmod", "atan2", "hypot",
]
# fmt: on
_MATH_INT = ("floor", "ceil", "trunc")


def _make_call(name: str, typer: Callable[..., Any], arity: int) -> Callable[..., Any]:
    if arity == 1:

        def stub(x):
            raise _compiled_only()

    else:

        def stub(x, y=None):  # type: ignore[misc]
            raise _compiled_only()

    stub.__name__ = stub.__qualname__ = name
    overload(stub)(typer)
    return stub


def _build_binary() -> dict[tuple[str, bool], Callable[..., Any]]:
    return {
        (operation, inplace): _make_binary(operation, inplace)
        for operation in _INT_IMPLS
        for inplace in (False, True)
    }


def _build_calls() -> dict[int, Callable[..., Any]]:
    """``id(original callable) -> checked stand-in`` for the calls that are replaced."""
    calls: dict[int, Callable[..., Any]] = {
        id(int): _make_call("int", _float_to_int(int), 1),
        id(round): _make_call("round", _float_to_int(round), 1),
    }
    for function in (np.max, np.amax):
        calls[id(function)] = array_max
    for function in (np.min, np.amin):
        calls[id(function)] = array_min
    for name in _MATH_INT:
        function = getattr(math, name)
        calls[id(function)] = _make_call(f"math_{name}", _float_to_int(function), 1)
    for name in _MATH_FLOAT:
        function = getattr(math, name)
        calls[id(function)] = _make_call(f"math_{name}", _math_check(function), 2)
    return calls


BINARY = _build_binary()
CALLS = _build_calls()
METHODS = {"max": array_max, "min": array_min}  # zero-argument methods replaced
