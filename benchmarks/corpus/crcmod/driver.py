"""crcmod: checksums of a stream of messages with a dozen standard CRCs.

A user of crcmod makes CRC functions with ``crcmod.predefined.mkPredefinedCrcFun`` (or
``mkCrcFun`` for a custom polynomial) and runs them over data, or feeds a ``Crc`` object chunk
by chunk like a ``hashlib`` hash. Here: random packets (seeded) checked with 8-, 16-, 24-, 32-
and 64-bit CRCs, reflected and not, plus a file-sized buffer hashed incrementally.

crcmod 1.7 computes CRCs in ``crcmod._crcfunext`` (C) when that extension was built, else in
``crcmod._crcfunpy``, a byte loop over a table. The pip build here compiles the extension, so
the driver hides it (``sys.modules["crcmod._crcfunext"] = None``: its import then raises
``ImportError``) before the first import of crcmod, which takes the package's own fallback.
"""

import hashlib
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "_shared"))
sys.modules["crcmod._crcfunext"] = None  # the pure-Python path (see above)
import crcmod  # noqa: E402
import crcmod.predefined  # noqa: E402
from corpus_common import Digest, pick  # noqa: E402

NAMES = (
    "crc-8",
    "crc-8-maxim",
    "crc-16",
    "x-25",
    "xmodem",
    "crc-24",
    "crc-32",
    "crc-32c",
    "posix",
    "crc-64",
    "crc-64-jones",
)


def main() -> None:
    # crcmod's __init__ rebinds the name ``crcmod.crcmod`` to the package: ask sys.modules.
    assert not sys.modules["crcmod.crcmod"]._usingExtension, "crcmod's C extension is in use"
    rng = random.Random(99)
    digest = Digest()
    packets = [rng.randbytes(rng.randrange(16, 1500)) for _ in range(pick(2400, 200))]
    for name in NAMES:
        function = crcmod.predefined.mkPredefinedCrcFun(name)
        digest.add(name, [function(packet) for packet in packets])
    # A custom polynomial (CRC-32/Q, not predefined): the table is built in Python too.
    custom = crcmod.mkCrcFun(0x1814141AB, initCrc=0, rev=False, xorOut=0)
    digest.add("custom", [custom(packet) for packet in packets[:400]])
    # A large buffer fed in chunks, as when checking a file.
    blob = rng.randbytes(pick(4_000_000, 300_000))
    crc = crcmod.predefined.PredefinedCrc("crc-32")
    for start in range(0, len(blob), 4096):
        crc.update(blob[start : start + 4096])
    digest.add("stream crc-32", crc.hexdigest())
    digest.add("stream bytes", hashlib.sha256(blob).hexdigest())
    digest.close()


if __name__ == "__main__":
    main()
