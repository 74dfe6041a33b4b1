"""A stand-in for ``pyperf`` that checks answers instead of measuring time.

The pyperformance benchmark scripts use a small part of pyperf's API: ``pyperf.Runner``
(``metadata``, ``argparser``, ``parse_args``, ``bench_func``, ``bench_time_func``) and
``pyperf.perf_counter``. This module implements exactly that, in-process: no worker
processes, no calibration, no timing output. Each benchmark runs ``warmups + values``
times, each time with ``loops`` loops, like a pyperf worker with fixed ``--loops``.

At exit it prints a deterministic digest on stdout:

* the return value of every ``bench_func`` call (``bench_time_func`` functions return
  elapsed seconds: only that they returned a float is recorded);
* a canonical dump of the data in the ``__main__`` module's globals and in the data attributes
  of its classes, so that state that the benchmark mutates (nbody's ``SYSTEM``) is compared;
* the state of the ``random`` module, when it was imported;
* the value of each ``--probe EXPR`` expression, evaluated in ``__main__``'s globals after
  the benchmarks ran, for the benchmarks that throw their answers away.

With ``--timings FILE`` it also writes the seconds of every value (warm-ups included) as JSON
to FILE at exit, for benchmarks/run.py: ``bench_func`` values are timed around the calls,
``bench_time_func`` values are the seconds the function returned, as in pyperf.

Floats are written with ``repr`` (so ``-0.0``, ``nan`` and the last digit count); lists,
tuples, dicts, sets, ``array.array``, NumPy arrays and instances of classes defined in
``__main__`` are written recursively. Two runs that print the same digest computed the same
answers and left the same state.
"""

from __future__ import annotations

import argparse
import array
import atexit
import functools
import hashlib
import json
import sys
import types
from time import perf_counter

__all__ = ["Runner", "perf_counter"]

STANDIN_BANNER = "pyperf stand-in (tests/realcode/pyperf.py)"


class Runner:
    """The part of ``pyperf.Runner`` that the benchmark scripts use."""

    _created = False

    def __init__(
        self,
        values=None,
        processes=None,
        loops=0,
        min_time=0.1,
        metadata=None,
        show_name=True,
        program_args=None,
        add_cmdline_args=None,
        _argparser=None,
        warmups=1,
    ):
        if Runner._created:
            raise RuntimeError("only one Runner instance must be created per process")
        Runner._created = True
        self.metadata = metadata if metadata is not None else {}
        self.args = None
        self._results: list[str] = []
        self._timings: dict[str, list[float]] = {}
        self._names: set[str] = set()
        parser = _argparser or argparse.ArgumentParser(description="Benchmark")
        parser.add_argument(
            "-n", "--values", type=int, default=values or 3, help="values per benchmark"
        )
        parser.add_argument(
            "-w", "--warmups", type=int, default=warmups, help="warmup values per benchmark"
        )
        parser.add_argument("-l", "--loops", type=int, default=loops or 1, help="loops per value")
        parser.add_argument(
            "--probe",
            action="append",
            default=[],
            metavar="EXPR",
            help="expression evaluated in __main__ at exit, its value added to the digest",
        )
        parser.add_argument(
            "--timings",
            metavar="FILE",
            help="write the seconds of every value (warm-ups included) as JSON to FILE at exit",
        )
        self.argparser = parser
        atexit.register(self._print_digest)

    def parse_args(self, args=None):
        if self.args is not None and args is None:
            return self.args
        if self.args is not None:
            raise RuntimeError("arguments already parsed")
        self.args = self.argparser.parse_args(args)
        return self.args

    def _check_name(self, name):
        if name in self._names:
            raise ValueError(f"duplicated benchmark name: {name!r}")
        self._names.add(name)

    def bench_func(self, name, func, *args, inner_loops=None, metadata=None):
        """Call ``func(*args)`` ``loops`` times per value; record every return value."""
        options = self.parse_args()
        self._check_name(name)
        if args:
            func = functools.partial(func, *args)
        timings = self._timings[name] = []
        for value in range(options.warmups + options.values):
            elapsed = 0.0
            for loop in range(options.loops):
                start = perf_counter()
                result = func()
                elapsed += perf_counter() - start
                self._results.append(f"{name} value {value} loop {loop}: {canonical(result)}")
            timings.append(elapsed)

    def bench_time_func(self, name, time_func, *args, inner_loops=None, metadata=None):
        """Call ``time_func(loops, *args)`` once per value; it returns elapsed seconds."""
        options = self.parse_args()
        self._check_name(name)
        timings = self._timings[name] = []
        for value in range(options.warmups + options.values):
            elapsed = time_func(options.loops, *args)
            self._results.append(f"{name} value {value}: returned {type(elapsed).__name__}")
            timings.append(elapsed)

    def _print_digest(self):
        main = sys.modules.get("__main__")
        lines = [STANDIN_BANNER, *self._results]
        namespace = vars(main) if main is not None else {}
        for key in sorted(namespace):
            if key.startswith("__") and key.endswith("__"):
                continue
            value = namespace[key]
            if isinstance(value, type) and value.__module__ == "__main__":
                # Class attributes are state too (raytrace's Vector.ZERO, scimark's Random.m1).
                data = {
                    name: attribute
                    for name, attribute in vars(value).items()
                    if not (name.startswith("__") and name.endswith("__"))
                    and not _is_code_or_module(attribute)
                    and not isinstance(attribute, _DESCRIPTORS)
                }
                if data:
                    lines.append(f"class {key} = {canonical(data)}")
            elif not _is_code_or_module(value):
                lines.append(f"global {key} = {canonical(value)}")
        random_module = sys.modules.get("random")
        if random_module is not None and any(v is random_module for v in namespace.values()):
            # Only a script that uses random seeds it: otherwise the state is os.urandom's.
            state = repr(random_module.getstate()).encode()
            lines.append(f"random state sha256 {hashlib.sha256(state).hexdigest()}")
        for expression in self.args.probe if self.args is not None else []:
            value = eval(expression, namespace, {})
            lines.append(f"probe {expression} = {canonical(value)}")
        sys.stdout.write("\n".join(lines) + "\n")
        sys.stdout.flush()
        if self.args is not None and self.args.timings:
            self._write_timings(self.args.timings)

    def _write_timings(self, path):
        options = self.args
        data = {
            "warmups": options.warmups,
            "values": options.values,
            "loops": options.loops,
            "seconds": self._timings,
        }
        with open(path, "w") as file:
            json.dump(data, file)


_DESCRIPTORS = (
    staticmethod,
    classmethod,
    property,
    types.MemberDescriptorType,
    types.GetSetDescriptorType,
)


def _is_code_or_module(value):
    return isinstance(
        value,
        (
            types.FunctionType,
            types.BuiltinFunctionType,
            types.MethodType,
            types.ModuleType,
            type,
            functools.partial,
        ),
    )


def canonical(value, _seen=None) -> str:
    """A deterministic text for ``value``: equal text means equal data, bit for bit."""
    seen = {} if _seen is None else _seen
    kind = type(value)
    if value is None or kind in (bool, int, str, bytes, complex):
        return repr(value)
    if kind is float:
        return float.__repr__(value)
    if _is_code_or_module(value):
        name = getattr(value, "__qualname__", None) or getattr(value, "__name__", "?")
        return f"<{kind.__name__} {name}>"
    if kind is tuple:
        # Immutable: its identity is not observable data, so it is not memoized.
        return f"tuple[{', '.join(canonical(item, seen) for item in value)}]"
    if kind in (set, frozenset):
        items = sorted(canonical(item, {}) for item in value)
        return f"{kind.__name__}{{{', '.join(items)}}}"
    # Mutable objects: a second reference prints as @N, so aliasing is part of the digest
    # and cycles end.
    # ``seen`` keeps each object alive: the temporary lists of ``tolist()`` below would
    # otherwise be freed and their ids reused, and a later, different list would print as @N.
    if id(value) in seen:
        return f"@{seen[id(value)][0]}"
    seen[id(value)] = (len(seen), value)
    if kind is list:
        return f"list[{', '.join(canonical(item, seen) for item in value)}]"
    if kind is dict:
        items = ", ".join(f"{canonical(k, seen)}: {canonical(v, seen)}" for k, v in value.items())
        return f"dict{{{items}}}"
    if kind is argparse.Namespace:
        items = ", ".join(f"{k}={canonical(v, seen)}" for k, v in sorted(vars(value).items()))
        return f"Namespace({items})"
    if kind is array.array:
        return f"array({value.typecode!r}, {canonical(value.tolist(), seen)})"
    numpy = sys.modules.get("numpy")
    if numpy is not None and isinstance(value, numpy.ndarray):
        return f"ndarray({value.dtype.str}, {value.shape}, {canonical(value.tolist(), seen)})"
    if numpy is not None and isinstance(value, numpy.generic):
        return f"{value.dtype.str}({canonical(value.item(), seen)})"
    if kind.__module__ == "__main__":
        fields = {}
        for klass in kind.__mro__:
            for slot in getattr(klass, "__slots__", ()):
                if hasattr(value, slot):
                    fields[slot] = getattr(value, slot)
        fields.update(getattr(value, "__dict__", {}))
        items = ", ".join(f"{k}={canonical(fields[k], seen)}" for k in sorted(fields))
        return f"{kind.__qualname__}({items})"
    return f"<{kind.__module__}.{kind.__qualname__} object>"
