"""reedsolo: protect messages with Reed–Solomon codes, damage them, repair them.

A user of reedsolo encodes byte messages with ``RSCodec``, sends them over a noisy channel and
decodes what arrives: here random messages (seeded) in 255-byte blocks with 32 parity bytes,
corrupted by random byte errors, and by errors plus known erasures, then decoded and checked.
The work is Galois-field arithmetic over ``bytearray`` in pure-Python loops (``gf_poly_*``,
``rs_*``). reedsolo 1.7.0 is one module; a compiled ``creedsolo`` exists but is a separate
module that the wheel does not build, so ``reedsolo`` is pure Python.
"""

import hashlib
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "_shared"))
import reedsolo
from corpus_common import Digest, pick

NSYM = 32  # parity bytes per block: corrects 16 errors, or 32 erasures


def corrupt(data: bytearray, count: int, rng: random.Random) -> tuple[bytearray, list[int]]:
    """A copy of ``data`` with ``count`` bytes changed at random positions, and the positions."""
    damaged = bytearray(data)
    positions = rng.sample(range(len(damaged)), count)
    for position in positions:
        damaged[position] ^= rng.randrange(1, 256)
    return damaged, sorted(positions)


def main() -> None:
    rng = random.Random(1234)
    digest = Digest()
    codec = reedsolo.RSCodec(NSYM)
    messages = pick(100, 10)
    encoded_hash = hashlib.sha256()
    repaired = 0
    for index in range(messages):
        message = bytearray(rng.randrange(256) for _ in range(rng.randrange(200, 700)))
        encoded = codec.encode(message)
        encoded_hash.update(encoded)
        blocks = -(-len(encoded) // 255)
        # At most 8 errors land in any block, well within the 16 that 32 parity bytes fix.
        damaged, _ = corrupt(encoded, rng.randrange(1, 9) * blocks, rng)
        decoded, full, errata = codec.decode(damaged)
        repaired += decoded == message and full == encoded
        digest.add(f"errors {index}", list(errata))
        # Errors and erasures together: known-bad positions cost half as much as errors.
        damaged, positions = corrupt(encoded, 12, rng)
        erased = positions[:8]
        decoded, full, errata = codec.decode(damaged, erase_pos=erased)
        repaired += decoded == message and full == encoded
        digest.add(f"erasures {index}", list(errata))
        digest.add(f"check {index}", codec.check(full))
    digest.add("encoded", encoded_hash.hexdigest())
    digest.add("repaired", repaired)
    # The tables a user may also call directly: syndromes of a damaged block.
    damaged, _ = corrupt(codec.encode(bytearray(range(200))), 5, rng)
    digest.add("syndromes", reedsolo.rs_calc_syndromes(damaged, NSYM))
    digest.close()


if __name__ == "__main__":
    main()
