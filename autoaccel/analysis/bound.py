"""Bound forms: a function taking ``*args``, ``**kwargs`` or keyword-only arguments, with every
argument of one call shape made an ordinary positional parameter.

Why this design: Numba cannot take ``**kwargs`` nor be called with keyword-only arguments
(docs/divergences.md, row 29), and passing ``*args`` as one tuple keeps its elements from
being screened one by one (docs/divergences.md, row 24: a list inside ``*args``). Whole public APIs are
``def f(*args, **kwargs)`` or ``def f(a, b, **kw)``, though. After CPython has bound a
call's arguments, its *shape* is known: how many values ``*args`` holds and which keywords
``**kwargs`` has. For each shape the function gets a *bound form*, a code object of the same
body whose parameters are the named ones, then one per ``*args`` element, then one per
keyword, all positional: the body's ``args`` is rebuilt as a tuple of those parameters,
``args[0]`` reads the parameter directly, and each use of ``kwargs`` is replaced by what it
means for this shape (``kwargs["axis"]`` and ``kwargs.get("axis", d)`` by the parameter or
the default, ``"axis" in kwargs``, ``len(kwargs)`` and ``if kwargs`` by constants; a key
the shape lacks is read from an empty dict, which raises CPython's ``KeyError``). Any other
use of ``kwargs`` (passing it on, iterating it, changing it) is refused, with its line. The
bound form gives the same answers as the body under CPython, so the trial runs it as the
original; :mod:`autoaccel.runtime.trampoline` keys the forms by shape (the keywords in call
order), and Numba compiles each like any function.
"""

from __future__ import annotations

import inspect
import sys
from types import CodeType
from typing import Any, NamedTuple

from bytecode import Bytecode, Instr

_STAR, _KEYWORDS = inspect.CO_VARARGS, inspect.CO_VARKEYWORDS
_MAX_STAR, _MAX_KEYWORDS = 32, 16  # bigger shapes stay plain Python
# 3.13 fuses two local accesses into one instruction: split where one is *args or **kwargs.
_FUSED = {
    "LOAD_FAST_LOAD_FAST": ("LOAD_FAST", "LOAD_FAST"),
    "STORE_FAST_LOAD_FAST": ("STORE_FAST", "LOAD_FAST"),
    "STORE_FAST_STORE_FAST": ("STORE_FAST", "STORE_FAST"),
}
_TRUTH = frozenset(
    {
        "TO_BOOL",
        "UNARY_NOT",
        "POP_JUMP_IF_FALSE",
        "POP_JUMP_IF_TRUE",
        "POP_JUMP_FORWARD_IF_FALSE",
        "POP_JUMP_FORWARD_IF_TRUE",
    }
)
_SIMPLE_LOADS = frozenset({"LOAD_CONST", "LOAD_FAST", "LOAD_GLOBAL"})


class Shape(NamedTuple):
    """What CPython bound to ``*args`` and ``**kwargs`` on one call.

    Attributes:
        star: how many values ``*args`` holds.
        keywords: the keywords ``**kwargs`` holds, in the order of the call.
    """

    star: int
    keywords: tuple[str, ...]


def needs_binding(code: CodeType) -> bool:
    """Whether ``code`` takes ``*args``, ``**kwargs`` or keyword-only arguments."""
    return bool(code.co_flags & (_STAR | _KEYWORDS) or code.co_kwonlyargcount)


def routed(code: CodeType) -> bool:
    """Whether calls of ``code`` differ in shape (it takes ``*args`` or ``**kwargs``)."""
    return bool(code.co_flags & (_STAR | _KEYWORDS))


def bound_names(code: CodeType) -> tuple[str, ...]:
    """The names CPython binds on a call, in order: what the prologue passes on."""
    count = code.co_argcount + code.co_kwonlyargcount
    count += bool(code.co_flags & _STAR) + bool(code.co_flags & _KEYWORDS)
    return code.co_varnames[:count]


def shape_of(code: CodeType, bound: tuple) -> tuple[Shape, tuple] | None:
    """The shape of a call, and its arguments flattened as the bound form takes them.

    Args:
        code: the function's code.
        bound: the values of :func:`bound_names` on the call.

    Returns:
        ``(shape, arguments)``, or ``None`` for a shape too big to compile.
    """
    named = code.co_argcount + code.co_kwonlyargcount
    star: tuple = bound[named] if code.co_flags & _STAR else ()
    keywords: dict = bound[-1] if code.co_flags & _KEYWORDS else {}
    if len(star) > _MAX_STAR or len(keywords) > _MAX_KEYWORDS:
        return None
    return Shape(len(star), tuple(keywords)), (*bound[:named], *star, *keywords.values())


def describe(shape: Shape) -> str:
    """``"[*2, **{axis, out}]"``: a shape as the report names a bound form."""
    parts = [f"*{shape.star}"] if shape.star else []
    if shape.keywords:
        parts.append("**{" + ", ".join(shape.keywords) + "}")
    return "[" + ", ".join(parts) + "]"


class Refused(Exception):
    """``**kwargs`` is used in a way the bound form cannot express (the reason, with line)."""


def keywords_refusal(code: CodeType) -> str | None:
    """Why no bound form of ``code`` can exist, or ``None`` (every use of ``**kwargs`` is one
    the bound form replaces); read once, statically."""
    if not code.co_flags & _KEYWORDS:
        return None
    try:
        _Binding(code, Shape(0, ())).rewritten()
    except Refused as exc:
        return str(exc)
    return None


def bound_form(code: CodeType, shape: Shape) -> CodeType:
    """``code`` with the arguments of calls of ``shape`` as positional parameters.

    Raises:
        Refused: ``**kwargs`` is used otherwise than the bound form replaces.
    """
    return _Binding(code, shape).code()


class _Binding:
    """One bound form being made."""

    def __init__(self, code: CodeType, shape: Shape) -> None:
        self.source = code
        self.shape = shape
        named = code.co_argcount + code.co_kwonlyargcount
        names = code.co_varnames
        self.named = names[:named]
        self.star = names[named] if code.co_flags & _STAR else None
        self.keywords = names[named + bool(self.star)] if code.co_flags & _KEYWORDS else None
        used = set(names) | set(code.co_names)
        prefix = "_aa_"
        while any(name.startswith(prefix) for name in used):
            prefix = "_" + prefix
        self.star_params = [f"{prefix}star{i}" for i in range(shape.star)]
        self.keyword_params = {key: f"{prefix}kw{i}" for i, key in enumerate(shape.keywords)}

    def code(self) -> CodeType:
        bytecode = Bytecode.from_code(self.source)
        body = self.rewritten(list(bytecode))
        start = next(
            (
                i + 1
                for i, ins in enumerate(body)
                if isinstance(ins, Instr) and ins.name == "RESUME"
            ),
            0,
        )
        if self.star is not None:
            location = next(ins.location for ins in body if isinstance(ins, Instr))
            loads = [Instr("LOAD_FAST", name, location=location) for name in self.star_params]
            built = [
                Instr("BUILD_TUPLE", len(loads), location=location),
                Instr("STORE_FAST", self.star, location=location),
            ]
            body[start:start] = [*loads, *built]
        bytecode.clear()
        bytecode.extend(body)
        bytecode.argnames = [*self.named, *self.star_params, *self.keyword_params.values()]
        bytecode.argcount = len(bytecode.argnames)
        bytecode.kwonlyargcount = 0
        bytecode.flags &= ~(_STAR | _KEYWORDS)
        return bytecode.to_code()

    def rewritten(self, instructions: list | None = None) -> list:
        """The instructions with the uses of ``*args`` and ``**kwargs`` replaced."""
        if instructions is None:
            instructions = list(Bytecode.from_code(self.source))
        instructions = list(_split_fused(instructions, {self.star, self.keywords} - {None}))
        stored = {
            ins.arg
            for ins in instructions
            if isinstance(ins, Instr) and ins.name in ("STORE_FAST", "DELETE_FAST")
        }
        if self.keywords is not None and self.keywords in stored:
            raise Refused(f"assigns **{self.keywords}{_line(instructions, self.keywords)}")
        out: list = []
        index = 0
        while index < len(instructions):
            ins = instructions[index]
            if _loads(ins, self.keywords):
                out, index = self._keyword_use(instructions, index, out)
            elif _loads(ins, self.star) and self.star not in stored:
                taken = self._star_item(instructions, index)
                out.append(taken or ins)
                index += 3 if taken else 1
            else:
                out.append(ins)
                index += 1
        return out

    def _star_item(self, instructions: list, index: int) -> Instr | None:
        """``args[k]`` with a constant ``k`` in range: the parameter itself."""
        window = instructions[index + 1 : index + 3]
        if len(window) < 2 or not all(isinstance(i, Instr) for i in window):
            return None
        constant, subscript = window
        item = constant.arg if constant.name == "LOAD_CONST" else None
        if subscript.name != "BINARY_SUBSCR" or type(item) is not int:
            return None
        if not -self.shape.star <= item < self.shape.star:
            return None  # IndexError in CPython: the tuple raises it too
        return Instr("LOAD_FAST", self.star_params[item], location=instructions[index].location)

    def _keyword_use(self, instructions: list, index: int, out: list) -> tuple[list, int]:
        """Replace the use of ``**kwargs`` loaded at ``index``; ``(out, next index)``."""
        load = instructions[index]
        before: Any = out[-1] if out else None
        after = instructions[index + 1 : index + 6]
        following: Any = after[0] if after else None
        location = load.location
        keys = self.shape.keywords
        if (
            _is(before, "LOAD_CONST")
            and isinstance(before.arg, str)
            and _is(following, "CONTAINS_OP")
        ):
            present = (before.arg in keys) != bool(following.arg)
            return [*out[:-1], _constant(present, location)], index + 2
        if _is(following, "LOAD_CONST") and isinstance(following.arg, str):
            subscript = after[1] if len(after) > 1 else None
            if _is(subscript, "BINARY_SUBSCR"):
                parameter = self.keyword_params.get(following.arg)
                if parameter is None:  # not passed: an empty dict raises CPython's KeyError,
                    # and Numba prunes the branch when it is a constant ``key in kwargs``
                    missing = _constant({}, location)
                    return [*out, missing, following, subscript], index + 3
                return [*out, Instr("LOAD_FAST", parameter, location=location)], index + 3
        got = self._get(instructions, index)
        if got is not None:
            replacement, consumed = got
            return [*out, *replacement], index + consumed
        if _is(before, "LOAD_GLOBAL") and _global_name(before) == "len" and _call(after, 1):
            count = (None,) * len(keys)
            return [*out, _constant(count, location)], index + 1
        if isinstance(following, Instr) and following.name in _TRUTH:
            return [*out, _constant(bool(keys), location)], index + 1
        name = load.arg
        raise Refused(
            f"uses **{name} otherwise than {name}['name'], {name}.get('name'), 'name' in "
            f"{name}, len({name}) or its truth{_line(instructions[index : index + 1], name)}"
        )

    def _get(self, instructions: list, index: int) -> tuple[list, int] | None:
        """``kwargs.get(key)`` or ``kwargs.get(key, <one load>)``: the parameter or the default
        (evaluated first, as CPython does), and how many instructions it replaces."""
        window = instructions[index + 1 : index + 7]
        if len(window) < 3 or not all(isinstance(i, Instr) for i in window[:3]):
            return None
        method, key = window[0], window[1]
        is_get = (method.name == "LOAD_METHOD" and method.arg == "get") or (
            method.name == "LOAD_ATTR" and method.arg == (True, "get")
        )
        if not is_get or not _is(key, "LOAD_CONST") or not isinstance(key.arg, str):
            return None
        # a default loading **kwargs itself is left for the refusal (it has no bound form)
        default = window[2] if _simple_load(window[2]) else None
        if _loads(default, self.keywords):
            return None  # ``kwargs.get(key, kwargs)``: the dict itself has no bound form
        rest = window[3:] if default is not None else window[2:]
        arguments = 2 if default is not None else 1
        calls = _call(rest, arguments)
        if not calls:
            return None
        location = instructions[index].location
        loaded = [default] if default is not None else [_constant(None, location)]
        if key.arg in self.shape.keywords:
            parameter = Instr("LOAD_FAST", self.keyword_params[key.arg], location=location)
            loaded = [*loaded, Instr("POP_TOP", location=location), parameter]
        return loaded, 3 + (default is not None) + calls


def _constant(value: Any, location: Any) -> Instr:
    return Instr("LOAD_CONST", value, location=location)


def _split_fused(instructions: list, names: set) -> Any:
    for ins in instructions:
        fused = _FUSED.get(ins.name) if isinstance(ins, Instr) else None
        if fused is None or not set(ins.arg) & names:
            yield ins
            continue
        for name, arg in zip(fused, ins.arg, strict=True):
            yield Instr(name, arg, location=ins.location)


def _is(ins: Any, name: str) -> bool:
    return isinstance(ins, Instr) and ins.name == name


def _loads(ins: Any, name: str | None) -> bool:
    return name is not None and _is(ins, "LOAD_FAST") and ins.arg == name


def _global_name(ins: Instr) -> Any:
    return ins.arg[1] if isinstance(ins.arg, tuple) else ins.arg


def _simple_load(ins: Any) -> bool:
    """A load without side effects that pushes one value (not a callee's NULL with it)."""
    if not isinstance(ins, Instr) or ins.name not in _SIMPLE_LOADS:
        return False
    return not (ins.name == "LOAD_GLOBAL" and isinstance(ins.arg, tuple) and ins.arg[0])


def _call(instructions: list, arguments: int) -> int:
    """How many of ``instructions`` make a call with ``arguments`` arguments, or 0."""
    names = (
        ["CALL_METHOD"]
        if sys.version_info < (3, 11)
        else ["PRECALL", "CALL"]
        if sys.version_info < (3, 12)
        else ["CALL"]
    )
    window = instructions[: len(names)]
    if len(window) == len(names) and all(
        _is(ins, name) and ins.arg == arguments for ins, name in zip(window, names, strict=True)
    ):
        return len(names)
    if sys.version_info < (3, 11) and _is(window[0] if window else None, "CALL_FUNCTION"):
        return 1 if window[0].arg == arguments else 0  # len(kwargs) on 3.10
    return 0


def _line(instructions: list, name: str) -> str:
    """`` (line N)`` of the first load or store of ``name`` among ``instructions``."""
    for ins in instructions:
        if isinstance(ins, Instr) and ins.arg == name and ins.location and ins.location.lineno:
            return f" (line {ins.location.lineno})"
    return ""
