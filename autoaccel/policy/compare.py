"""Exact comparison of results, argument copies, and result-type adapters for validation.

Why this design: a variant is promoted only after its answers were *identical* to the
original's on real calls: same type (``np.float64`` is not ``float``), same dtype and shape,
same values with NaN equal to NaN and ``-0.0`` distinct from ``0.0``, and the same writes to
its array arguments. Numba returns Python scalars where CPython code often returns NumPy
scalars (``a[0]`` of an array), so validation may learn an *adapter* that converts the
variant's result back to the exact type the original returned.
"""

from __future__ import annotations

import array
import copy
import math
from collections.abc import Callable
from typing import Any

from autoaccel.boundary import objects
from autoaccel.boundary.convert import restore, save
from autoaccel.boundary.kinds import Native, Unconvertible
from autoaccel.lazy_numpy import loaded, np

Adapter = Callable[[Any], Any]
_PY_SCALARS = (bool, int, float, complex)
_MUTABLE = frozenset((list, bytearray, array.array, memoryview))


def copy_value(
    value: Any, memo: dict[int, Any] | None = None, wanted: frozenset[str] | None = None
) -> Any:
    """A copy deep enough that writes to it cannot reach ``value``.

    Arrays, lists, ``bytearray``, ``array.array`` and ``memoryview`` are copied, tuples
    rebuilt around copies; immutable values are shared. Within one ``memo`` (for all the
    arguments of a call, :func:`copy_arguments`) an object reached twice is copied once, so
    the copies alias as the originals do. A converted value
    (:class:`~autoaccel.boundary.kinds.Native`) gives what restores the caller's memory it
    views (:func:`autoaccel.boundary.convert.save`). ``wanted``: the only attributes an
    object ``value`` is copied with (those compiled code reaches: ``fields``), or ``None``
    for all (:func:`_instance_items`).
    """
    kind = type(value)
    if isinstance(value, Native):
        return save(value)
    if isinstance(value, tuple):
        return tuple([copy_value(item, memo) for item in value])
    instance = objects.is_object_class(kind)
    if kind is not np.ndarray and kind not in _MUTABLE and not instance:
        return value
    memo = {} if memo is None else memo
    copy = memo.get(id(value))
    if copy is None:
        if instance:
            return _copy_instance(value, memo, wanted)
        copy = memo[id(value)] = _copy_mutable(value, memo)
    return copy


def _copy_instance(value: Any, memo: dict[int, Any], wanted: frozenset[str] | None) -> Any:
    """A new instance of ``value``'s class whose fields are copies (what compiled code can
    write: :mod:`autoaccel.boundary.objects`); other attributes are shared."""
    copy = memo[id(value)] = object.__new__(type(value))
    for name, item in zip(*_instance_items(value, wanted), strict=True):
        object.__setattr__(copy, name, copy_value(item, memo) if _field_like(item) else item)
    return copy


def _instance_items(value: Any, wanted: frozenset[str] | None) -> tuple[tuple, tuple]:
    """``(names, values)`` of an object's attributes: those of ``wanted`` read by name, as
    the conversion reads them (:func:`autoaccel.boundary.objects.wanted_attributes`: on
    CPython 3.11-3.12 reading ``__dict__`` slows the object's attributes for good), or all
    of them where ``wanted`` is ``None`` (code that passes the object on can reach any)."""
    if wanted is not None:
        try:
            return objects.wanted_attributes(value, wanted)[:2]
        except Unconvertible:
            pass  # a replaced slot: the conversion refuses the call; compare what is there
    return objects.attributes(value, checked=False)


def _field_like(item: Any) -> bool:
    kind = type(item)
    return kind is np.ndarray or kind in _MUTABLE or kind is tuple


def copy_arguments(args: tuple, fields: tuple = ()) -> tuple:
    """Copies of a call's arguments that alias one another as the arguments do.

    ``fields``: per position, the attributes an object there is copied with (a frozenset),
    or ``None`` (all; also for positions beyond it), as for
    :func:`autoaccel.boundary.convert.convert`."""
    memo: dict[int, Any] = {}
    return tuple([copy_value(value, memo, field_at(fields, i)) for i, value in enumerate(args)])


def field_at(fields: tuple, position: int) -> frozenset[str] | None:
    """The attributes an object at ``position`` converts with, per ``fields`` (``None``:
    all)."""
    return fields[position] if position < len(fields) else None


def _copy_mutable(value: Any, memo: dict[int, Any]) -> Any:
    if type(value) is np.ndarray:
        return _copy_array(value)
    if type(value) is list:
        if _SCALAR_CLASSES.issuperset(map(type, value)):  # at C speed: a long list of numbers
            return value.copy()
        return [copy_value(item, memo) for item in value]
    if type(value) is memoryview:  # a view of a fresh buffer of the same format
        data = value.tobytes()
        view: Any = memoryview(data if value.readonly else bytearray(data))
        return view.cast(value.format)
    return copy.copy(value)  # bytearray, array.array


def restore_value(target: Any, saved: Any) -> None:
    """Write ``saved`` (from :func:`copy_value`) back into the arrays of ``target``."""
    if isinstance(target, np.ndarray):
        if target.flags.writeable:
            np.copyto(target, saved)
    elif isinstance(target, Native):
        restore(target, saved)
    elif isinstance(target, tuple):
        for item, item_saved in zip(target, saved, strict=True):
            restore_value(item, item_saved)


def _copy_array(array: np.ndarray) -> np.ndarray:
    """A copy with the same contiguity, so it matches the same compiled signature."""
    if array.flags.c_contiguous or array.flags.f_contiguous or array.ndim == 0:
        copy = array.copy(order="K")
    else:
        # A strided view into a buffer twice as wide keeps the copy non-contiguous ('A').
        buffer = np.empty((*array.shape[:-1], array.shape[-1] * 2), dtype=array.dtype)
        copy = buffer[..., ::2]
        copy[...] = array
    copy.flags.writeable = array.flags.writeable
    return copy


def _same_float(a: Any, b: Any) -> bool:
    if isinstance(a, (complex, np.complexfloating)):
        return _same_float(a.real, b.real) and _same_float(a.imag, b.imag)
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return bool(a == b) and math.copysign(1.0, a) == math.copysign(1.0, b)


def _same_float_array(x: np.ndarray, y: np.ndarray) -> bool:
    return bool(np.array_equal(x, y, equal_nan=True)) and bool(
        np.array_equal(np.signbit(x), np.signbit(y))
    )


def _same_array(a: np.ndarray, b: np.ndarray) -> bool:
    if a.dtype != b.dtype or a.shape != b.shape:
        return False
    if a.dtype.kind == "c":
        return _same_float_array(a.real, b.real) and _same_float_array(a.imag, b.imag)
    if a.dtype.kind == "f":
        return _same_float_array(a, b)
    return bool(np.array_equal(a, b))


def same(a: Any, b: Any, depth: int = 0, wanted: frozenset[str] | None = None) -> bool:
    """Whether ``a`` and ``b`` are indistinguishable to the user's program.

    Args:
        a, b: results or arguments: scalars, NumPy arrays of any shape, tuples or lists of
            those, ``str``, ``bytes``, ``bytearray``, ``array.array``, ``memoryview``, and
            objects of plain classes (their attributes: fields by value, others by
            identity, as :func:`copy_value` copies them). Lists compare element by
            element, classes included (``1`` is not ``1.0``).
        depth: how deep in containers this comparison is; past 50 the answer is ``False``
            (a cycle through lists and objects), which at worst rejects a variant.
        wanted: the only attributes compared where ``a`` is an object (those compiled code
            reaches, as :func:`copy_value` copies them), or ``None`` for all.
    """
    if type(a) is not type(b) or depth > _MAX_DEPTH:
        return False
    if isinstance(a, np.ndarray):
        return _same_array(a, b)
    if isinstance(a, (array.array, memoryview)):  # NaN and -0.0 as in arrays, not as ==
        return _same_array(np.asarray(a), np.asarray(b))
    if isinstance(a, (tuple, list)):
        if len(a) != len(b):
            return False
        numbers = _same_numbers(a, b)
        if numbers is not None:
            return numbers
        return all(same(x, y, depth + 1) for x, y in zip(a, b, strict=True))
    if a is not b and objects.is_object_class(type(a)):
        return _same_instance(a, b, depth, wanted)
    if isinstance(a, (float, complex, np.floating, np.complexfloating)):
        return _same_float(a, b)
    try:
        return bool(a == b)
    except (TypeError, ValueError):
        return a is b


_MAX_DEPTH = 50
_SCALAR_CLASSES = frozenset((float, int, bool, complex, str, bytes, type(None)))


def _same_numbers(a: Any, b: Any) -> bool | None:
    """:func:`same` for two equal-length sequences of Python numbers, at C speed, or
    ``None`` if they hold anything else. A loop's window trial compares whole lists of
    millions of floats; element by element in Python that took seconds."""
    classes = [*map(type, a)]
    if classes != [*map(type, b)]:
        return False if _SCALAR_CLASSES.issuperset(classes) else None
    kinds = {*classes}
    if kinds <= {int, bool}:
        return bool(a == b)
    if kinds == {float}:
        return _same_float_array(np.array(a, np.float64), np.array(b, np.float64))
    return None


def _same_instance(a: Any, b: Any, depth: int, wanted: frozenset[str] | None) -> bool:
    names, first = _instance_items(a, wanted)
    other_names, second = _instance_items(b, wanted)
    if names != other_names:
        return False
    for x, y in zip(first, second, strict=True):
        if not (same(x, y, depth + 1) if _field_like(x) or type(x) in _PY_SCALARS else x is y):
            return False
    return True


def close(
    original: Any, variant: Any, rtol: float, atol: float, wanted: frozenset[str] | None = None
) -> bool:
    """:func:`same`, except that floating-point values may differ within a tolerance.

    Used to validate ``parallel`` and ``cuda`` variants (docs/targets.md). Types, dtypes,
    shapes, integers and booleans must still be identical; a float (or each part of a
    complex) passes where ``|variant - original| <= atol + rtol * |original|``, NaN only
    against NaN, and an infinity only against the same infinity.

    Args:
        original: the original's result or argument (the reference).
        variant: the variant's.
        rtol: relative tolerance (a ratio, >= 0).
        atol: absolute tolerance (in the values' units, >= 0).
        wanted: as for :func:`same`.
    """
    if type(original) is not type(variant):
        return False
    if isinstance(original, (tuple, list)):
        return len(original) == len(variant) and all(
            close(o, v, rtol, atol) for o, v in zip(original, variant, strict=True)
        )
    if isinstance(original, np.ndarray):
        if original.dtype != variant.dtype or original.shape != variant.shape:
            return False
        if original.dtype.kind not in "fc":
            return _same_array(original, variant)
    elif not isinstance(original, (float, complex, np.floating, np.complexfloating)):
        return same(original, variant, wanted=wanted)
    return bool(np.all(np.isclose(variant, original, rtol=rtol, atol=atol, equal_nan=True)))


class TupleAdapter:
    """Converts a tuple item by item (``None``: keep the item)."""

    __slots__ = ("adapters",)

    def __init__(self, adapters: tuple[Adapter | None, ...]) -> None:
        self.adapters = adapters

    def __call__(self, result: tuple) -> tuple:
        return tuple(x if f is None else f(x) for f, x in zip(self.adapters, result, strict=False))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TupleAdapter) and other.adapters == self.adapters

    def __hash__(self) -> int:
        return hash(self.adapters)


def ambiguous_result(
    result: Any, args: tuple, constants: tuple, positions: tuple, *, adapted: bool = True
) -> bool:
    """Whether CPython could return this value with another type.

    docs/divergences.md, rows 11 and 12.

    True when ``result``, or an item of a tuple ``result`` (at any depth), equals a constant
    or argument that the function can return unchanged and whose type differs from its
    own: which path CPython took decides the type, so the original has to answer
    (examples/mixed's ``simulate_policy`` returns ``short``, the float ``0.0`` until a
    NumPy value is added to it). A value of a narrower kind than the constant (an ``int``
    equal to the float ``0.0``; kinds: bool < int < float < complex) cannot be it: Numba
    gives a variable that may hold the constant at least the constant's kind, and the
    adapters never narrow (:func:`learn_adapter`).

    Args:
        result: the compiled call's result.
        args: the call's arguments.
        constants: the values the function may return as they are (``Guards``'
            ``ambiguous_constants``, :mod:`autoaccel.backends.returned`).
        positions: the positions in ``args`` of arguments it may return as they are.
        adapted: whether ``result`` went through the adapter that gives each item the type
            the original returns (:func:`learn_adapter`). Before a trial has learned it,
            an equal value of any type counts.
    """
    kind = type(result)
    if kind is tuple:
        return any(
            ambiguous_result(item, args, constants, positions, adapted=adapted) for item in result
        )
    rank = number_kind(result)
    if rank is None:  # constants are numbers; an array's == gives no bool
        return False
    for value in [*constants, *(args[i] for i in positions)]:
        other = number_kind(value)
        differs = type(value) is not kind or not adapted
        if differs and other is not None and other <= rank and value == result:
            return True
    return False


def hands_back(result: Any, args: tuple, guards: Any) -> bool:
    """Whether a promoted call must give the call to the original because CPython could
    return ``result`` with another type (:func:`ambiguous_result` with the variant's
    ``guards``, :class:`autoaccel.backends.cpu.Guards`; none needed for a result of the
    ``unambiguous`` type)."""
    constants, positions = guards.ambiguous_constants, guards.ambiguous_arguments
    if not (constants or positions) or result.__class__ is guards.unambiguous:
        return False
    return ambiguous_result(result, args, constants, positions)


def number_kind(value: Any) -> int | None:
    """The kind of a Python or NumPy number, ordered as Numba widens them: 0 bool, 1 integer,
    2 float, 3 complex; ``None`` for anything else (only numbers may be ambiguous)."""
    for rank, kind in enumerate((bool, int, float, complex)):  # bool before its base int
        if isinstance(value, kind):
            return rank
    if loaded():
        kinds = (np.bool_, np.integer, np.floating, np.complexfloating)
        for rank, kind in enumerate(kinds):
            if isinstance(value, kind):
                return rank
    return None


def learn_adapter(original: Any, variant: Any) -> Adapter | None:
    """The conversion that turns ``variant``'s result type into ``original``'s, if needed.

    Returns:
        ``None`` when the types already agree, else a callable (a NumPy scalar type, or a
        per-item converter for tuples).

    Raises:
        ValueError: no conversion makes the types agree.
    """
    if type(original) is type(variant):
        if isinstance(original, tuple) and len(original) == len(variant):
            inner = tuple(learn_adapter(o, v) for o, v in zip(original, variant, strict=False))
            return None if all(f is None for f in inner) else TupleAdapter(inner)
        return None
    if isinstance(original, np.generic) and isinstance(variant, _PY_SCALARS):
        kind = number_kind(original)
        if kind is None or kind >= (number_kind(variant) or 0):  # never narrowing: float to int
            return type(original)
    raise ValueError(
        f"returns {type(variant).__name__} where the original returns {type(original).__name__}"
    )


def plain_adapter(adapter: Adapter | None) -> Any:
    """``adapter`` as plain data for the cache: ``None``, the NumPy scalar type, or a tuple.

    A :class:`TupleAdapter` becomes the tuple of its items' plain forms; a NumPy scalar
    type stays itself (the cache stores it by name, :mod:`autoaccel.cache.plain`).
    """
    if isinstance(adapter, TupleAdapter):
        return tuple(map(plain_adapter, adapter.adapters))
    return adapter


def adapter_from_plain(data: Any) -> Adapter | None:
    """The adapter :func:`plain_adapter` gave ``data`` for.

    Raises:
        ValueError: ``data`` is not ``None``, a NumPy scalar type or a tuple of those.
    """
    if isinstance(data, tuple):
        return TupleAdapter(tuple(map(adapter_from_plain, data)))
    if data is None or (isinstance(data, type) and issubclass(data, np.generic)):
        return data
    raise ValueError(f"not a result adapter: {data!r:.60}")
