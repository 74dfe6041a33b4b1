"""munkres: optimal assignments (the Hungarian algorithm) for batches of cost matrices.

A user of munkres hands ``Munkres().compute`` a cost matrix (a list of lists) and gets the
assignment of rows to columns with the least total cost. Here, seeded problems of several
kinds: square integer costs (workers to jobs), rectangular float costs (tracks to detections
by distance, padded by munkres), profits turned into costs with ``make_cost_matrix``, and
matrices with ``DISALLOWED`` pairs. The work is the six steps of the algorithm as methods over
``self``, looping over lists of lists of ints and floats.
"""

import math
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "_shared"))
from corpus_common import Digest, pick
from munkres import DISALLOWED, Munkres, make_cost_matrix


def total(matrix, assignment) -> float:
    """The cost of ``assignment`` in ``matrix``."""
    return sum(matrix[row][column] for row, column in assignment)


def main() -> None:
    rng = random.Random(17)
    digest = Digest()
    solver = Munkres()
    size = pick(90, 14)
    for index in range(pick(8, 2)):
        # Workers to jobs: integer costs with structure (some workers are better at all jobs).
        skill = [rng.randrange(1, 10) for _ in range(size)]
        costs = [[skill[i] * rng.randrange(1, 100) for _ in range(size)] for i in range(size)]
        assignment = solver.compute(costs)
        digest.add(f"jobs {index}", [assignment, total(costs, assignment)])
        # Tracks to detections: distances between points, more detections than tracks.
        tracks = [(rng.random() * 100, rng.random() * 100) for _ in range(size // 2)]
        detections = [(x + rng.gauss(0, 3), y + rng.gauss(0, 3)) for x, y in tracks]
        detections += [(rng.random() * 100, rng.random() * 100) for _ in range(size // 4)]
        rng.shuffle(detections)
        distances = [[math.dist(t, d) for d in detections] for t in tracks]
        assignment = solver.compute(distances)
        digest.add(f"tracks {index}", [assignment, total(distances, assignment)])
        # Profits to maximise: munkres' own conversion to costs.
        profits = [[rng.randrange(0, 500) for _ in range(size)] for _ in range(size)]
        assignment = solver.compute(make_cost_matrix(profits))
        digest.add(f"profits {index}", [assignment, total(profits, assignment)])
        # Some pairs are not allowed at all.
        allowed = [
            [
                DISALLOWED if rng.random() < 0.3 and i != j else rng.randrange(1, 50)
                for j in range(size)
            ]
            for i in range(size)
        ]
        assignment = solver.compute(allowed)
        digest.add(f"disallowed {index}", [assignment, total(allowed, assignment)])
    digest.close()


if __name__ == "__main__":
    main()
