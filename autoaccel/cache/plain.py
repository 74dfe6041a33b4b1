"""Plain data as JSON: what the cache stores of decisions and outcomes, in a format that runs nothing.

Why this design: ``pickle.loads`` can call any function its data names, so a damaged or
planted pickle could run code or, subtler, produce objects that pass a shape check but
answer differently. The cache's own records (decisions, variant outcomes) hold only plain
values, so they are written as JSON (:mod:`json`: no code, no object construction beyond
dicts, lists, strings and numbers), with a few tags for what JSON lacks: tuples are JSON
arrays (there are no lists among these values), a complex number is ``{"complex": [re,
im]}``, a NumPy scalar ``{"scalar": [type, value]}``, and a type ``{"type":
"module:qualname"}``, found again by attribute lookup in a module that is already imported
(never by importing one, and never by calling anything but a NumPy scalar type's
constructor). The authentication of :mod:`autoaccel.cache.authentication` stops forgery;
this stops whatever slips past it, or a bug of ours, from running code.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from autoaccel.lazy_numpy import loaded, np

_NATIVE = (bool, int, float, str)
# Types of the interpreter that ``builtins`` does not name.
_UNNAMED = {"NoneType": type(None)}


def type_name(kind: type) -> str:
    """``"module:qualname"`` of ``kind``.

    Raises:
        TypeError: the name does not lead back to ``kind`` (a local or dynamic class).
    """
    name = f"{kind.__module__}:{kind.__qualname__}"
    if _type_named(name) is not kind:
        raise TypeError(f"type {kind!r} cannot be found by its name")
    return name


def _type_named(name: str) -> type | None:
    module_name, _, qualname = name.partition(":")
    if module_name == "builtins" and qualname in _UNNAMED:
        return _UNNAMED[qualname]
    # Only a module already imported, and NumPy, which autoaccel imports itself (on first
    # use, autoaccel/lazy_numpy.py), as a variant's result types name it.
    found: Any = np if module_name == "numpy" else sys.modules.get(module_name)
    for attribute in qualname.split("."):
        found = getattr(found, attribute, None)
    return found if isinstance(found, type) else None


def encode(value: Any) -> Any:
    """``value`` as JSON-ready data (see the module docstring).

    Args:
        value: ``None``, ``bool``, ``int``, ``float``, ``str``, ``complex``, a NumPy
            scalar, a type, or a tuple of those (nested).

    Raises:
        TypeError: something else (a list, a dict, an object).
    """
    if value is None or type(value) in _NATIVE:
        return value
    if type(value) is complex:
        return {"complex": [value.real, value.imag]}
    if loaded() and isinstance(value, np.generic) and not isinstance(value, np.void):
        return {"scalar": [type_name(type(value)), encode(value.item())]}
    if type(value) is tuple:
        return [encode(item) for item in value]
    if isinstance(value, type):
        return {"type": type_name(value)}
    raise TypeError(f"cannot store a {type(value).__name__} in the cache")


def decode(data: Any) -> Any:
    """The value that :func:`encode` gave ``data`` for.

    Raises:
        ValueError: ``data`` is not something :func:`encode` returns, or names a type that
            is not found (its module not imported, or not a type).
    """
    if data is None or type(data) in _NATIVE:
        return data
    if type(data) is list:
        return tuple(decode(item) for item in data)
    if type(data) is dict and len(data) == 1:
        ((tag, body),) = data.items()
        if tag == "complex" and _pair(body) and all(type(x) in (int, float) for x in body):
            return complex(*body)
        if tag == "type" and type(body) is str:
            return _known_type(body)
        if tag == "scalar" and _pair(body) and type(body[0]) is str:
            kind = _known_type(body[0])
            item = decode(body[1])
            if loaded() and issubclass(kind, np.generic) and type(item) in (*_NATIVE, complex):
                return kind(item)
    raise ValueError(f"not a stored value: {data!r:.80}")


def _pair(body: Any) -> bool:
    return type(body) is list and len(body) == 2


def _known_type(name: str) -> type:
    kind = _type_named(name)
    if kind is None:
        raise ValueError(f"no type {name} in this process")
    return kind


def dumps(value: Any) -> bytes:
    """``value`` (a dict of JSON-ready data, see :func:`encode`) as UTF-8 JSON bytes."""
    return json.dumps(value, separators=(",", ":")).encode()


def loads(data: bytes) -> Any:
    """The JSON document in ``data``.

    Raises:
        ValueError: not UTF-8 JSON (``json.JSONDecodeError`` and ``UnicodeDecodeError``
            are ``ValueError``s).
    """
    return json.loads(data.decode())
