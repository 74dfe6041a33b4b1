"""Converting a hot call's arguments, and giving the caller exactly the changes it would see.

Why this design: most refusals on real code were about the arguments (issue 18). Lists of
floats, ints or bools, lists of equal-length such lists, lists of tuples of those (the
pyperformance n-body layout), ``bytes``, ``bytearray``, ``array.array`` and ``memoryview``
are converted per call into :class:`~autoaccel.boundary.kinds.Native` values, compiled as
:class:`~autoaccel.boundary.numba_types.PySequence` types that allow only what CPython
answers the same way. ``str`` needs no conversion: Numba reads it in place.

- A list's numbers go into a fresh array (its *storage*); the unboxer fills it from the list
  at C speed and checks every element's class, so a list whose first element is a float
  holds only floats (a mismatch hands the call back). The storage has one element more
  along its last axis, the list's *written mark*: the unboxer clears it and compiled code
  sets it at every store into the list, so a list of lists knows which rows a call wrote.
  After a call that answered, every list the call may have written (``written`` positions,
  from the typed IR) whose mark is set gets its new values with ``lst[:] =
  storage.tolist()``: the same list object, the same length, elements of the list's own
  class. Writing back only what was stored into matters where a method writes a few
  elements of a matrix held in a list of lists (munkres' steps: the rows' ``tolist`` was
  most of their promoted calls). A call handed back never writes, so the list is as it was.
- A buffer is a view (:mod:`.buffers`): writes land in the caller's memory, so, like
  arrays, the buffers a call may write are copied first (:func:`save`) and put back
  (:func:`restore`) when the call is handed back.
- Aliasing is kept: within one call each object is converted once, so a list passed twice,
  or reached from two tuples, is one storage, and a write through one name is seen through
  the other, as in CPython. The rows of a list of lists are views of its storage.

Which kind a value converts to is decided from its class and first element, as Numba's own
type fingerprint does, so the exact key of a hot call (types and Numba's fingerprints)
already tells a list of floats from a list of ints; :func:`refusal` checks every element,
once, before the first compile.

The functions here serve any unit of compiled code (a function's call, a loop's live
variables); the C fast path converts the common case itself (:func:`native_plan`).
"""

from __future__ import annotations

import operator
import sys
import time
from collections.abc import Iterable
from typing import Any

from autoaccel.backends.screening import argument_refusal
from autoaccel.boundary import buffers, objects
from autoaccel.boundary.buffers import BUFFERS
from autoaccel.boundary.kinds import (
    Kind,
    Native,
    NativeObject,
    Unconvertible,
    exact_classes,
    kind_of,
    native_class,
)
from autoaccel.lazy_numpy import loaded, np

# A list converts to an array of the dtype of its elements' (exact) class, named as NumPy's
# dtype.str names it for this machine's byte order (known without importing NumPy).
_ORDER = "<" if sys.byteorder == "little" else ">"
_LIST_DTYPES = {float: _ORDER + "f8", int: _ORDER + "i8", bool: "|b1"}
_LIST_KINDS = {
    (element, ndim): Kind("list", dtype, ndim)
    for element, dtype in _LIST_DTYPES.items()
    for ndim in (1, 2)
}
_NUMBERS = {element: (dtype, _LIST_KINDS[element, 1]) for element, dtype in _LIST_DTYPES.items()}
# Typed tuple classes by the classes of their items, where those are exact.
_TUPLE_CLASSES: dict[tuple, Any] = {}
_CONVERTED = frozenset((list, *BUFFERS))
# Values passed as they are, told apart first (cheapest) on every call; NumPy's arrays join
# at the first walk that converts (_Walk.__init__): screening walks do without NumPy.
_AS_THEY_ARE = {float, int, bool, str, complex, type(None)}
_INT64 = (-(2**63), 2**63 - 1)
_STR_REFUSAL = (
    "takes a str argument: compiling Numba's string operations takes 1 to 10 s a function "
    "(the strings option allows it)"
)


def refusal(
    values: Iterable[Any],
    strings: bool = False,
    uses: tuple = (),
    methods: bool = False,
    fields: tuple = (),
) -> str | None:
    """Why these argument values cannot be passed to a variant, or ``None``.

    Every element of every list is checked (once per hot signature, before compiling); the
    rest is :func:`autoaccel.backends.screening.argument_refusal`'s, except that ``str`` is
    accepted if ``strings`` (the ``strings`` option: Numba compiles string operations
    slowly). ``uses``: per position, what the code does with an object's attributes
    (:func:`autoaccel.analysis.attributes.attribute_uses`; ``None`` or absent: not known),
    checked against the object's fields (:func:`.objects.uses_refusal`; ``methods``: the
    methods called are compiled with the code, their uses folded into ``uses``). ``fields``:
    where ``uses`` are not given, the attributes objects convert with (as for
    :func:`convert`). Numba is not imported.
    """
    walk = _Walk(checked=True, strings=strings, allocate=False)
    try:
        natives = walk.values(values, fields or tuple(u.fields() if u else None for u in uses))
    except Unconvertible as exc:
        return str(exc)
    for native, used in zip(natives, uses, strict=False):  # uses may be absent
        if used is not None and isinstance(native, NativeObject):
            reason = objects.uses_refusal(native, used, methods)
            if reason:
                return reason
    if walk.lists and walk.numpy_scalars:
        # A list element computed from a NumPy scalar is a NumPy scalar in CPython; the
        # write-back would store a Python number.
        return "takes NumPy scalars together with lists [11]"
    return None


def carries(values: Iterable[Any]) -> bool:
    """Whether any of ``values`` (or of the tuples among them) is converted by :func:`convert`."""
    for value in values:
        kind = type(value)
        if (
            kind in _CONVERTED
            or (kind is tuple and carries(value))
            or objects.is_object_class(kind)
        ):
            return True
    return False


def convert(values: Iterable[Any], fields: tuple = ()) -> tuple:
    """The values compiled code is called with: lists and buffers as
    :class:`~autoaccel.boundary.kinds.Native`, tuples holding them as ``NativeTuple``,
    objects as ``NativeObject``.

    Other values are passed as they are, tuples holding nothing converted too. ``fields``:
    per position, the only attributes an object there is converted with (a frozenset), or
    ``None`` (all; also for positions beyond it): what the code can reach
    (:meth:`autoaccel.analysis.attributes.AttributeUses.fields`). Every conversion for one
    compiled function must use the same ``fields``, as they decide the converted types.

    Raises:
        Unconvertible: a value of a kind the boundary converts cannot be converted this time
            (a ragged list of lists, a list reached both as a row and on its own...).
    """
    return _Walk(checked=False, typed=True).values(values, fields)


def objects_refusal(
    values: Iterable[Any], uses: Iterable[Any], methods: bool = False
) -> str | None:
    """Why code cannot use the objects among ``values`` as ``uses`` say it does (per value,
    its :class:`~autoaccel.analysis.attributes.AttributeUses` or ``None``; ``methods``: as
    for :func:`refusal`), or ``None``. Only the objects are converted, with the fields
    ``uses`` reach only (without Numba, lists unchecked): cheap enough for each look of a
    loop at its state."""
    walk = _Walk(checked=False, allocate=False)
    for value, used in zip(values, uses, strict=True):
        if used is None or not objects.is_object_class(type(value)):
            continue
        try:
            native = walk.value(value, used.fields())
        except Unconvertible as exc:
            return str(exc)
        reason = objects.uses_refusal(native, used, methods)
        if reason:
            return reason
    return None


def conversion_seconds(values: tuple, fields: tuple = ()) -> float:
    """What converting ``values`` costs a call on the Python side (seconds; best of three,
    without importing Numba), or 0.0 if nothing in them converts. A promoted call pays it
    on top of the dispatch, so a function whose calls take less never pays off. ``fields``:
    as for :func:`convert`."""
    if not carries(values):
        return 0.0
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        try:
            _Walk(checked=False).values(values, fields)
        except Unconvertible:
            return 0.0  # refused elsewhere, with the reason
        best = min(best, time.perf_counter() - start)
    return best


def native_plan() -> tuple[dict, dict]:
    """What the C fast path converts calls with (:func:`autoaccel.runtime.fastpath.route`):
    ``{float, int, bool: (class of lists of it, dtype)}``, the tuple classes by items' classes."""
    plan = {e: (native_class(k, True), np.dtype(d)) for e, (d, k) in _NUMBERS.items()}
    return plan, _TUPLE_CLASSES


def kind(value: Any) -> Any:
    """A hashable description of how ``value`` converts (its class if it does not).

    Raises:
        Unconvertible: as :func:`convert`.
    """
    return kind_of(_Walk(checked=False, allocate=False).value(value))


def write_back(natives: tuple, written: Iterable[int]) -> None:
    """Give the lists reachable from the ``written`` positions of ``natives`` their new values.

    Called after a call that answered. Each list keeps its identity and length and gets
    elements of its own class (``tolist`` of an int64 array gives ints); a list reached
    twice is written once.
    """
    done: set[int] = set()
    for position in written:
        _write_back(natives[position], done)


def _write_back(value: Any, done: set[int]) -> None:
    if isinstance(value, tuple):
        for item in value:
            _write_back(item, done)
    elif isinstance(value, Native) and id(value) not in done:
        done.add(id(value))
        kind = value.kind
        if isinstance(value, NativeObject):
            objects.write_back(value)
            for item in value.storage[1:]:
                _write_back(item, done)
        elif kind.tag == "records":
            for item in value.storage:
                _write_back(item, done)
        elif kind.tag == "list" and kind.ndim == 1:
            storage = value.storage
            if storage[-1]:  # its written mark
                value.source[:] = storage[:-1].tolist()
        elif kind.tag == "list":
            storage, rows = value.storage, value.source
            for row in storage[:, -1].nonzero()[0].tolist():
                rows[row][:] = storage[row, :-1].tolist()


def release(values: tuple) -> None:
    """Drop the views of the caller's buffers held by the converted ``values`` (a tuple as
    :func:`convert` gives it), once the compiled code that needed them is done.

    While a view exists, its ``bytearray`` or ``array.array`` cannot be resized
    (``BufferError``). The converted values of a loop's boundary are locals of autoaccel's
    frames, and such a frame can outlive its call: on pypng, one kept alive by something
    (not found) made the loop's own ``out.extend(...)`` raise in about one run of five. A list's
    storage is a private array and is left as it is.
    """
    for value in values:
        if isinstance(value, tuple):
            release(value)
        elif isinstance(value, Native):
            tag = value.kind.tag
            if tag == "buffer":
                value.storage = None
            elif tag == "records":
                release(tuple(value.storage))
            elif tag == "object":
                release(tuple(value.storage[1:]))


def save(value: Any) -> Any:
    """What :func:`restore` needs to undo writes to the caller's memory held in ``value``.

    ``value`` is one converted argument (what :func:`convert` made of it): buffers and
    arrays are copied, lists are not (their storage is private until written back).
    """
    if isinstance(value, tuple):
        return tuple([save(item) for item in value])
    if type(value) is np.ndarray:
        return value.copy()
    if isinstance(value, Native):
        if value.kind.tag == "buffer":
            return None if value.kind.readonly else value.storage.copy()
        if value.kind.tag == "records":
            return [save(item) for item in value.storage]
        if value.kind.tag == "object":  # its scalars are private until written back
            return [save(item) for item in value.storage[1:]]
    return None


def restore(value: Any, saved: Any) -> None:
    """Undo the writes to the caller's memory in ``value`` since ``saved = save(value)``."""
    if isinstance(value, tuple):
        for item, item_saved in zip(value, saved, strict=True):
            restore(item, item_saved)
    elif type(value) is np.ndarray:
        if value.flags.writeable:
            np.copyto(value, saved)
    elif isinstance(value, Native) and saved is not None:
        if value.kind.tag == "buffer":
            np.copyto(value.storage, saved)
        else:
            items = value.storage[1:] if value.kind.tag == "object" else value.storage
            for item, item_saved in zip(items, saved, strict=True):
                restore(item, item_saved)


class _Walk:
    """One conversion: the values of a call, each object converted once (aliasing)."""

    __slots__ = ("allocate", "checked", "lists", "memo", "numpy_scalars", "strings", "typed")

    def __init__(
        self, checked: bool, typed: bool = False, strings: bool = True, allocate: bool = True
    ) -> None:
        self.checked = checked  # screening: check every element here, and the other values
        self.typed = typed  # give each class its Numba type (imports Numba)
        self.strings = strings  # screening: str values are accepted
        # Make the arrays compiled code reads (lists' numbers read into fresh ones, views of
        # bytes); a walk that looks at kinds only does without, and without NumPy
        # (autoaccel/lazy_numpy.py).
        self.allocate = allocate
        self.memo: dict[int, Any] = {}
        self.lists = self.numpy_scalars = False  # seen, when checked
        if allocate and np.ndarray not in _AS_THEY_ARE:
            _AS_THEY_ARE.add(np.ndarray)

    def values(self, values: Iterable[Any], fields: tuple = ()) -> tuple:
        if not fields:
            return tuple([self.value(value) for value in values])
        values = tuple(values)
        wanted = (*fields, *(None,) * (len(values) - len(fields)))
        pairs = zip(values, wanted, strict=False)  # a bound form's fields may run longer
        return tuple([self.value(value, names) for value, names in pairs])

    def value(self, value: Any, fields: frozenset[str] | None = None) -> Any:
        # Written for speed: this runs on every promoted call that carries a list.
        kind = type(value)
        if kind in _AS_THEY_ARE and not self.checked:
            return value
        if kind is list or kind in BUFFERS:
            known = self.memo.get(id(value))
            if known is None:
                number = _NUMBERS.get(type(value[0])) if kind is list and value else None
                if number is not None and not self.checked:  # the common case, inline
                    native = native_class(number[1], self.typed)
                    known = native(self.empty(len(value) + 1, number[0]), value)
                else:
                    known = self.of_list(value) if kind is list else self.buffer(value)
                self.memo[id(value)] = known
            elif type(known) is tuple:  # a row of a list of lists, now reached on its own
                storage, rows, element = known
                row = native_class(_LIST_KINDS[element, 1], self.typed)
                view = None if storage is None else storage[[*map(id, rows)].index(id(value))]
                known = self.memo[id(value)] = row(view, value)
            return known
        if kind is tuple:
            items = [self.value(item) for item in value]
            if all(map(operator.is_, items, value)):
                return value  # nothing converted: Numba types it in C as it is
            return self.tuple_class(items)(items)
        if objects.is_object_class(kind):
            known = self.memo.get(id(value))
            if known is None:
                known = self.memo[id(value)] = self.instance(value, fields)
            return known
        if self.checked and not (kind is str and self.strings):
            reason = _STR_REFUSAL if kind is str else argument_refusal((value,))
            if reason and objects.is_user_class(kind):
                reason = objects.class_refusal(kind) or reason
            if reason:
                raise Unconvertible(reason)
            self.numpy_scalars |= loaded() and isinstance(value, np.generic)
        return value

    def tuple_class(self, items: list) -> Any:
        """The class of a tuple of converted ``items``: by their classes where those tell
        their kinds (no walk over the items' kinds), else by their kinds."""
        classes = exact_classes(items)
        found = _TUPLE_CLASSES.get(classes) if classes is not None else None
        if found is None:
            found = native_class(kind_of(items), self.typed)
            if classes is not None and found._numba_type_ is not None:
                _TUPLE_CLASSES[classes] = found
        return found

    def of_list(self, value: list) -> Native:
        self.lists = True
        if not value:
            return self.numbers(value, float)
        first = type(value[0])
        if first in _LIST_DTYPES:
            return self.numbers(value, first)
        if first is list:
            return self.rows(value)
        if first is tuple:
            return self.records(value)
        raise Unconvertible(
            f"takes a list of {first.__name__} (lists of floats, ints, bools, lists of those "
            "and tuples are converted) [23]"
        )

    def numbers(self, value: list, element: type) -> Native:
        if self.checked:
            _check_elements(value, element)
        dtype, number = _NUMBERS[element]
        return native_class(number, self.typed)(self.empty(len(value) + 1, dtype), value)

    def empty(self, shape: int | tuple[int, int], dtype: str) -> Any:
        """A fresh array for a list's numbers, or ``None`` if the walk does not allocate.

        ``shape`` counts the written mark: one element more than the list's length (a 1-D
        list), or than its rows' (a list of lists).
        """
        return np.empty(shape, dtype) if self.allocate else None

    def rows(self, value: list) -> Native:
        # Written for speed: every pass over the rows runs in C. Past the screening, the
        # unboxer checks each row's class and length again (a mismatch hands the call back).
        width = len(value[0])
        element = type(value[0][0]) if width else float
        if element not in _LIST_DTYPES:
            raise Unconvertible(f"takes a list of lists of {element.__name__} [23]")
        if self.checked:
            if {*map(type, value)} != {list}:
                raise Unconvertible("takes a list mixing lists and other values [23]")
            if {*map(len, value)} != {width}:
                raise Unconvertible("takes a list of lists of different lengths (ragged) [23]")
            for row in value:
                _check_elements(row, element)
        storage = self.empty((len(value), width + 1), _LIST_DTYPES[element])
        # Each row is remembered (a view of its storage row if reached on its own); a row
        # reached twice, within the list or before it, leaves the memo short.
        before = len(self.memo)
        self.memo.update(dict.fromkeys(map(id, value), (storage, value, element)))
        if len(self.memo) != before + len(value):
            raise Unconvertible("takes a list of lists in which one list is reached twice [24]")
        return native_class(_LIST_KINDS[element, 2], self.typed)(storage, value)

    def records(self, value: list) -> Native:
        if self.checked and {*map(type, value)} != {tuple}:
            raise Unconvertible("takes a list mixing tuples and other values [23]")
        items = [self.value(item) for item in value]
        kinds = {*map(kind_of, items)}
        if len(kinds) > 1:
            raise Unconvertible("takes a list of tuples of different kinds [23]")
        records = Kind("records", item=kinds.pop())
        return native_class(records, self.typed)(items, value)

    def instance(self, value: Any, wanted: frozenset[str] | None = None) -> NativeObject:
        """An object of a plain class as a record of its attributes (:mod:`.objects`), or
        of those in ``wanted`` only."""
        cls = type(value)
        reason = objects.class_refusal(cls)
        if reason:
            raise Unconvertible(reason)
        if wanted is None:
            names, values = objects.attributes(value)
            methods: tuple = ()
        else:
            names, values, methods = objects.wanted_attributes(value, wanted)
        shape = objects.shape_of(cls, names, values)
        packed = shape.pack(values)
        fields, refs, others = [], [], shape.others
        for at in shape.ref_at:
            name, item = names[at], values[at]
            field = self.field(item)
            if field is None:
                others = (*others, (name, type(item).__name__))
            else:
                fields.append(field)
                refs.append((name, kind_of(field)))
        native = shape.native_class(tuple(refs), others, methods, self.typed)
        buffer = np.frombuffer(bytearray(packed), np.uint8) if self.allocate else None
        return native((buffer, *fields), value, packed)

    def field(self, item: Any) -> Any:
        """A reference field's converted value, or ``None`` if ``item`` is no field."""
        kind = type(item)
        if kind is complex:
            return item
        if loaded() and kind is np.ndarray:
            if item.dtype.kind in "biufc" and not item.dtype.fields and item.flags.aligned:
                return item
            return None
        if kind is list or kind is tuple or kind in BUFFERS:
            try:
                return self.value(item)
            except Unconvertible:
                return None
        return None

    def buffer(self, value: Any) -> Native:
        storage, kind = buffers.view(value, self.allocate)
        return native_class(kind, self.typed)(storage, value)


def _check_elements(values: list, element: type) -> None:
    """Every element is exactly of class ``element``, and ints fit int64."""
    classes = {*map(type, values)}
    if len(classes) > 1 or (classes and element not in classes):
        names = ", ".join(sorted(c.__name__ for c in classes))
        raise Unconvertible(
            f"takes a list holding {names} together (converted lists hold one class) [23]"
        )
    if element is int and values and (min(values) < _INT64[0] or max(values) > _INT64[1]):
        raise Unconvertible("takes a list holding an int beyond int64 [2]")
