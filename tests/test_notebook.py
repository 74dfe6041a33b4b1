"""Notebooks: ``%load_ext autoaccel`` accelerates the cells run after it.

In-process with IPython's own ``InteractiveShell``, and end to end by executing a real
notebook with nbclient and an ipykernel kernel.
"""

from __future__ import annotations

import sys
import textwrap

import pytest

from autoaccel.runtime.registry import lookup, registry
from autoaccel.state import STATE

IPython = pytest.importorskip("IPython")

KERNEL_CELL = textwrap.dedent(
    """
    import numpy as np

    def energy(a, k):
        s = 0.0
        for i in range(a.shape[0]):
            s += k * a[i] * a[i]
        return s

    x = np.linspace(0.0, 1.0, 2000)
    results = [energy(x, 0.5 + j) for j in range(12)]
    """
)


@pytest.fixture
def shell(tmp_path, monkeypatch):
    """A fresh ``InteractiveShell`` in ``tmp_path``, whose config the extension discovers."""
    from IPython.core.interactiveshell import InteractiveShell

    (tmp_path / "python_optimizer.toml").write_text("min_calls = 3\nmin_gain = 0.0\n")
    monkeypatch.chdir(tmp_path)
    InteractiveShell.clear_instance()
    shell = InteractiveShell.instance()
    yield shell
    shell.run_line_magic("unload_ext", "autoaccel")
    InteractiveShell.clear_instance()


def run(shell, source: str):
    result = shell.run_cell(source)
    assert result.success, result.error_in_exec or result.error_before_exec
    return result


def test_cells_after_load_ext_are_accelerated_with_identical_results(shell, tmp_path):
    plain: dict = {}
    exec(compile(KERNEL_CELL, "<plain>", "exec"), plain)
    run(shell, "%load_ext autoaccel")
    assert STATE.notebook.config.source == tmp_path / "python_optimizer.toml"
    run(shell, KERNEL_CELL)
    assert shell.user_ns["results"] == plain["results"]
    trampoline = lookup(shell.user_ns["energy"])
    assert trampoline is not None and trampoline.name == "__main__.energy"
    assert trampoline.promotions, trampoline.failures
    report = run(shell, "%autoaccel report").result
    assert "__main__.energy" in repr(report) and "promoted" in repr(report)
    html = report._repr_html_()
    assert html.startswith('<table class="autoaccel">') and "__main__.energy" in html


def test_off_leaves_later_cells_plain_and_on_resumes(shell):
    run(shell, "%load_ext autoaccel")
    run(shell, "%autoaccel off")
    run(shell, "def plain_one(x):\n    return x + 1.0\n")
    assert lookup(shell.user_ns["plain_one"]) is None
    run(shell, "%autoaccel on")
    run(shell, "%autoaccel on")  # twice: still one hook
    run(shell, "def watched(x):\n    return x + 1.0\n")
    assert lookup(shell.user_ns["watched"]) is not None
    finders = [f for f in sys.meta_path if type(f).__name__ == "AccelFinder"]
    assert finders == [STATE.notebook.installation.finder]


def test_timeit_times_the_users_code_and_is_not_rewritten_itself(shell):
    run(shell, "%load_ext autoaccel")
    run(shell, KERNEL_CELL)
    run(shell, "%timeit -n 30 -r 1 energy(x, 1.0)")
    names = {t.name for t in registry()}
    assert "__main__.energy" in names
    assert not [name for name in names if name.startswith("__main__.inner")], names


def test_an_unknown_subcommand_shows_the_usage(shell):
    run(shell, "%load_ext autoaccel")
    result = shell.run_cell("%autoaccel sideways")
    assert not result.success
    assert "usage: %autoaccel report | on | off" in str(result.error_in_exec)


def test_unload_gives_the_shell_its_own_compiler_back(shell):
    compiler_class = type(shell.compile)
    run(shell, "%load_ext autoaccel")
    assert type(shell.compile) is not compiler_class
    run(shell, "%unload_ext autoaccel")
    assert type(shell.compile) is compiler_class and STATE.notebook is None
    run(shell, "def later(x):\n    return x\n")
    assert lookup(shell.user_ns["later"]) is None


NOTEBOOK_CELLS = [
    KERNEL_CELL,
    "print(repr(results))",
]


def _execute(cells: list[str], cwd) -> list:
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    client = nbclient.NotebookClient(
        notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(cwd)}}
    )
    client.execute()
    return [cell.outputs for cell in notebook.cells]


def _stream(outputs: list) -> str:
    return "".join(o.get("text", "") for o in outputs if o["output_type"] == "stream")


@pytest.mark.slow
def test_a_real_notebook_prints_the_same_and_shows_the_promotion(tmp_path):
    pytest.importorskip("ipykernel")
    (tmp_path / "python_optimizer.toml").write_text("min_calls = 3\nmin_gain = 0.0\n")
    plain = _execute(NOTEBOOK_CELLS, tmp_path)
    accelerated = _execute(["%load_ext autoaccel", *NOTEBOOK_CELLS, "%autoaccel report"], tmp_path)
    assert _stream(accelerated[2]) == _stream(plain[1]) != ""
    (display,) = accelerated[3]
    html = display["data"]["text/html"]
    assert "__main__.energy" in html and '<td class="promoted">promoted</td>' in html
    assert "__main__.energy" in display["data"]["text/plain"]
