"""Fault injection: a cache damaged by bad luck or by another user changes nothing but speed.

A real example fills a cache; then every file of it is damaged, one way at a time (cut short,
overwritten with random bytes, one bit flipped at several offsets, replaced by a FIFO, a
directory, a link to ``/dev/zero`` or to a copy of itself outside the cache, or a pickle that
would leave a marker file if it were ever unpickled), and the example runs twice on the
damaged cache. Each run must print what plain CPython prints, exit 0, finish within a time
limit, run nothing planted, and leave what a link points to alone. Then another user (``nobody``,
when the suite runs as root) tries to plant and replace files, and a run under ``umask 000``
must leave nothing that group or others can write.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import os
import pickle
import pwd
import random
import shutil
import stat
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import REPO, run_python

from autoaccel.cache import authentication

EXAMPLE = REPO / "examples" / "indicators" / "indicators.py"
ARGS = ("--n", "4000", "--chunk", "2000")
# One kernel (ema) is compiled, so the cache holds every kind of file (the secret, rewritten
# code, decisions, and a variant's Numba index, Numba data and outcome), one of each: each
# run costs a second of CPU, mostly importing Numba, and every file is damaged 9 ways.
# min_seconds 0: ema's calls at this size add up to less than the default's Python time.
_OTHERS = ("crossover_backtest", "rolling_mean_std", "kama", "bollinger_zscore", "rsi")
CONFIG = 'modules = ["__main__"]\nmin_calls = 10\nmin_gain = 1.2\nmin_seconds = 0.0\n' + "".join(
    f'[functions."__main__.{name}"]\nenabled = false\n'
    for name in (*_OTHERS, "_efficiency_ratio", "_rsi_value")
)
RUN_SECONDS = 120  # a run that takes longer hangs (a FIFO read, a lock)


class Planted:
    """Unpickling it creates the file ``marker``: proof that a planted pickle was loaded."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return exec, (f"open({str(self.marker)!r}, 'w').close()",)


def _flip(in_tag: bool) -> Callable[[Path, Path], None]:
    """Flip one bit: in the authentication tag (the first 32 bytes), or at a random offset."""

    def damage(path: Path, scratch: Path) -> None:
        data = bytearray(path.read_bytes()) or bytearray(1)  # a lock file is empty
        rng = random.Random(f"{path.name}{in_tag}")
        offset = rng.randrange(min(32, len(data)) if in_tag else len(data))
        data[offset] ^= 1 << rng.randrange(8)
        path.write_bytes(bytes(data))

    return damage


def _replace_with(make: Callable[[Path, Path], None]) -> Callable[[Path, Path], None]:
    def damage(path: Path, scratch: Path) -> None:
        path.unlink()
        make(path, scratch)

    return damage


def _link_to_copy(path: Path, scratch: Path) -> None:
    outside = scratch / "outside"
    outside.write_bytes(path.read_bytes())  # authentic bytes, but not in the cache
    path.unlink()
    path.symlink_to(outside)


DAMAGES: dict[str, Callable[[Path, Path], None]] = {
    "truncated": lambda path, _: path.write_bytes(path.read_bytes()[: path.stat().st_size // 2]),
    "random bytes": lambda path, _: path.write_bytes(
        random.Random(path.name).randbytes(max(path.stat().st_size, 64))
    ),
    "bit flipped in the tag": _flip(in_tag=True),
    "bit flipped anywhere": _flip(in_tag=False),
    "FIFO": _replace_with(lambda path, _: os.mkfifo(path, 0o600)),
    "directory": _replace_with(lambda path, _: path.mkdir(mode=0o700)),
    "link to /dev/zero": _replace_with(lambda path, _: path.symlink_to("/dev/zero")),
    "link to a copy outside": _link_to_copy,
    "planted pickle": lambda path, scratch: path.write_bytes(
        pickle.dumps(Planted(scratch / "marker"))
    ),
}


def _run(workdir: Path, cache: Path, **options) -> subprocess.CompletedProcess:
    return run_python(
        "-m",
        "autoaccel",
        "--config",
        str(workdir / "python_optimizer.toml"),
        str(EXAMPLE),
        *ARGS,
        env={"AUTOACCEL_CACHE_DIR": str(cache)},
        timeout=RUN_SECONDS,
        **options,
    )


@pytest.fixture(scope="module")
def filled(tmp_path_factory):
    """``(workdir, plain output, cache)``: the example run once to fill ``cache``."""
    workdir = tmp_path_factory.mktemp("faults")
    (workdir / "python_optimizer.toml").write_text(CONFIG)
    plain = run_python(str(EXAMPLE), *ARGS, timeout=RUN_SECONDS)
    assert plain.returncode == 0, plain.stderr
    cache = workdir / "cache"
    first = _run(workdir, cache)
    assert first.returncode == 0 and first.stdout == plain.stdout, first.stderr
    return workdir, plain.stdout, cache


def _files(cache: Path) -> list[str]:
    return sorted(str(p.relative_to(cache)) for p in cache.rglob("*") if p.is_file())


def _problems(workdir: Path, plain: str, cache: Path, relative: str, damage: str) -> list[str]:
    """Damage one file of a copy of ``cache`` and run twice; what went wrong, if anything."""
    scratch = workdir / "cases" / f"{relative.replace('/', '_')}-{damage.replace(' ', '_')}"
    copy = scratch / "cache"
    shutil.copytree(cache, copy, symlinks=True)
    DAMAGES[damage](copy / relative, scratch)
    outside = (scratch / "outside").read_bytes() if damage == "link to a copy outside" else None
    problems = []
    for attempt in (1, 2):
        try:
            result = _run(workdir, copy)
        except subprocess.TimeoutExpired:
            problems.append(f"run {attempt} did not finish in {RUN_SECONDS} s")
            continue
        if result.returncode != 0 or result.stdout != plain or "Traceback" in result.stderr:
            problems.append(f"run {attempt}: exit {result.returncode}, {result.stderr[-800:]}")
    if (scratch / "marker").exists():
        problems.append("the planted pickle was unpickled")
    if outside is not None and (scratch / "outside").read_bytes() != outside:
        problems.append("the file the link points to was changed")
    shutil.rmtree(scratch, ignore_errors=True)
    return [f"{relative}, {damage}: {problem}" for problem in problems]


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="POSIX FIFOs and links")
def test_every_file_damaged_every_way_changes_nothing_but_speed(filled):
    workdir, plain, cache = filled
    files = _files(cache)
    assert {Path(f).parts[0] for f in files} == {"code", "decisions", "secret", "variants"}
    # .lock: the cross-process compile locks (autoaccel.cache.locks), damaged like the rest.
    suffixes = {Path(f).suffix for f in files if f.startswith("variants")}
    assert suffixes == {".nbi", ".nbc", ".json", ".lock"}
    cases = [(relative, damage) for relative in files for damage in DAMAGES]
    with concurrent.futures.ThreadPoolExecutor(min(4, max(2, os.cpu_count() or 1))) as pool:
        found = pool.map(lambda case: _problems(workdir, plain, cache, *case), cases)
        problems = [problem for case in found for problem in case]
    assert problems == [], "\n".join(problems)


def _as_nobody(root: Path, action: Callable[[int], list[str]]) -> list[str]:
    """``action(descriptor of root)`` run by a forked child as user ``nobody``: what it did.

    The child gets a descriptor of the cache root opened before it drops its privileges,
    as if the cache lay where anyone could reach it; what it can do there is then decided
    by the cache's own permissions.
    """
    nobody = pwd.getpwnam("nobody")
    reader, writer = os.pipe()
    descriptor = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    pid = os.fork()
    if pid == 0:  # the child: drop to nobody, act, report, leave without cleanup
        try:
            os.close(reader)
            os.setgroups([])
            os.setgid(nobody.pw_gid)
            os.setuid(nobody.pw_uid)
            os.write(writer, "\n".join(action(descriptor)).encode())
        finally:
            os._exit(0)
    os.close(writer)
    os.close(descriptor)
    with os.fdopen(reader) as stream:
        done = stream.read().splitlines()
    os.waitpid(pid, 0)
    return done


def _plant(files: list[str], marker: Path) -> Callable[[int], list[str]]:
    """An attack: overwrite, then replace, each file with a planted pickle (tagged with the
    secret where it can be read), and add a data file beside each of Numba's indexes."""

    def attack(root: int) -> list[str]:
        try:
            secret = os.read(os.open(authentication.SECRET_NAME, os.O_RDONLY, dir_fd=root), 64)
        except OSError:
            secret = b"\0" * 32  # unreadable: a guess
        done = []
        for relative in [*files, *(f.replace(".nbi", ".2.nbc") for f in files if ".nbi" in f)]:
            planted = authentication.seal(secret, relative, pickle.dumps(Planted(marker)))
            folder, _, name = relative.rpartition("/")
            for how, write in (("overwrote", _overwrite), ("replaced", _replace)):
                with contextlib.suppress(OSError):
                    write(root, folder or ".", name, planted)
                    done.append(f"{how} {relative}")
        return done

    return attack


def _overwrite(root: int, folder: str, name: str, data: bytes) -> None:
    directory = os.open(folder, os.O_RDONLY | os.O_DIRECTORY, dir_fd=root)
    try:
        fd = os.open(name, os.O_WRONLY | os.O_TRUNC, dir_fd=directory)
        os.write(fd, data)
        os.close(fd)
    finally:
        os.close(directory)


def _replace(root: int, folder: str, name: str, data: bytes) -> None:
    directory = os.open(folder, os.O_RDONLY | os.O_DIRECTORY, dir_fd=root)
    try:
        fd = os.open(".planted", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666, dir_fd=directory)
        os.write(fd, data)
        os.close(fd)
        os.replace(".planted", name, src_dir_fd=directory, dst_dir_fd=directory)
    finally:
        os.close(directory)


def _loosen(cache: Path) -> None:
    """The modes an older autoaccel could leave under ``umask 000``: Numba's directories
    and files writable by all; the root still only the owner's (so it is used)."""
    for path in cache.rglob("*"):
        path.chmod(0o777 if path.is_dir() else 0o666)
    cache.chmod(0o711)


@pytest.mark.slow
@pytest.mark.skipif(
    not hasattr(os, "getuid") or os.getuid() != 0, reason="needs root to act as nobody"
)
@pytest.mark.parametrize("layout", ["as autoaccel leaves it", "loosened by an older version"])
def test_files_another_user_plants_are_never_loaded(filled, tmp_path, layout):
    workdir, plain, filled_cache = filled
    cache = tmp_path / "cache"
    shutil.copytree(filled_cache, cache, symlinks=True)
    files = _files(cache)
    if layout != "as autoaccel leaves it":
        _loosen(cache)
    marker = tmp_path / "marker"
    done = _as_nobody(cache, _plant(files, marker))
    if layout == "as autoaccel leaves it":
        assert done == [], "nobody else can write into a private cache"
    else:
        assert any(line.startswith("replaced variants/") for line in done), done
    for attempt in (1, 2):
        result = _run(workdir, cache)
        assert result.returncode == 0 and result.stdout == plain, (attempt, result.stderr)
        assert not marker.exists(), f"run {attempt} unpickled a file planted by nobody"
    foreign = [
        str(p.relative_to(cache)) for p in cache.rglob("*") if p.lstat().st_uid != os.getuid()
    ]
    assert foreign == [], "every planted file was removed or replaced"


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(os, "umask"), reason="POSIX umask")
def test_a_run_under_umask_000_leaves_nothing_others_can_write(filled, tmp_path):
    workdir, plain, _ = filled
    cache = tmp_path / "cache"
    previous = os.umask(0)
    try:
        result = _run(workdir, cache)
    finally:
        os.umask(previous)
    assert result.returncode == 0 and result.stdout == plain, result.stderr
    paths = [cache, *cache.rglob("*")]
    assert len(paths) > 8
    for path in paths:
        mode = stat.S_IMODE(path.lstat().st_mode)
        assert mode == (0o700 if path.is_dir() else 0o600), f"{path}: {mode:#o}"
