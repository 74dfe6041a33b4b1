"""Numba's side of a converted object: the record type compiled code sees for ``self``.

Why this design: compiled code must read and write an object's attributes at the speed of
locals, and a write must reach the object only after a call that answered
(:mod:`autoaccel.boundary.objects`). So a converted object is a :class:`PyInstance`: a
pointer to a private buffer holding its scalar fields (loads and stores at fixed offsets),
and its reference fields (arrays, converted lists and buffers, tuples) held by value.
``obj.x`` is typed from the field; ``obj.x = v`` stores into the buffer; ``obj.m(...)``,
for a method the layout binds, calls the method's own compiled code with the record as its
first argument (so its loads and stores reach the same buffer); anything else (an attribute
that is no field, rebinding a reference field) fails typing or lowering with the reason
recorded for the report. What a store may hold is checked on the
typed IR (:meth:`PyInstance.store_refusal`, called by
:mod:`autoaccel.backends.typed_checks`), since Numba's ``setattr`` typing converts the value
to the field's type where CPython would hold the value's own class.

The technique is Numba's extension API: a type with a data model, an attribute template and
``lower_getattr_generic``/``lower_setattr_generic`` (docs/source/extending/low-level.rst), as
Numba's own ``StructRef`` does (numba/experimental/structref.py) without its heap allocation.
Method calls are typed and lowered as ``jitclass`` does its methods
(numba/experimental/jitclass/base.py): a bound function whose template asks the method's
dispatcher for its signature with the instance prepended, and one lowering per method name
that calls that dispatcher.
"""

from __future__ import annotations

import functools
import importlib
import inspect
from typing import Any

from numba import types
from numba.core import cgutils
from numba.core.datamodel import models
from numba.core.errors import NumbaNotImplementedError
from numba.core.imputils import (
    impl_ret_borrowed,
    impl_ret_new_ref,
    lower_builtin,
    lower_getattr_generic,
    lower_setattr_generic,
)
from numba.core.typing.templates import AbstractTemplate, AttributeTemplate, infer_getattr
from numba.extending import register_model

from autoaccel.backends.checked_ops import refusals
from autoaccel.boundary.messages import attribute_refusal
from autoaccel.state import STATE

_BUFFER = types.Array(types.uint8, 1, "C")


class PyInstance(types.Type):
    """The compiled code's type for a converted object.

    Args:
        name: the class's ``module.qualname``.
        scalars: ``(name, Numba type, byte offset)`` of each scalar field.
        refs: ``(name, Numba type)`` of each reference field.
        others: ``(name, class name)`` of the attributes that are not fields.
        methods: ``(name, function)`` of the methods compiled code may call on it.
    """

    # Identity (``a is b``) has no answer on a record: refused, as for PySequence.
    mutable = True

    def __init__(
        self, name: str, scalars: tuple, refs: tuple, others: tuple, methods: tuple = ()
    ) -> None:
        self.class_name = name
        self.scalars = scalars
        self.refs = refs
        self.others = others
        self.methods = methods
        fields = [f"{n}: {t}" for n, t, _ in scalars] + [f"{n}: {t}" for n, t in refs]
        fields += [f"{n}()" for n, _ in methods]
        super().__init__(f"{name.rsplit('.', 1)[-1]}({', '.join(fields)})")
        for attr, _ in methods:
            _lower_method(attr)

    @property
    def key(self) -> tuple:
        """What makes two instance types the same type."""
        return (self.class_name, self.scalars, self.refs, self.others, self.methods)

    def __reduce__(self) -> tuple:
        """Pickled with its methods by name, for Numba's cache index: the functions are
        trampolined (a pickle by value fails on the trampoline) and a private method's
        qualified name (``Munkres.__step4``) is not its attribute's (``_Munkres__step4``).

        Raises:
            TypeError: a method of a class defined inside a function (not importable).
        """
        named = []
        for attr, function in self.methods:
            owner = function.__qualname__.rpartition(".")[0]
            if not owner or "<locals>" in owner:
                raise TypeError(f"cannot pickle a method of {owner or function.__qualname__}")
            named.append((attr, function.__module__, owner))
        return (_unpickled, (self.class_name, self.scalars, self.refs, self.others, tuple(named)))

    def method_dispatcher(self, attr: str) -> Any:
        """The Numba dispatcher compiled code calls method ``attr`` through, or ``None``
        (not a method of the layout, or not built: see :mod:`autoaccel.runtime.methods`)."""
        for name, function in self.methods:
            if name == attr:
                return STATE.methods.get(function)
        return None

    @property
    def storage_type(self) -> types.Tuple:
        """The Numba type of the converted value's ``storage``: the buffer, then the refs."""
        return types.Tuple([_BUFFER, *(t for _, t in self.refs)])

    def field_type(self, attr: str) -> Any:
        """The Numba type of field or method ``attr``, or ``None`` (with the reason
        recorded)."""
        if any(name == attr for name, _ in self.methods):
            return types.BoundFunction(_method_template(self, attr), self)
        for name, t, _ in self.scalars:
            if name == attr:
                return t
        for name, t in self.refs:
            if name == attr:
                return t
        held = dict(self.others).get(attr)
        refusals.append(attribute_refusal(self.class_name.rsplit(".", 1)[-1], attr, held))
        return None

    def store_refusal(self, attr: str, value: Any) -> str | None:
        """Why compiled code may not store a value of Numba type ``value`` into ``attr``."""
        value = types.unliteral(value)
        short = self.class_name.rsplit(".", 1)[-1]
        for name, t, _ in self.scalars:
            if name == attr:
                if value == t:
                    return None
                return (
                    f"stores {value} into {short}.{attr}, which holds {t}: CPython would "
                    "then hold another class [23]"
                )
        return f"rebinds {short}.{attr}, which holds an array, list or tuple (not compiled) [23]"


@register_model(PyInstance)
class _InstanceModel(models.StructModel):
    """The scalar buffer's data pointer (the converted value keeps the buffer alive for the
    call), then each reference field in its own data model (released after the call by
    Numba's wrapper, as arguments are)."""

    def __init__(self, dmm: Any, fe_type: PyInstance) -> None:
        members: list[tuple[str, Any]] = [("data", types.CPointer(types.uint8))]
        members += [(f"ref{i}", t) for i, (_, t) in enumerate(fe_type.refs)]
        super().__init__(dmm, fe_type, members)


@infer_getattr
class _Attribute(AttributeTemplate):
    key = PyInstance

    def generic_resolve(self, instance: PyInstance, attr: str) -> Any:  # type: ignore[override]
        return instance.field_type(attr)


def _scalar_pointer(context: Any, builder: Any, instance: Any, value: Any, attr: str):
    """``(field type, pointer to it)`` for scalar field ``attr``, or ``None``."""
    for name, t, offset in instance.scalars:
        if name == attr:
            proxy = cgutils.create_struct_proxy(instance)(context, builder, value=value)
            pointer = cgutils.gep(builder, proxy.data, offset)
            return t, builder.bitcast(pointer, context.get_data_type(t).as_pointer())
    return None


@lower_getattr_generic(PyInstance)
def _getattr(context: Any, builder: Any, instance: Any, value: Any, attr: str) -> Any:
    scalar = _scalar_pointer(context, builder, instance, value, attr)
    if scalar is not None:
        return context.unpack_value(builder, scalar[0], scalar[1], align=1)
    index = [name for name, _ in instance.refs].index(attr)
    proxy = cgutils.create_struct_proxy(instance)(context, builder, value=value)
    field_type = instance.refs[index][1]
    return impl_ret_borrowed(context, builder, field_type, getattr(proxy, f"ref{index}"))


@lower_setattr_generic(PyInstance)
def _setattr(context: Any, builder: Any, sig: Any, args: Any, attr: str) -> None:
    instance, value_type = sig.args
    scalar = _scalar_pointer(context, builder, instance, args[0], attr)
    if scalar is None:  # a reference field (typing cannot see which value is stored)
        reason = instance.store_refusal(attr, value_type)
        refusals.append(reason)
        raise NumbaNotImplementedError(reason)
    field_type, pointer = scalar
    value = context.cast(builder, args[1], value_type, field_type)
    context.pack_value(builder, field_type, value, pointer, align=1)


def _unpickled(name: str, scalars: tuple, refs: tuple, others: tuple, named: tuple) -> PyInstance:
    """A :class:`PyInstance` pickled by :meth:`PyInstance.__reduce__`, its methods found
    again on their classes (``AttributeError``: gone)."""
    methods = []
    for attr, module, owner in named:
        found: Any = importlib.import_module(module)
        for part in owner.split("."):
            found = getattr(found, part)
        methods.append((attr, inspect.getattr_static(found, attr)))
    return PyInstance(name, scalars, refs, others, tuple(methods))


@functools.cache
def _method_template(instance: PyInstance, attr: str) -> type[AbstractTemplate]:
    """The typing of ``instance.attr(...)``: the method's dispatcher typed for the instance
    and the arguments (its signature as a method's, the instance its receiver)."""

    class Method(AbstractTemplate):
        key = (PyInstance, attr)

        def generic(self, args: tuple, kws: dict) -> Any:
            dispatcher = instance.method_dispatcher(attr)
            if dispatcher is None:
                short = instance.class_name.rsplit(".", 1)[-1]
                refusals.append(f"calls {short}.{attr}(), whose code was not compiled with it")
                return None
            found = types.Dispatcher(dispatcher).get_call_type(self.context, (instance, *args), kws)
            return None if found is None else found.as_method()

    return Method


@functools.cache
def _lower_method(attr: str) -> None:
    """Register the lowering of calls to methods named ``attr`` (once per name: the
    implementation reads which method from the receiver's type, as jitclass does)."""

    def call(context: Any, builder: Any, sig: Any, args: Any) -> Any:
        dispatcher = sig.args[0].method_dispatcher(attr)
        implementation = context.get_function(types.Dispatcher(dispatcher), sig)
        out = implementation(builder, args)
        libraries = getattr(implementation, "libs", ())
        if libraries:  # the method's code, linked into the caller's
            context.add_linking_libs(libraries)
        return impl_ret_new_ref(context, builder, sig.return_type, out)

    lower_builtin((PyInstance, attr), PyInstance, types.VarArg(types.Any))(call)


def instance_type(layout: Any, field_type: Any) -> PyInstance:
    """The type of objects of ``layout`` (an ``ObjectLayout``); ``field_type(kind)`` gives a
    reference field's Numba type."""
    scalar_types = {float: types.float64, int: types.int64, bool: types.boolean}
    scalars, offset = [], 0
    for name, cls in layout.scalars:
        scalars.append((name, scalar_types[cls], offset))
        offset += {float: 8, int: 8, bool: 1}[cls]
    refs = tuple((name, field_type(kind)) for name, kind in layout.refs)
    return PyInstance(layout.name, tuple(scalars), refs, layout.others, layout.methods)
