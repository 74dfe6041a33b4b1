"""sgp4: the positions of a catalogue of satellites over four days, with the pure-Python model.

A user of sgp4 reads two-line element sets (TLEs) and propagates them to times of interest.
Here: the 33 verification TLEs that ship with sgp4 (``SGP4-VER.TLE``: near-Earth and deep-space
orbits, resonant and decaying ones), each propagated every minute over four days from its epoch,
with position, velocity and error code of every step in the digest.

sgp4 2.27 serves ``sgp4.api.Satrec`` from its C++ extension (``vallado_cpp``) when it is
available, which it is here; the driver uses ``sgp4.model.Satrec``, the package's own
pure-Python implementation of the same interface (what ``sgp4.api`` falls back to), so the
work is the SGP4/SDP4 equations as scalar float code in ``sgp4.propagation``.
"""

import importlib.resources
import math
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "_shared"))
from corpus_common import Digest, pick
from sgp4.api import WGS72
from sgp4.model import Satrec

MINUTES_PER_DAY = 1440.0


def catalogue() -> list[tuple[str, str]]:
    """The (line 1, line 2) pairs of the verification file shipped with sgp4."""
    text = importlib.resources.files("sgp4").joinpath("SGP4-VER.TLE").read_text()
    lines = [line for line in text.splitlines() if line[:2] in ("1 ", "2 ")]
    # Line 2 of this file carries the test's start, stop and step times after column 69.
    return [(one[:69], two[:69]) for one, two in zip(lines[::2], lines[1::2])]  # noqa: B905 (PyPy 3.9)


def main() -> None:
    digest = Digest()
    steps = pick(4 * 1440, 60)
    for line1, line2 in catalogue():
        satellite = Satrec.twoline2rv(line1, line2, WGS72)
        name = satellite.satnum_str.strip()
        positions, velocities, errors = [], [], []
        for minute in range(steps):
            day = minute / MINUTES_PER_DAY
            error, r, v = satellite.sgp4(satellite.jdsatepoch, satellite.jdsatepochF + day)
            errors.append(error)
            positions.append(r)
            velocities.append(v)
        digest.add(f"{name} errors", errors)
        digest.add(f"{name} r", positions)
        digest.add(f"{name} v", velocities)
        last = [x for x in positions[-1] if not math.isnan(x)]
        digest.add(f"{name} final |r|", math.sqrt(sum(x * x for x in last)))
    digest.close()


if __name__ == "__main__":
    main()
