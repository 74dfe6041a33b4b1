"""autoaccel.analysis.bound: one call shape's arguments made positional, the same answers."""

from __future__ import annotations

import dis
import types

import pytest

from autoaccel.analysis.bound import (
    Refused,
    Shape,
    bound_form,
    bound_names,
    describe,
    keywords_refusal,
    needs_binding,
    routed,
    shape_of,
)


def scaled(a, *weights, power=1.0, **options):
    total = 0.0
    for w in weights:
        total += w * a
    if "offset" in options:
        total += options["offset"]
    if not options:
        total += 0.5
    return (total * options.get("scale", 1.0) + len(options)) ** power + weights[-1]


def keyword_only(a, *, b=2.0):
    return a * b


def plain(a, b):
    return a + b


def _bound(function, *args, **kwargs):
    """The function's bound form for this call, and the call's flattened arguments."""
    signature = __import__("inspect").signature(function).bind(*args, **kwargs)
    signature.apply_defaults()
    values = tuple(signature.arguments[name] for name in bound_names(function.__code__))
    shape, flat = shape_of(function.__code__, values)
    code = bound_form(function.__code__, shape)
    return types.FunctionType(code, function.__globals__), shape, flat


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [
        ((2.0, 1.0, 3.0), {}),
        ((2.0, 1.0), {"scale": 3.0}),
        ((2.0, 1.0, 2.0, 4.0), {"offset": 1, "scale": 0.5, "power": 2.0}),
        ((2.0, 1.0), {"offset": 7, "unused": None}),
    ],
)
def test_a_bound_form_answers_as_the_function_for_its_shape(args, kwargs):
    form, shape, flat = _bound(scaled, *args, **kwargs)
    assert form(*flat) == scaled(*args, **kwargs)
    assert shape == Shape(len(args) - 1, tuple(k for k in kwargs if k != "power"))
    code = form.__code__
    assert code.co_argcount == len(flat) and not needs_binding(code)


def test_a_keyword_the_shape_lacks_raises_cpythons_key_error():
    def read(**options):
        return options["missing"]

    form, _, flat = _bound(read, present=1)
    with pytest.raises(KeyError) as bound:
        form(*flat)
    with pytest.raises(KeyError) as original:
        read(present=1)
    assert str(bound.value) == str(original.value) == "'missing'"


def test_star_items_at_constant_positions_are_the_parameters_themselves():
    def ends(*xs):
        return xs[-1] - xs[0] + len(xs)

    form, _, flat = _bound(ends, 1.0, 5.0, 9.0)
    assert "BINARY_SUBSCR" not in [i.opname for i in dis.get_instructions(form)]
    assert form(*flat) == ends(1.0, 5.0, 9.0) == 11.0


def test_keyword_only_arguments_become_positional():
    assert needs_binding(keyword_only.__code__) and not routed(keyword_only.__code__)
    form = types.FunctionType(bound_form(keyword_only.__code__, Shape(0, ())), {})
    assert form(3.0, 4.0) == keyword_only(3.0, b=4.0)


def test_the_names_bound_on_a_call_and_its_shape():
    assert bound_names(scaled.__code__) == ("a", "power", "weights", "options")
    assert bound_names(plain.__code__) == ("a", "b")
    assert routed(scaled.__code__) and not needs_binding(plain.__code__)
    values = (1.0, 2.0, tuple(range(40)), {})
    assert shape_of(scaled.__code__, values) is None  # too many *args values: plain Python
    assert describe(Shape(2, ("axis", "out"))) == "[*2, **{axis, out}]"
    assert describe(Shape(0, ())) == "[]"


@pytest.mark.parametrize(
    "body",
    [
        "return g(**kw)",
        "return kw",
        "for k in kw:\n        pass",
        "kw['a'] = 1",
        "kw = {}",
        "return kw.pop('a', 1)",
        "return kw.get(name, 1)",
        "return kw.get('a', kw)",
    ],
)
def test_other_uses_of_kwargs_are_refused_with_their_line(body):
    namespace: dict = {}
    exec(f"def f(name, **kw):\n    {body}\n", namespace)
    reason = keywords_refusal(namespace["f"].__code__)
    assert reason is not None and reason.endswith("(line 2)"), reason
    with pytest.raises(Refused):
        bound_form(namespace["f"].__code__, Shape(0, ("a",)))


def test_recognised_uses_of_kwargs_are_no_refusal():
    assert keywords_refusal(scaled.__code__) is None
    assert keywords_refusal(plain.__code__) is None
