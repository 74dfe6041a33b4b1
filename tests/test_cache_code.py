"""The code cache: a later import takes the rewritten code from disk and behaves the same."""

from __future__ import annotations

import importlib
import importlib.util
import marshal
import os
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from conftest import read_entry, run_autoaccel, write_entry

import autoaccel.hook.finder as hook
from autoaccel import Config, install
from autoaccel.cache.code import (
    MAGIC,
    TAG,
    SourceCode,
    decode,
    encode,
    entry_key,
)
from autoaccel.config import FunctionOverride
from autoaccel.rewrite.module import Rewritten, rewrite_module
from autoaccel.rewrite.prologue import TRAMPOLINE_MARK
from autoaccel.runtime.registry import lookup

KERNELS = """
import numpy as np

def total(a):
    s = 0.0
    for i in range(a.shape[0]):
        s += a[i]
    return s

def shout(x):
    print(x)
    return x

def outer(a):
    def inner(b):
        return b + 1
    return inner(a)

def counter():
    yield 1

class Ops:
    def scale(self, a):
        return a * 2
"""


@pytest.fixture
def importer(tmp_path, isolated_imports, monkeypatch):
    """``importer(source=None, **config) -> (module, rewrites)``: a fresh import each call.

    The module ``cc_mod`` is written to ``tmp_path`` (when ``source`` is given), removed from
    ``sys.modules`` and imported with the hook; ``rewrites`` counts calls of the rewriter
    during that import (0 means the code came from the cache).
    """
    sys.path.insert(0, str(tmp_path))
    calls = []
    real = hook.rewrite_source

    def counting(source, filename):
        calls.append(source)
        return real(source, filename)

    monkeypatch.setattr(hook, "rewrite_source", counting)

    def load(source: str | None = None, **settings):
        if source is not None:
            (tmp_path / "cc_mod.py").write_text(textwrap.dedent(source))
        sys.modules.pop("cc_mod", None)
        importlib.invalidate_caches()
        settings.setdefault("min_calls", 1)
        settings.setdefault("min_gain", 0.0)
        settings.setdefault("compile_budget", 0.0)  # CPU time: see conftest.private_cache
        before = len(calls)
        with install(Config(modules=("cc_mod",), **settings)):
            module = importlib.import_module("cc_mod")
        return module, len(calls) - before

    return load


def _entries(cache_dir):
    section = cache_dir / "code"
    if not section.is_dir():
        return []
    return sorted(p for p in section.iterdir() if not p.name.startswith("."))


def _promotes(module) -> bool:
    a = np.arange(10.0)
    for _ in range(5):
        assert module.total(a) == 45.0
    return bool(lookup(module.total).promotions)


def test_second_import_uses_the_cache_and_behaves_the_same(importer, private_cache):
    first, rewrites = importer(KERNELS)
    assert rewrites == 1
    (entry,) = _entries(private_cache)
    assert entry.name.startswith("cc_mod.") and TAG in entry.name
    assert read_entry(private_cache, f"code/{entry.name}").startswith(MAGIC)

    second, rewrites = importer()
    assert rewrites == 0, "the rewritten code came from the cache"
    assert second is not first
    assert _entries(private_cache) == [entry]
    assert lookup(second.total) is not lookup(first.total)
    assert lookup(second.total).armed
    assert _promotes(second)
    assert second.outer(1) == 2
    assert second.Ops().scale(3) == 6
    assert lookup(second.Ops.scale) is not None


def test_refusals_survive_the_round_trip(importer):
    first, _ = importer(KERNELS)
    second, rewrites = importer()
    assert rewrites == 0
    for name in ("shout", "outer", "counter"):
        refused_first = lookup(getattr(first, name))
        refused_second = lookup(getattr(second, name))
        assert refused_first is not None and refused_second is not None, name
        assert refused_second.refusal == refused_first.refusal, name
        assert refused_second.refusal and not refused_second.armed, name
    assert "prints" in lookup(second.shout).refusal
    # The nested function is rewritten although its parent is refused.
    trampoline = next(t for t in hook_registry() if t.name == "cc_mod.outer.<locals>.inner")
    assert trampoline.refusal is None


def hook_registry():
    from autoaccel.runtime.registry import registry

    return registry()


def test_edited_source_gives_a_new_entry_and_drops_the_old(importer, private_cache):
    importer(KERNELS)
    (old,) = _entries(private_cache)
    edited, rewrites = importer(KERNELS.replace("return a * 2", "return a * 3"))
    assert rewrites == 1
    (new,) = _entries(private_cache)
    assert new != old
    assert edited.Ops().scale(3) == 9


def test_one_entry_serves_every_configuration(importer, private_cache):
    override = {"cc_mod.total": FunctionOverride(enabled=False)}
    disabled, rewrites = importer(KERNELS, functions=override)
    assert rewrites == 1
    assert lookup(disabled.total).refusal == "disabled in the configuration"
    assert disabled.total(np.arange(4.0)) == 6.0

    enabled, rewrites = importer()
    assert rewrites == 0
    assert lookup(enabled.total).refusal is None
    assert _promotes(enabled)

    again, rewrites = importer(functions=override)
    assert rewrites == 0
    assert lookup(again.total).refusal == "disabled in the configuration"
    assert len(_entries(private_cache)) == 1


def _valid_entry_of_wrong_shape(data: bytes, key: bytes) -> bytes:
    return MAGIC + key + marshal.dumps((1, 2))


def _entry_with_unbindable_placeholder(data: bytes, key: bytes) -> bytes:
    rewritten = decode(data, key)
    bad = rewritten.code.replace(co_consts=(*rewritten.code.co_consts, [TRAMPOLINE_MARK, 10**6]))
    return encode(Rewritten(bad, rewritten.functions), key)


# Damage to the file: its authentication fails before anything else reads it.
FILE_DAMAGES = {
    "truncated": lambda data: data[: len(data) // 2],
    "empty": lambda data: b"",
    "flipped byte": lambda data: data[:-40] + bytes([data[-40] ^ 0xFF]) + data[-39:],
    "foreign file": lambda data: b"#!/bin/sh\necho not a cache entry\n",
    "pyc file": lambda data: importlib.util.MAGIC_NUMBER + b"\0" * 12 + data[40:],
}
# Authentic entries (written with the cache's secret) that are still wrong for this import.
ENTRY_DAMAGES = {
    "other key": lambda data, key: encode(decode(data, key), b"x" * 16),
    "wrong shape": _valid_entry_of_wrong_shape,
    "unbindable": _entry_with_unbindable_placeholder,
    "not an entry": lambda data, key: b"#!/bin/sh\necho not a cache entry\n",
}


@pytest.mark.parametrize("damage", [*FILE_DAMAGES, *ENTRY_DAMAGES])
def test_damaged_entries_are_ignored_and_replaced(importer, private_cache, damage):
    importer(KERNELS)
    (entry,) = _entries(private_cache)
    relative = f"code/{entry.name}"
    source_path = sys.modules["cc_mod"].__file__
    key = entry_key(SourceCode(Path(source_path).read_bytes(), source_path))
    if damage in FILE_DAMAGES:
        entry.write_bytes(FILE_DAMAGES[damage](entry.read_bytes()))
    else:
        write_entry(
            private_cache, relative, ENTRY_DAMAGES[damage](read_entry(private_cache, relative), key)
        )

    module, rewrites = importer()
    assert rewrites == 1, "a damaged entry is a miss"
    assert _promotes(module)
    assert module.outer(1) == 2
    assert lookup(module.shout).refusal
    assert _entries(private_cache) == [entry]
    decode(read_entry(private_cache, relative), key)  # overwritten with a valid entry


@pytest.mark.parametrize("how", ["read-only section", "section is a file"])
def test_an_unwritable_cache_does_not_break_importing(importer, private_cache, how):
    section = private_cache / "code"
    if how == "read-only section":
        section.mkdir()
        section.chmod(0o500)
    else:
        section.write_text("not a directory")  # unwritable even for root
    writable = section.is_dir() and os.access(section, os.W_OK)  # root writes anyway
    try:
        for attempt in range(2):
            module, rewrites = importer(KERNELS)
            assert rewrites == (0 if writable and attempt else 1)
            assert module.outer(1) == 2
            assert lookup(module.shout).refusal
        assert _promotes(module)
        if not writable:
            assert _entries(private_cache) == []
    finally:
        if section.is_dir():
            section.chmod(0o700)


def test_a_read_only_section_still_serves_its_entries(importer, private_cache):
    importer(KERNELS)
    section = private_cache / "code"
    section.chmod(0o500)
    try:
        module, rewrites = importer()
        assert rewrites == 0
        assert _promotes(module)
    finally:
        section.chmod(0o700)


def test_cache_off_rewrites_every_time_and_stores_nothing(importer, private_cache):
    for _ in range(2):
        module, rewrites = importer(KERNELS, cache=False)
        assert rewrites == 1
        assert module.outer(1) == 2
    assert _entries(private_cache) == []


def test_rewritten_code_round_trips_through_marshal():
    source = textwrap.dedent(KERNELS).encode()
    rewritten = rewrite_module(compile(source, "kernels.py", "exec"))
    key = entry_key(SourceCode(source, "kernels.py"))
    loaded = decode(encode(rewritten, key), key)
    assert _shape(loaded.code) == _shape(rewritten.code)
    assert [refusal for _, refusal in loaded.functions] == [
        refusal for _, refusal in rewritten.functions
    ]
    # A refused function's code is the very object in the module's code, after loading too.
    tree = {id(c) for c in _codes(loaded.code)}
    for code, refusal in loaded.functions:
        assert (id(code) in tree) == (refusal is not None), code.co_name


def _shape(code):
    """What a code object does, comparable across marshal (lists compare by identity in code)."""
    consts = tuple(
        _shape(c) if isinstance(c, type(code)) else ("list", *c) if isinstance(c, list) else c
        for c in code.co_consts
    )
    return code.co_name, code.co_code, code.co_names, code.co_varnames, consts


def _codes(code):
    for const in code.co_consts:
        if isinstance(const, type(code)):
            yield const
            yield from _codes(const)


@pytest.mark.slow
def test_a_script_is_served_from_the_cache_in_a_later_process(tmp_path, private_cache):
    script = tmp_path / "app.py"
    script.write_text(textwrap.dedent(KERNELS) + "\nprint(total(np.arange(50.0)), outer(1))\n")
    config = tmp_path / "python_optimizer.toml"
    config.write_text('modules = ["__main__"]\nmin_calls = 1\nmin_gain = 0.0\n')
    outputs, written = [], []
    for _ in range(2):
        result = run_autoaccel(config, tmp_path / "report.json", str(script), cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        outputs.append(result.stdout)
        (entry,) = _entries(private_cache)
        written.append((entry.name, entry.stat().st_mtime_ns))
    assert outputs == ["1225.0 2\n"] * 2
    assert written[0][0].startswith("__main__.")
    assert written[0] == written[1], "the second run read the entry and did not rewrite it"
