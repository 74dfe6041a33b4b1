"""autoaccel.backends.signatures: Numba's view of a call (types, fingerprints, signature text)."""

from __future__ import annotations

import numba
import numpy as np
import pytest
from numba.core import types as nbtypes

from autoaccel.backends.signatures import (
    accepting,
    describe,
    fingerprint,
    load_numba,
    numba_loaded,
    numba_signature,
)
from autoaccel.errors import Rejection


def test_a_signature_is_numba_typeof_of_each_argument():
    args = (np.zeros(3), 2, 1.5, (1, 2))
    assert numba_signature(args) == tuple(numba.typeof(a) for a in args)
    assert describe(numba_signature(args)) == (
        "(array(float64, 1d, C), int64, float64, UniTuple(int64 x 2))"
    )


def test_an_argument_without_a_numba_type_is_a_rejection():
    with pytest.raises(Rejection, match="an argument has no Numba type"):
        numba_signature((2**70,))


def test_a_declared_signature_accepts_only_what_it_runs_unconverted():
    contiguous = numba.typeof(np.zeros(3))
    strided = numba.typeof(np.zeros(6)[::2])
    declared_any = (nbtypes.float64[:], nbtypes.int64)
    assert accepting([declared_any], (contiguous, nbtypes.int64)) == declared_any
    assert accepting([declared_any], (strided, nbtypes.int64)) == declared_any
    # No numeric conversion (it could change results), no other dtype or dimension.
    assert accepting([declared_any], (contiguous, nbtypes.float64)) is None
    assert accepting([declared_any], (numba.typeof(np.zeros(3, np.float32)), nbtypes.int64)) is None
    assert accepting([(nbtypes.float64[::1],)], (strided,)) is None
    assert accepting([(nbtypes.int64,), (nbtypes.float64,)], (nbtypes.float64,)) == (
        nbtypes.float64,
    )


def test_fingerprints_tell_arrays_apart_as_numba_dispatches_them():
    base = np.zeros(4)
    readonly = np.zeros(4)
    readonly.flags.writeable = False
    prints = {
        "C": fingerprint((base,)),
        "strided": fingerprint((np.zeros(8)[::2],)),
        "float32": fingerprint((base.astype(np.float32),)),
        "2d": fingerprint((base.reshape(2, 2),)),
        "read-only": fingerprint((readonly,)),
    }
    assert len(set(prints.values())) == len(prints)
    assert fingerprint((np.ones(4),)) == prints["C"]  # values do not matter
    assert numba_loaded()


def test_values_numba_cannot_fingerprint_fall_back_to_a_stable_key():
    assert fingerprint(("EMA", 1)) == fingerprint(("other", 1))
    assert fingerprint(([1.0],)) == fingerprint(([2.0],))
    hash(fingerprint(("EMA", [1.0], object())))


def test_loading_numba_twice_is_harmless():
    load_numba()
    load_numba()
    assert numba_loaded()
