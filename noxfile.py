"""Developer sessions: ``nox -s tests``, ``nox -s lint``, ``nox -s typecheck``, ``nox -s bench``.

``tests`` runs once per supported CPython (``nox -s tests-3.12`` runs one). nox looks for
``python3.X`` on PATH; with pyenv, make the versions visible first, for example
``PYENV_VERSION=3.11.7:3.10.13:3.12.1:3.13.0 nox -s tests``. ``.ci/pythons`` does the same
without nox.
"""

import nox

nox.options.sessions = ["tests", "lint", "typecheck"]

# The versions pyproject.toml's requires-python admits and the suite is run on.
PYTHONS = ["3.10", "3.11", "3.12", "3.13"]


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    """The test suite, as CI runs it, under each CPython in ``PYTHONS``."""
    session.install("-e", ".[test]")
    session.run("python", "-m", "pytest", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff formatting and lint checks."""
    session.install("ruff")
    session.run("ruff", "format", "--check", "autoaccel", "tests", "benchmarks", "examples")
    session.run("ruff", "check", "autoaccel", "tests", "benchmarks", "examples")


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy over the package."""
    session.install("-e", ".[dev]")
    session.run("mypy")


@nox.session
def bench(session: nox.Session) -> None:
    """The benchmark suite; writes benchmarks/results/latest.json and docs/performance.md.

    ``nox -s bench -- --quick`` (or ``--programs``, ``--modes``, ``--runs``) passes options
    to benchmarks/run.py. The PyPy column needs ``pypy3`` on PATH (not installed here).
    """
    session.install("-e", ".[bench]")
    session.run("python", "benchmarks/run.py", *session.posargs)
