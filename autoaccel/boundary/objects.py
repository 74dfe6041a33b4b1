"""Objects at the boundary: an instance of a plain class as a record of its attributes.

Why this design: on real code the hottest functions are methods, and a method's first
argument is ``self`` (issue 18). Numba's ``jitclass`` needs the class itself decorated, and
its ``StructRef`` proxies are built by a compiled constructor on every call. So, as with
lists, the object is converted at the call: its attributes are read into a record, compiled
code reads and writes the record's fields, and after a call that answered the attributes
that changed are set on the object, with the same classes (a float attribute gets a float).
A call handed back writes nothing, so the object is as it was and the original runs on it.
This is scalar replacement of aggregates done at the boundary (Muchnick, "Advanced Compiler
Design and Implementation", 12.2), over Python's attribute protocol.

- **Plain classes only** (:func:`class_refusal`): no metaclass other than ``type`` and
  ``ABCMeta``, no builtin base besides ``object``, no ``__getattr__``, and the default
  ``__getattribute__``, ``__setattr__`` and ``__delattr__``. An attribute shadowed by a data
  descriptor of the class (a ``property``) is refused, checked on every call, so a class
  patched later is caught at its next call and the call is handed back.
- **Fields**: the instance's attributes (its ``__dict__``, then its slots). Floats, bools
  and ints within int64 are *scalar* fields, packed into a private byte buffer with
  :mod:`struct` (``d``, ``?``, ``q``); compiled code loads and stores them there. Numeric
  arrays, lists, buffers, tuples and complex numbers are *reference* fields (converted as
  arguments are, aliasing kept): their elements may be written, but the attribute cannot be
  rebound. Any other attribute (a ``str``, a dict, another object) is not a field; code
  using it is refused with that reason.
- **Write-back**: the buffer's bytes after the call are compared with those packed before;
  each scalar field whose bytes differ is set with ``setattr``, with the class its code
  (``struct.unpack``) gives. A field written with its own value is not set again (the
  object then holds an equal number, not the same one; nothing but ``is`` tells).

The typed IR decides what compiled code may store into a field
(:meth:`autoaccel.boundary.instance_type.PyInstance.store_refusal`): exactly the field's type,
so an int never lands where CPython would hold a float, or the reverse.
"""

from __future__ import annotations

import abc
import array
import functools
import operator
import struct
import types
from typing import Any, NamedTuple

from autoaccel.boundary.kinds import Kind, NativeObject, Unconvertible, native_class
from autoaccel.boundary.messages import attribute_refusal
from autoaccel.lazy_numpy import loaded, np

_HEAPTYPE = 1 << 9  # Py_TPFLAGS_HEAPTYPE: a class made by a class statement
_METACLASSES = (type, abc.ABCMeta)
_HOOKS = (
    ("__getattribute__", object.__getattribute__),
    ("__setattr__", object.__setattr__),
    ("__delattr__", object.__delattr__),
)
_CODES = {float: "d", int: "q", bool: "?"}
# Classes whose values may be reference fields (converted as arguments are, or not), with
# NumPy's arrays (see _reference).
_REFERENCES = frozenset((list, tuple, complex, bytes, bytearray, array.array, memoryview))
_MEMBER = types.MemberDescriptorType
_PYTHON_MADE = (types.FunctionType, staticmethod, classmethod)
_PYTHON = staticmethod(lambda: None)  # stands for "not defined here"
_ABSENT = object()  # no class of the MRO defines the name


def _reference(kind: type) -> bool:
    """Whether values of ``kind`` may be reference fields: NumPy is not imported for the
    question, as no array exists before it is (:mod:`autoaccel.lazy_numpy`)."""
    return kind in _REFERENCES or (loaded() and kind is np.ndarray)


class ObjectLayout(NamedTuple):
    """The shape of a converted object (hashable; part of its kind).

    Attributes:
        name: the class's ``module.qualname``.
        scalars: ``(name, class)`` of each scalar field, in buffer order.
        refs: ``(name, kind)`` of each reference field.
        others: ``(name, class name)`` of attributes that are not fields (for the reasons).
        methods: ``(name, function)`` of the methods the code calls on the object, each a
            function of the class (:func:`class_methods`), compiled with the code that calls
            it (:mod:`autoaccel.runtime.methods`). The functions are part of the layout, so
            a method replaced on the class later gives another type: no variant matches it.
    """

    name: str
    scalars: tuple[tuple[str, type], ...]
    refs: tuple[tuple[str, Any], ...]
    others: tuple[tuple[str, str], ...]
    methods: tuple[tuple[str, types.FunctionType], ...] = ()


_PACKERS: dict[str, struct.Struct] = {}


def _packer(codes: str) -> struct.Struct:
    found = _PACKERS.get(codes)
    if found is None:
        found = _PACKERS[codes] = struct.Struct(codes)
    return found


# Facts about a class that cannot change while the class lives (its bases and metaclass),
# by class; what can change (hooks, descriptors) is checked on every call.
_STATIC: dict[type, tuple[str | None, tuple[type, ...], tuple[str, ...]]] = {}


def is_object_class(cls: type) -> bool:
    """Whether instances of ``cls`` are candidates for conversion (a user's class)."""
    static = _STATIC.get(cls)
    if static is None:
        static = _static(cls)
    return static[0] is None


def is_user_class(cls: type) -> bool:
    """Whether ``cls`` was made by a class statement (plain or not).

    A heap type whose own ``__new__`` and ``__init__``, if any, are Python functions: many
    extension types are heap types too (``array.array`` since 3.10), but their
    constructors are C functions.
    """
    if not isinstance(cls, type) or not cls.__flags__ & _HEAPTYPE:
        return False
    own = cls.__dict__
    return isinstance(own.get("__new__", _PYTHON), _PYTHON_MADE) and isinstance(
        own.get("__init__", _PYTHON), _PYTHON_MADE
    )


def _static(cls: type) -> tuple[str | None, tuple[type, ...], tuple[str, ...]]:
    """``(reason or None, the MRO without object, slot names)`` of ``cls``, cached."""
    reason: str | None = None
    if not is_user_class(cls):
        reason = "is not an instance of a class statement"
    elif type(cls) not in _METACLASSES:
        reason = f"has the metaclass {type(cls).__name__}"
    else:
        builtin = [b for b in cls.__mro__[1:-1] if not is_user_class(b)]
        if builtin:
            reason = f"derives from the builtin {builtin[0].__name__}"
    mro = cls.__mro__[:-1] if isinstance(cls, type) else ()
    slots: list[str] = []
    for base in mro:
        declared = base.__dict__.get("__slots__", ())
        for name in (declared,) if isinstance(declared, str) else declared:
            if name not in ("__dict__", "__weakref__") and name not in slots:
                slots.append(name)
    static = _STATIC[cls] = (reason, mro, tuple(slots))
    return static


def class_refusal(cls: type) -> str | None:
    """Why instances of ``cls`` cannot be converted now, or ``None`` (checked each call)."""
    static = _STATIC.get(cls) or _static(cls)
    if static[0] is not None:
        return f"takes {_name(cls)} object, which {static[0]}"
    for hook, default in _HOOKS:
        if getattr(cls, hook) is not default:
            return f"takes {_name(cls)} object, whose class defines {hook}"
    if hasattr(cls, "__getattr__"):
        return f"takes {_name(cls)} object, whose class defines __getattr__"
    return None


def attributes(value: Any, checked: bool = True) -> tuple[tuple[str, ...], tuple[Any, ...]]:
    """``(names, values)`` of an instance's attributes: its ``__dict__``'s, then its set slots.

    Raises:
        Unconvertible: if ``checked``, the class shadows one of them with a data descriptor
            (a ``property``), or a slot's descriptor was replaced.
    """
    cls = type(value)
    _, mro, slots = _STATIC.get(cls) or _static(cls)
    own = getattr(value, "__dict__", None)
    names: tuple[str, ...] = ()
    values: tuple[Any, ...] = ()
    if own is not None:
        names, values = tuple(own), tuple(own.values())
        for base in mro if checked else ():
            if not base.__dict__.keys().isdisjoint(own):  # rare: a default on the class
                _check_shadowing(cls, base, own)
    for name in slots:
        if checked and type(_class_attribute(mro, name)) is not _MEMBER:
            raise Unconvertible(f"takes {_name(cls)} object whose slot {name} was replaced")
        try:
            item = getattr(value, name)
        except AttributeError:  # an unset slot is no field
            continue
        names, values = (*names, name), (*values, item)
    return names, values


def class_methods(cls: type, names: Any) -> tuple[tuple[str, types.FunctionType], ...]:
    """``(name, function)`` of each of ``names`` (sorted) that the class defines as a plain
    function (found along its MRO, as ``getattr`` would); other names are left out."""
    _, mro, _ = _STATIC.get(cls) or _static(cls)
    found = []
    for name in sorted(names):
        value = _class_attribute(mro, name)
        if type(value) is types.FunctionType:
            found.append((name, value))
    return tuple(found)


def wanted_attributes(
    value: Any, wanted: frozenset[str]
) -> tuple[tuple[str, ...], tuple[Any, ...], tuple[tuple[str, types.FunctionType], ...]]:
    """``(names, values, methods)`` of those of ``wanted`` (sorted) the object has: its own
    attributes and set slots, the numbers its class holds (``float``, ``int``, ``bool``,
    ``complex``: read through an instance they are the class's values, and set on one they
    become the instance's own, as compiled code's write-back sets them), and in
    ``methods`` the plain functions its class gives (:func:`class_methods`).

    Read one name at a time, as CPython's attribute lookup finds it, never through the
    instance's ``__dict__``: on CPython 3.11 and 3.12 reading ``__dict__`` moves an object's
    attributes out of its inline values into a dictionary for good, and every later
    attribute access on it in plain Python takes about twice as long (measured: 18% of
    pyperformance's chaos, whose objects were only screened). A list or array the class
    holds is shared by its instances, and a trial's copy of the object would write the
    class's own: not converted. A name a descriptor of the class gives (a ``property``, a
    ``staticmethod``) is not read, even where the instance's own attribute shadows it.

    Raises:
        Unconvertible: a slot's descriptor was replaced.
    """
    cls = type(value)
    _, mro, slots = _STATIC.get(cls) or _static(cls)
    names: list[str] = []
    values: list[Any] = []
    methods: list[tuple[str, types.FunctionType]] = []
    for name in _sorted(wanted):
        found = _class_attribute(mro, name, _ABSENT)
        kind = type(found)
        if name in slots and kind is not _MEMBER:
            raise Unconvertible(f"takes {_name(cls)} object whose slot {name} was replaced")
        if kind is not _MEMBER and kind is not types.FunctionType and hasattr(kind, "__get__"):
            continue  # a property, staticmethod...: its __get__ is not run here
        try:
            item = getattr(value, name)
        except AttributeError:  # no such attribute, or an unset slot: no field
            continue
        if isinstance(found, types.FunctionType) and getattr(item, "__func__", None) is found:
            methods.append((name, item.__func__))
        elif item is not found or kind in _CODES or kind is complex:
            names.append(name)  # the instance's own (or its slot's), or a number of the class
            values.append(item)
    return tuple(names), tuple(values), tuple(methods)


_ORDERS: dict[frozenset[str], tuple[str, ...]] = {}


def _sorted(names: frozenset[str]) -> tuple[str, ...]:
    """``sorted(names)``, kept: the same sets come back on every call."""
    found = _ORDERS.get(names)
    if found is None:
        found = _ORDERS[names] = tuple(sorted(names))
    return found


def _check_shadowing(cls: type, base: type, own: dict) -> None:
    for name in base.__dict__.keys() & own.keys():
        if _is_data_descriptor(base.__dict__[name]):
            raise Unconvertible(
                f"takes {_name(cls)} object whose attribute {name} is a "
                f"{type(base.__dict__[name]).__name__} of its class"
            )


def _class_attribute(mro: tuple[type, ...], name: str, absent: Any = None) -> Any:
    for base in mro:
        if name in base.__dict__:
            return base.__dict__[name]
    return absent


def _is_data_descriptor(value: Any) -> bool:
    kind = type(value)
    return hasattr(kind, "__set__") or hasattr(kind, "__delete__")


def _name(cls: type) -> str:
    name = cls.__name__
    return ("an " if name[:1].lower() in "aeiou" else "a ") + name


class Shape:
    """How the objects of one class with one list of attribute names and classes convert:
    which attributes are scalar fields (packed by :attr:`packer`), which may be reference
    fields (converted per call), and which are neither. Cached (:func:`shape_of`), so a
    call does not classify its object's attributes again.
    """

    __slots__ = (
        "_classes",
        "_numbers",
        "name",
        "others",
        "packer",
        "ref_at",
        "scalar_at",
        "scalars",
    )

    def __init__(self, cls: type, names: tuple[str, ...], classes: tuple[type, ...]) -> None:
        self.name = f"{cls.__module__}.{cls.__qualname__}"
        kinds = list(zip(range(len(names)), names, classes, strict=True))
        self.scalar_at = tuple(at for at, _, kind in kinds if kind in _CODES)
        self.scalars = tuple((name, kind) for _, name, kind in kinds if kind in _CODES)
        self.ref_at = tuple(at for at, _, kind in kinds if _reference(kind))
        self.others = tuple(
            (name, kind.__name__)
            for _, name, kind in kinds
            if kind not in _CODES and not _reference(kind)
        )
        self.packer = _packer("=" + "".join(_CODES[kind] for _, kind in self.scalars))
        self._numbers = operator.itemgetter(*self.scalar_at) if self.scalar_at else None
        self._classes: dict[tuple, Any] = {}

    def pack(self, values: tuple) -> bytes:
        """The scalar fields' bytes, from the object's attribute ``values``.

        Raises:
            Unconvertible: an int field beyond int64 (docs/divergences.md, row 2).
        """
        if self._numbers is None:
            return b""
        numbers = self._numbers(values)
        try:
            if len(self.scalar_at) == 1:
                return self.packer.pack(numbers)
            return self.packer.pack(*numbers)
        except struct.error:
            short = self.name.rsplit(".", 1)[-1]
            raise Unconvertible(f"takes a {short} object holding an int beyond int64 [2]") from None

    def native_class(self, refs: tuple, others: tuple, methods: tuple, typed: bool) -> Any:
        """The class of converted objects of this shape whose reference fields have
        ``refs`` (``(name, kind)``), whose other attributes are ``others`` and whose
        called methods are ``methods`` (:attr:`ObjectLayout.methods`)."""
        key = (refs, others, methods)
        found = self._classes.get(key)
        if found is None or (typed and found._numba_type_ is None):
            layout = ObjectLayout(self.name, self.scalars, refs, others, methods)
            found = self._classes[key] = native_class(
                Kind("object", source=self.name, item=layout), typed
            )
        return found


_SHAPES: dict[tuple, Shape] = {}


def shape_of(cls: type, names: tuple[str, ...], values: tuple) -> Shape:
    """The :class:`Shape` of an object of ``cls`` whose :func:`attributes` are ``names``
    and ``values``."""
    key = (cls, names, tuple(map(type, values)))
    shape = _SHAPES.get(key)
    if shape is None:
        shape = _SHAPES[key] = Shape(cls, names, key[2])
    return shape


def write_back(native: NativeObject) -> None:
    """Set the scalar fields of ``native`` that the call changed on its object: those whose
    bytes differ from the ones packed before the call (bit for bit: ``-0.0`` is not ``0.0``,
    a NaN stays itself), each with the class its code unpacks to."""
    after = native.storage[0].tobytes()
    before = native.packed
    if after == before:
        return
    source = native.source
    for name, start, end, code in _slots(native.kind.item):
        if after[start:end] != before[start:end]:
            setattr(source, name, code.unpack_from(after, start)[0])


@functools.cache
def _slots(layout: ObjectLayout) -> tuple[tuple[str, int, int, struct.Struct], ...]:
    """``(name, start, end, code)`` of each scalar field in the buffer (byte offsets; native
    byte order, no padding, as :attr:`Shape.packer` packs them)."""
    slots, offset = [], 0
    for name, cls in layout.scalars:
        code = _packer("=" + _CODES[cls])
        slots.append((name, offset, offset + code.size, code))
        offset += code.size
    return tuple(slots)


def uses_refusal(native: NativeObject, uses: Any, methods: bool = False) -> str | None:
    """Why the code cannot use ``native``'s object as it does, or ``None``.

    ``uses`` is what the code does with the parameter (``loads``, ``stores`` and ``methods``:
    attribute names, from :func:`autoaccel.analysis.attributes.attribute_uses`). Checked
    before compiling, with the reasons Numba's typing would give (and, for method calls,
    clearer ones). ``methods``: whether the caller compiles the methods called with the
    code (:mod:`autoaccel.runtime.methods` folded their uses into ``uses``); then each must
    be one of the layout's methods.
    """
    layout = native.kind.item
    short = layout.name.rsplit(".", 1)[-1]
    scalars = {name for name, _ in layout.scalars}
    fields = scalars | {name for name, _ in layout.refs}
    held = dict(layout.others)
    bound = {name for name, _ in layout.methods}
    for name in uses.methods:
        if not methods:
            return f"calls {short}.{name}(), a method of a converted object (not compiled)"
        if name not in bound:
            return f"calls {short}.{name}(), which is not a function of its class"
    for name in (*uses.loads, *uses.stores):
        if name in held or name not in fields:
            return attribute_refusal(short, name, held.get(name))
    for name in uses.stores:
        if name not in scalars:
            return (
                f"rebinds {short}.{name}, which holds an array, list or tuple (not compiled) [23]"
            )
    return None
