"""The CUDA back-end: kernels for elementwise code, with the transfers a call needs.

Why this design: a kernel that calls a device function compiles the same way on a GPU and in
Numba's simulator (``NUMBA_ENABLE_CUDASIM=1``), so one code path is tested without a GPU.
For the two shapes of :mod:`autoaccel.analysis.map_shape`:

- :class:`~autoaccel.analysis.map_shape.ScalarMap`: the function itself becomes the device function;
  the kernel applies it to item ``i`` of each array argument (flattened, same shape) and
  writes item ``i`` of a new result array of the dtype the CPU variant returns.
- :class:`~autoaccel.analysis.map_shape.LoopMap`: the loop body becomes the device function of the
  index; the original function, with the loop replaced by a launch, runs on the host, so the
  statements around the loop (allocations, the return) are the original's own Python code.

A launch copies every array the iterations read to the device, runs one thread per index,
and copies the arrays they write back into the host arrays, so the caller sees host arrays
exactly where the original returns them. The variant serves only the exact argument types and
fingerprints it was validated with; anything else raises ``TypeError``, which hands the call
to the original. ``numba.cuda`` (numba-cuda, ``autoaccel[cuda]``) is imported only when the
``cuda`` target is listed.
"""

from __future__ import annotations

import ast
import functools
import types
import warnings
from collections.abc import Callable
from typing import Any

from autoaccel.analysis.map_shape import LoopMap, ScalarMap, map_shape
from autoaccel.backends.cpu import Compiled, summarize_error
from autoaccel.backends.screening import Lookup, Unit, helpers
from autoaccel.backends.signatures import fingerprint
from autoaccel.errors import Rejection
from autoaccel.lazy_numpy import np

_THREADS = 128  # threads per block: a multiple of the warp size that fits every GPU
_PREFIX = "_autoaccel_"  # generated names; checked not to collide with the function's


def _load() -> Any:
    from numba import cuda

    return cuda


@functools.lru_cache(maxsize=1)
def unavailable_reason() -> str | None:
    """Why the ``cuda`` target cannot be used in this process, or ``None`` if it can.

    Never raises: a missing numba-cuda, a missing driver or no GPU are reasons. Under
    ``NUMBA_ENABLE_CUDASIM=1`` the simulator counts as available.
    """
    try:
        cuda = _load()
    except ImportError as exc:
        return f"numba-cuda is not installed (pip install 'autoaccel[cuda]'): {exc}"
    except Exception as exc:  # a broken installation is a reason too, never an error
        return f"numba's CUDA target cannot be imported: {exc!r}"
    try:
        available = bool(cuda.is_available())
    except Exception as exc:
        return f"CUDA cannot be initialised: {exc!r}"
    return None if available else "no CUDA GPU and driver were found"


def identity() -> str:
    """What a decision about the ``cuda`` target was made on: the GPU, or why there is none.

    The device's name and compute capability (``"NVIDIA H100 80GB HBM3 (sm_90)"``),
    ``"CUDA simulator"`` under ``NUMBA_ENABLE_CUDASIM=1``, or :func:`unavailable_reason`.
    A decision measured on one of these says nothing about another. Never raises.
    """
    return unavailable_reason() or _device_name()


@functools.lru_cache(maxsize=1)
def _device_name() -> str:
    try:
        # The driver describes a device without creating a context on it.
        device = _load().gpus[0]
        name = getattr(device, "name", None)  # the simulator's devices have none
        if name is None:
            return "CUDA simulator"
        name = name.decode() if isinstance(name, bytes) else str(name)
        major, minor = device.compute_capability
        return f"{name} (sm_{major}{minor})"
    except Exception:  # the decision is then tied to "some GPU"; never an error
        return "a CUDA device"


class CudaCompiled:
    """A CUDA variant, with the run-time guards the CPU compile of the same code found.

    Attributes:
        entry: ``entry(*args)``: the result, computed on the GPU; ``TypeError`` for arguments
            other than the validated ones.
        snapshot, guards: as on :class:`~autoaccel.backends.cpu.Compiled` (the CPU
            compile's).
        validated: the signature, once promoted.
        compiling: always ``False`` (the kernel is compiled on its first launch).
    """

    __slots__ = ("compiling", "entry", "guards", "snapshot", "validated")

    def __init__(self, entry: Callable[..., Any], base: Compiled) -> None:
        self.entry = entry
        self.snapshot = base.snapshot
        self.guards = base.guards
        self.validated: set[str] = set()
        self.compiling = False

    def unvalidated(self) -> int:
        """1 until its one signature was promoted, then 0."""
        return 0 if self.validated else 1


def build(
    trampoline: Any, base: Compiled, signature: tuple, args: tuple, lookup: Any
) -> CudaCompiled:
    """The CUDA variant of ``trampoline``'s function for exactly these arguments.

    Args:
        trampoline: the function's trampoline (original code and globals).
        base: its CPU variant, compiled and inspected for ``signature``.
        signature: the Numba types of ``args``.
        args: the call's arguments (only their types and shapes are used).
        lookup: ``lookup(function) -> Trampoline | None`` for helper functions.

    Raises:
        Rejection: CUDA is unavailable, or the function is not elementwise, or a helper
            cannot become a device function.
    """
    reason = unavailable_reason()
    if reason:
        raise Rejection(reason)
    shape = map_shape(trampoline.code)
    if isinstance(shape, str):
        raise Rejection(f"not elementwise: {shape}")
    cuda = _load()
    namespace = device_globals(trampoline, lookup, cuda)
    if isinstance(shape, ScalarMap):
        host = _scalar_host(trampoline, shape, base, signature, args, namespace, cuda)
    else:
        host = _loop_host(trampoline, shape, namespace, cuda)
    return CudaCompiled(_exact(host, args), base)


def device_globals(unit: Unit, lookup: Lookup, cuda: Any, active: tuple = ()) -> dict:
    """A copy of the function's globals with each selected helper as a device function.

    Raises:
        Rejection: a helper calls back up the chain (recursion).
    """
    namespace = dict(unit.globals)
    for name, _, helper in helpers(unit, lookup, active):
        if helper is None:
            continue
        helper_globals = device_globals(helper, lookup, cuda, (*active, unit))
        function = types.FunctionType(helper.code, helper_globals, helper.code.co_name)
        namespace[name] = cuda.jit(device=True)(function)
    return namespace


def _exact(host: Callable[..., Any], args: tuple) -> Callable[..., Any]:
    """``host`` for arguments of exactly the types and fingerprints of ``args`` only."""
    expected = tuple(map(type, args)) + fingerprint(args)

    def entry(*call_args: Any) -> Any:
        if tuple(map(type, call_args)) + fingerprint(call_args) != expected:
            raise TypeError("not the validated signature of this CUDA variant")
        return host(*call_args)

    return entry


def _scalar_host(
    trampoline: Any,
    shape: ScalarMap,
    base: Compiled,
    signature: tuple,
    args: tuple,
    namespace: dict,
    cuda: Any,
) -> Callable[..., Any]:
    """The host function of a scalar function applied to arrays (see the module docstring)."""
    from numba import types as numba_types
    from numba.np.numpy_support import as_dtype

    arrays = tuple(i for i, value in enumerate(args) if isinstance(value, np.ndarray))
    returned = base.entry.overloads[signature].signature.return_type
    if not arrays or not isinstance(returned, numba_types.Array):
        raise Rejection("not elementwise: it is not called with arrays, or returns no array")
    if returned.ndim != args[arrays[0]].ndim or len({args[i].shape for i in arrays}) != 1:
        raise Rejection("not elementwise: its arrays differ in shape from each other or the result")
    dtype = as_dtype(returned.dtype)
    device = cuda.jit(device=True)(types.FunctionType(trampoline.code, namespace, "device"))
    params = [f"{_PREFIX}p{i}" for i in range(len(args))]
    items = [f"{p}[i]" if i in arrays else p for i, p in enumerate(params)]
    kernel = _kernel(
        f"def kernel(n, out, {', '.join(params)}):\n"
        "    i = cuda.grid(1)\n"
        "    if i < n:\n"
        f"        out[i] = device({', '.join(items)})\n",
        {"cuda": cuda, "device": device},
        cuda,
    )

    def host(*call_args: Any) -> np.ndarray:
        shapes = {call_args[i].shape for i in arrays}
        if len(shapes) != 1:
            raise TypeError("arrays of different shapes are broadcast: not served on the GPU")
        (array_shape,) = shapes
        out = np.empty(array_shape, dtype)
        flat = [
            np.ascontiguousarray(v).reshape(-1) if i in arrays else v
            for i, v in enumerate(call_args)
        ]
        _launch(kernel, cuda, out.size, [out.reshape(-1), *flat], written=(0,), offset=False)
        return out

    return host


def _loop_host(trampoline: Any, shape: LoopMap, namespace: dict, cuda: Any) -> Callable[..., Any]:
    """The host function of a map loop: the original with its loop replaced by a launch."""
    names = set(trampoline.code.co_varnames) | set(trampoline.code.co_names)
    if any(name.startswith(_PREFIX) for name in names):
        raise Rejection(f"not elementwise: it uses names starting with {_PREFIX}")
    device = _device_body(trampoline, shape, namespace, cuda)
    params = ", ".join(shape.inputs)
    kernel = _kernel(
        f"def kernel(start, stop, {params}):\n"
        "    i = start + cuda.grid(1)\n"
        "    if i < stop:\n"
        f"        device(i, {params})\n",
        {"cuda": cuda, "device": device},
        cuda,
    )
    written = tuple(n for n, name in enumerate(shape.inputs) if name in shape.outputs)

    def launch(start: int, stop: int, values: tuple) -> None:
        _launch(kernel, cuda, (start, stop), list(values), written, offset=True)

    return _host_function(trampoline, shape, launch)


def _device_body(trampoline: Any, shape: LoopMap, namespace: dict, cuda: Any) -> Any:
    """The loop body as a device function of the index and the loop's inputs."""
    loop = shape.loop
    index = loop.target.id  # type: ignore[attr-defined]
    body = [_ContinueToReturn().visit(stmt) for stmt in loop.body]
    arguments = ast.arguments(
        posonlyargs=[],
        args=[ast.arg(arg=name) for name in (index, *shape.inputs)],
        kwonlyargs=[],
        kw_defaults=[],
        defaults=[],
    )
    definition = ast.FunctionDef(
        name=trampoline.code.co_name, args=arguments, body=body, decorator_list=[], returns=None
    )
    scope = dict(namespace)
    exec(_compile([definition], trampoline.code.co_filename), scope)
    return cuda.jit(device=True)(scope[trampoline.code.co_name])


def _host_function(
    trampoline: Any, shape: LoopMap, launch: Callable[..., None]
) -> Callable[..., Any]:
    """The original function with its loop replaced by ``launch(start, stop, inputs)``."""
    tree = shape.tree
    code = trampoline.code
    parameters = code.co_varnames[: code.co_argcount + code.co_kwonlyargcount]
    call = ast.Expr(
        ast.Call(
            func=ast.Name(f"{_PREFIX}launch", ast.Load()),
            args=[
                shape.start,
                shape.stop,
                ast.Tuple([ast.Name(n, ast.Load()) for n in shape.inputs], ast.Load()),
            ],
            keywords=[],
        )
    )
    ast.copy_location(call, shape.loop)
    body = [*tree.body[: shape.position], call, *tree.body[shape.position + 1 :]]
    inner = ast.FunctionDef(
        name=tree.name,
        args=ast.arguments(
            posonlyargs=[],
            args=[ast.arg(arg=name) for name in parameters],
            kwonlyargs=[],
            kw_defaults=[],
            defaults=[],
        ),
        body=body,
        decorator_list=[],
        returns=None,
    )
    # A closure over the launch, so nothing is added to the module's globals, which the
    # host function reads live, as the original does.
    maker = ast.FunctionDef(
        name=f"{_PREFIX}make",
        args=ast.arguments(
            posonlyargs=[],
            args=[ast.arg(arg=f"{_PREFIX}launch")],
            kwonlyargs=[],
            kw_defaults=[],
            defaults=[],
        ),
        body=[inner, ast.Return(ast.Name(tree.name, ast.Load()))],
        decorator_list=[],
        returns=None,
    )
    module_code = _compile([maker], code.co_filename)
    maker_code = next(c for c in module_code.co_consts if isinstance(c, types.CodeType))
    make = types.FunctionType(maker_code, trampoline.globals, maker_code.co_name)
    return make(launch)


class _ContinueToReturn(ast.NodeTransformer):
    """``continue`` of the outer loop ends the device function; inner loops keep theirs."""

    def visit_Continue(self, node: ast.Continue) -> ast.AST:
        return ast.copy_location(ast.Return(None), node)

    def visit_For(self, node: ast.For) -> ast.AST:
        return node

    def visit_While(self, node: ast.While) -> ast.AST:
        return node


def _compile(definitions: list[ast.stmt], filename: str) -> types.CodeType:
    module = ast.Module(body=definitions, type_ignores=[])
    ast.fix_missing_locations(module)
    return compile(module, filename, "exec")


def _kernel(source: str, namespace: dict, cuda: Any) -> Any:
    scope = dict(namespace)
    exec(compile(source, "<autoaccel cuda kernel>", "exec"), scope)
    return cuda.jit(scope["kernel"])


def _launch(
    kernel: Any, cuda: Any, bounds: Any, values: list, written: tuple[int, ...], offset: bool
) -> None:
    """Copy ``values``' arrays in, run one thread per index, copy the ``written`` ones back.

    ``bounds`` is ``(start, stop)`` when ``offset``, else the number of items.

    Raises:
        TypeError: a written array is not C-contiguous and writeable, or overlaps another
            array (the original then runs instead).
        Rejection: CUDA cannot compile the kernel for these types.
    """
    from numba.core.errors import NumbaError, NumbaPerformanceWarning

    start, stop = bounds if offset else (0, bounds)
    count = stop - start
    if count <= 0:
        return
    arrays = [v for v in values if isinstance(v, np.ndarray)]
    for position in written:
        array = values[position]
        if not (array.flags.c_contiguous and array.flags.writeable):
            raise TypeError("a written array is not C-contiguous and writeable")
        if any(a is not array and np.may_share_memory(a, array) for a in arrays):
            raise TypeError("a written array overlaps another argument")
    device = [
        cuda.to_device(np.ascontiguousarray(v)) if isinstance(v, np.ndarray) else v for v in values
    ]
    blocks = (count + _THREADS - 1) // _THREADS
    try:
        with warnings.catch_warnings():
            # Small grids warn about under-use of the GPU; the measurement decides.
            warnings.simplefilter("ignore", NumbaPerformanceWarning)
            kernel[blocks, _THREADS](*((start, stop) if offset else (count,)), *device)
    except NumbaError as exc:
        raise Rejection(f"CUDA cannot compile it: {summarize_error(exc)}") from None
    for position in written:
        device[position].copy_to_host(values[position])
