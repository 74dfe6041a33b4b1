"""autoaccel.backends.cuda: availability never raises, and kernels answer as the original.

The kernels run in numba-cuda's simulator (``NUMBA_ENABLE_CUDASIM=1``), in a subprocess: the
variable has to be set before ``numba.cuda`` is first imported.
"""

from __future__ import annotations

import json
import types

import pytest
from conftest import run_python
from test_policy_targets import KERNEL

from autoaccel.backends import cuda
from autoaccel.errors import Rejection


@pytest.fixture
def fresh(monkeypatch):
    """Availability and the device name recomputed, with ``numba.cuda`` replaced at will."""
    cuda.unavailable_reason.cache_clear()
    cuda._device_name.cache_clear()
    yield lambda loaded: monkeypatch.setattr(cuda, "_load", loaded)
    cuda.unavailable_reason.cache_clear()
    cuda._device_name.cache_clear()


def _raising(error: Exception):
    def load():
        raise error

    return load


@pytest.mark.parametrize(
    ("load", "reason"),
    [
        (_raising(ImportError("No module named 'numba_cuda'")), "numba-cuda is not installed"),
        (_raising(RuntimeError("broken")), "numba's CUDA target cannot be imported"),
        (lambda: types.SimpleNamespace(is_available=_raising(OSError("driver"))), "cannot be"),
        (lambda: types.SimpleNamespace(is_available=lambda: False), "no CUDA GPU and driver"),
    ],
)
def test_every_way_cuda_is_missing_is_a_reason(fresh, load, reason):
    fresh(load)
    assert reason in cuda.unavailable_reason()
    assert cuda.identity() == cuda.unavailable_reason()
    with pytest.raises(Rejection, match=reason):
        cuda.build(None, None, (), (), None)


def test_a_decision_is_tied_to_the_gpu_it_was_measured_on(fresh):
    gpu = types.SimpleNamespace(name=b"NVIDIA H100 80GB HBM3", compute_capability=(9, 0))
    fresh(lambda: types.SimpleNamespace(is_available=lambda: True, gpus=[gpu]))
    assert cuda.identity() == "NVIDIA H100 80GB HBM3 (sm_90)"


def test_the_simulator_names_itself(fresh):
    device = types.SimpleNamespace(compute_capability=(5, 0))
    fresh(lambda: types.SimpleNamespace(is_available=lambda: True, gpus=[device]))
    assert cuda.identity() == "CUDA simulator"


# The kernels, in a file (the elementwise shape is read from the source): the targets'
# tests' loop, and a scalar function called with arrays.
KERNELS = (
    KERNEL
    + """
def scaled(x, y):
    return np.sqrt(x) * 2.0 + y
"""
)

SIMULATED = """
import json
import types
import numpy as np
import kern
from autoaccel.backends import cpu, cuda
from autoaccel.backends.signatures import numba_signature
from autoaccel.config import JitOptions

namespace = vars(kern)
if cuda.unavailable_reason():
    print(json.dumps({"skip": cuda.unavailable_reason()}))
    raise SystemExit
a, b = np.linspace(0.0, 2.0, 40), np.linspace(1.0, 3.0, 40)
found = {}
for name in ("scaled", "roots"):
    unit = types.SimpleNamespace(
        code=namespace[name].__code__, globals=namespace, refusal=None, compiled=None
    )
    base = cpu.build(unit, JitOptions(), lambda f: None)
    signature = numba_signature((a, b))
    cpu.compile_signature(base, signature)
    compiled = cuda.build(unit, base, signature, (a, b), lambda f: None)
    got, want = compiled.entry(a, b), namespace[name](a, b)
    found[name] = [bool(np.allclose(got, want, rtol=1e-12)), str(got.dtype), compiled.unvalidated()]
found["device"] = cuda.identity()
print(json.dumps(found))
"""


@pytest.mark.slow
def test_scalar_and_loop_kernels_answer_as_the_original_in_the_simulator(tmp_path):
    (tmp_path / "kern.py").write_text(KERNELS)
    (tmp_path / "simulated.py").write_text(SIMULATED)
    result = run_python("simulated.py", cwd=tmp_path, env={"NUMBA_ENABLE_CUDASIM": "1"})
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout)
    if "skip" in found:
        pytest.skip(f"the CUDA simulator cannot run here: {found['skip']}")
    assert found == {
        "scaled": [True, "float64", 1],
        "roots": [True, "float64", 1],
        "device": "CUDA simulator",
    }
