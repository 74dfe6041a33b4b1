"""perlin-noise: a fractal terrain height map, a 1-D signal and 3-D samples of Perlin noise.

A user of perlin-noise makes ``PerlinNoise(octaves, seed)`` objects and calls them on
coordinates: here, the usual recipe for terrain, a height map summing noise layers of
doubling frequency and halving weight over a grid, plus a 1-D noise signal, a tiling
(``tile_sizes``) texture and scattered 3-D samples. Every value goes into the digest. The work
is pure-Python float code over lists and tuples of coordinates (``RandVec.dists_to``,
``fade``, ``dot``, ``hasher``) below an ``lru_cache``d method.
"""

import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "_shared"))
from corpus_common import Digest, pick
from perlin_noise import PerlinNoise


def height_map(size: int) -> list[list[float]]:
    """Fractal noise: four layers, each twice the frequency and half the weight of the last."""
    layers = [(PerlinNoise(octaves=3 * 2**k, seed=1 + k), 0.5**k) for k in range(4)]
    return [
        [sum(weight * noise([i / size, j / size]) for noise, weight in layers) for j in range(size)]
        for i in range(size)
    ]


def main() -> None:
    digest = Digest()
    terrain = height_map(pick(170, 12))
    digest.add("terrain", terrain)
    digest.add("terrain range", [min(map(min, terrain)), max(map(max, terrain))])
    signal = PerlinNoise(octaves=10, seed=5)
    digest.add("signal", [signal(t / 500) for t in range(pick(6000, 200))])
    texture = PerlinNoise(octaves=2, seed=9)
    size = pick(40, 8)
    tiles = [
        [texture([i / size, j / size], tile_sizes=[2, 2]) for j in range(size)] for i in range(size)
    ]
    digest.add("tiling texture", tiles)
    rng = random.Random(3)
    cloud = PerlinNoise(octaves=4, seed=21)
    points = [[rng.random(), rng.random(), rng.random()] for _ in range(pick(4000, 100))]
    digest.add("3d samples", [cloud(point) for point in points])
    digest.close()


if __name__ == "__main__":
    main()
