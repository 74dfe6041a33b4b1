"""Start-up time of a Python child of an accelerated program, in ms, printed as JSON.

Each kind starts ``python child.py`` (an empty script) with ``subprocess.run`` from this
process, with the environment that ``python -m autoaccel`` passes on to its children
(:func:`autoaccel.hook.children.prepare_children`), or none:

- ``plain``: no autoaccel variables: the child runs as plain Python.
- ``hook``: the configuration does not select ``__main__``: the child imports autoaccel and
  installs the import hook.
- ``rerun``: the configuration selects ``__main__``: the child's ``sitecustomize`` re-runs it
  with ``os.execv`` as ``python -m autoaccel --child child.py``.
- ``autoaccel``: ``python -m autoaccel child.py`` started directly, what ``rerun`` becomes.

``rerun`` minus ``autoaccel`` is the cost of the re-run: one more interpreter start-up (compare
``plain``). The kinds are interleaved round by round; the median of ``--runs`` rounds is
reported, with the minimum.

    python benchmarks/child_startup.py [--runs 30]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from autoaccel.config import Config
from autoaccel.hook.children import prepare_children

REPO = Path(__file__).resolve().parent.parent


def _environments(cache: str) -> dict[str, tuple[list[str], dict[str, str]]]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("AUTOACCEL_")}
    base["AUTOACCEL_CACHE_DIR"] = cache
    base["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), base.get("PYTHONPATH")]))
    hook, rerun = dict(base), dict(base)
    prepare_children(Config(modules=("not_this_script",), cache_dir=cache), hook)
    prepare_children(Config(modules=("__main__",), cache_dir=cache), rerun)
    return {
        "plain": ([], base),
        "hook": ([], hook),
        "rerun": ([], rerun),
        "autoaccel": (["-m", "autoaccel"], base),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        script = Path(directory) / "child.py"
        script.write_text("")
        kinds = _environments(str(Path(directory) / "cache"))
        times: dict[str, list[float]] = {kind: [] for kind in kinds}
        for _ in range(options.runs):
            for kind, (prefix, env) in kinds.items():
                start = time.perf_counter()
                subprocess.run([sys.executable, *prefix, str(script)], env=env, check=True)
                times[kind].append((time.perf_counter() - start) * 1e3)
    print(
        json.dumps(
            {
                kind: {"median_ms": round(statistics.median(t), 1), "min_ms": round(min(t), 1)}
                for kind, t in times.items()
            }
            | {"runs": options.runs, "python": sys.version.split()[0]},
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
