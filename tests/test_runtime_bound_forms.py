"""autoaccel.runtime.bound_forms: calls of a *args/**kwargs function dispatched by shape."""

from __future__ import annotations

import numpy as np
import pytest

from autoaccel import stats
from autoaccel.runtime import bound_forms
from autoaccel.runtime.registry import lookup

SOURCE = """
import numpy as np

def norm(a, *more, **options):
    s = 0.0
    for i in range(a.shape[0]):
        s += a[i] * a[i]
    for b in more:
        s += b
    return s ** options.get("power", 0.5)

def keywords(**options):
    return options["x"] * 2.0
"""


def test_each_call_shape_gets_a_trampoline_of_its_own(accelerated):
    mod = accelerated(SOURCE, min_calls=1)
    a = np.arange(5.0)
    for _ in range(4):
        assert mod.norm(a) == 30.0**0.5
        assert mod.norm(a, 1.0, 2.0, power=1.0) == 33.0
    forms = {t.qualname: t for t in lookup(mod.norm).bound_forms.forms.values()}
    assert set(forms) == {"norm[]", "norm[*2, **{power}]"}
    (record,) = forms["norm[*2, **{power}]"].promotions
    assert record.signature == "(array(float64, 1d, C), float64, float64, float64)"
    # Numba cannot iterate an empty tuple: that shape alone stays Python
    (failure,) = forms["norm[]"].failures.values()
    assert failure.reason.startswith("Numba cannot compile it: Invalid use of getiter")
    entries = {e["name"].split(".", 1)[1]: e for e in stats()["functions"]}
    assert entries["norm"]["reason"].startswith("takes *args or **kwargs: compiled per call shape")
    assert entries["norm[*2, **{power}]"]["state"] == "promoted"


def test_a_shape_without_a_bound_form_or_beyond_the_limit_runs_as_python(accelerated, monkeypatch):
    monkeypatch.setattr(bound_forms, "MAX_FORMS", 2)
    mod = accelerated(SOURCE, min_calls=1)
    a = np.arange(3.0)
    for extra in range(4):  # four shapes: *0, *1, *2, *3
        assert mod.norm(a, *([1.0] * extra)) == (5.0 + extra) ** 0.5
    forms = lookup(mod.norm).bound_forms.forms
    assert {t.qualname for t in forms.values()} == {"norm[]", "norm[*1]"}  # no more made
    assert lookup(mod.norm).armed  # its first two shapes still compile
    entries = {e["name"].split(".", 1)[1]: e for e in stats()["functions"]}
    assert entries["norm"]["reason"].endswith("shapes beyond these 2 run as Python")
    assert mod.keywords(x=2.0) == 4.0


def test_bad_calls_raise_cpythons_type_error_once_promoted(accelerated):
    mod = accelerated(SOURCE + "\ndef shifted(a, *, c=2.0):\n    return a + c\n", min_calls=1)
    for _ in range(4):
        assert mod.shifted(1.0, c=3.0) == 4.0
        assert mod.shifted(1.0) == 3.0  # the keyword-only default, as CPython binds it
        assert mod.keywords(x=2.0) == 4.0
    assert lookup(mod.shifted).promotions
    namespace: dict = {}
    exec("def shifted(a, *, c=2.0):\n    return a + c\n", namespace)
    for bad in [(1.0, 2.0), ()]:
        with pytest.raises(TypeError) as accelerated_error:
            mod.shifted(*bad)
        with pytest.raises(TypeError) as plain_error:
            namespace["shifted"](*bad)
        assert str(accelerated_error.value) == str(plain_error.value)
    with pytest.raises(TypeError, match="positional argument"):
        mod.keywords(2.0)
