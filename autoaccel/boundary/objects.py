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
import struct
import types
from typing import Any, NamedTuple

from autoaccel.boundary.kinds import NativeObject, Unconvertible

_HEAPTYPE = 1 << 9  # Py_TPFLAGS_HEAPTYPE: a class made by a class statement
_METACLASSES = (type, abc.ABCMeta)
_HOOKS = (
    ("__getattribute__", object.__getattribute__),
    ("__setattr__", object.__setattr__),
    ("__delattr__", object.__delattr__),
)
_CODES = {float: "d", int: "q", bool: "?"}
_INT64 = (-(2**63), 2**63 - 1)
_MEMBER = types.MemberDescriptorType
_PYTHON_MADE = (types.FunctionType, staticmethod, classmethod)
_PYTHON = staticmethod(lambda: None)  # stands for "not defined here"


class ObjectLayout(NamedTuple):
    """The shape of a converted object (hashable; part of its kind).

    Attributes:
        name: the class's ``module.qualname``.
        scalars: ``(name, class)`` of each scalar field, in buffer order.
        refs: ``(name, kind)`` of each reference field.
        others: ``(name, class name)`` of attributes that are not fields (for the reasons).
    """

    name: str
    scalars: tuple[tuple[str, type], ...]
    refs: tuple[tuple[str, Any], ...]
    others: tuple[tuple[str, str], ...]

    @property
    def packer(self) -> struct.Struct:
        """The scalar fields' layout in the buffer: native byte order, no padding."""
        return _packer("=" + "".join(_CODES[cls] for _, cls in self.scalars))


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


def attributes(value: Any, checked: bool = True) -> list[tuple[str, Any]]:
    """``(name, value)`` of an instance's attributes: its ``__dict__``'s, then its set slots.

    Raises:
        Unconvertible: if ``checked``, the class shadows one of them with a data descriptor
            (a ``property``), or a slot's descriptor was replaced.
    """
    cls = type(value)
    _, mro, slots = _STATIC.get(cls) or _static(cls)
    found = list(getattr(value, "__dict__", {}).items())
    names = {name for name, _ in found}
    for base in mro if checked else ():
        shared = base.__dict__.keys() & names
        for name in shared:
            if _is_data_descriptor(base.__dict__[name]):
                raise Unconvertible(
                    f"takes {_name(cls)} object whose attribute {name} is a "
                    f"{type(base.__dict__[name]).__name__} of its class"
                )
    for name in slots:
        if checked and type(_class_attribute(mro, name)) is not _MEMBER:
            raise Unconvertible(f"takes {_name(cls)} object whose slot {name} was replaced")
        try:
            found.append((name, getattr(value, name)))
        except AttributeError:  # an unset slot is no field
            continue
    return found


def _class_attribute(mro: tuple[type, ...], name: str) -> Any:
    for base in mro:
        if name in base.__dict__:
            return base.__dict__[name]
    return None


def _is_data_descriptor(value: Any) -> bool:
    kind = type(value)
    return hasattr(kind, "__set__") or hasattr(kind, "__delete__")


def _name(cls: type) -> str:
    name = cls.__name__
    return ("an " if name[:1].lower() in "aeiou" else "a ") + name


def scalar(value: Any) -> type | None:
    """The class of ``value`` if it is a scalar field's (float, bool, int within int64)."""
    cls = type(value)
    if cls is float or cls is bool:
        return cls
    if cls is int and _INT64[0] <= value <= _INT64[1]:
        return cls
    return None


def write_back(native: NativeObject) -> None:
    """Set the scalar fields of ``native`` that the call changed on its object."""
    after = native.storage[0].tobytes()
    if after == native.packed:
        return
    layout = native.kind.item
    packer = layout.packer
    before = packer.unpack(native.packed)
    values = packer.unpack(after)
    source = native.source
    for (name, _), old, new in zip(layout.scalars, before, values, strict=True):
        if _changed(old, new):
            setattr(source, name, new)


def _changed(old: Any, new: Any) -> bool:
    """Whether a scalar field's value changed, bit for bit (``-0.0`` is not ``0.0``; a NaN
    stays itself)."""
    if type(old) is float:
        return struct.pack("d", old) != struct.pack("d", new)
    return old != new
