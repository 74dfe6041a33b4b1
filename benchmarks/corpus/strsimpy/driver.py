"""strsimpy: spelling suggestions, ranking a vocabulary by string distance to typos.

A user of strsimpy compares strings with its distance classes. Here: a vocabulary of made-up
words (seeded syllables, so the data is the same everywhere), misspelled queries made from
them by random edits, and for each query every word scored with edit distances (Levenshtein,
normalized Levenshtein, Damerau, optimal string alignment, weighted Levenshtein), Jaro-Winkler,
LCS-based distances, n-gram, q-gram and cosine distances; the best match under each is
recorded. The work is dynamic programming over ``str`` in pure-Python loops, inside methods.
"""

import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "_shared"))
from corpus_common import Digest, pick
from strsimpy import (
    Cosine,
    Damerau,
    Levenshtein,
    LongestCommonSubsequence,
    MetricLCS,
    NGram,
    NormalizedLevenshtein,
    OptimalStringAlignment,
)
from strsimpy.jaro_winkler import JaroWinkler
from strsimpy.qgram import QGram
from strsimpy.weighted_levenshtein import WeightedLevenshtein

SYLLABLES = [
    "ka",
    "lo",
    "mi",
    "ne",
    "ru",
    "sa",
    "ti",
    "vo",
    "pre",
    "stra",
    "on",
    "el",
    "an",
    "is",
    "ber",
    "ton",
    "gu",
    "ha",
]
LETTERS = "abcdefghijklmnopqrstuvwxyz"


def vocabulary(rng: random.Random, size: int) -> list[str]:
    """``size`` distinct words of 2 to 5 syllables."""
    words: dict[str, None] = {}
    while len(words) < size:
        words["".join(rng.choice(SYLLABLES) for _ in range(rng.randrange(2, 6)))] = None
    return list(words)


def misspell(word: str, rng: random.Random) -> str:
    """``word`` with one or two random edits: a substitution, a deletion, an insertion or a swap."""
    for _ in range(rng.randrange(1, 3)):
        i = rng.randrange(len(word) - 1)
        edit = rng.randrange(4)
        if edit == 0:
            word = word[:i] + rng.choice(LETTERS) + word[i + 1 :]
        elif edit == 1:
            word = word[:i] + word[i + 1 :]
        elif edit == 2:
            word = word[:i] + rng.choice(LETTERS) + word[i:]
        else:
            word = word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    return word


def keyboard_substitution(a: str, b: str) -> float:
    """A weighted edit cost: vowels mistaken for vowels cost half."""
    return 0.5 if a in "aeiou" and b in "aeiou" else 1.0


def main() -> None:
    rng = random.Random(2024)
    digest = Digest()
    words = vocabulary(rng, pick(160, 40))
    queries = [misspell(rng.choice(words), rng) for _ in range(pick(70, 10))]
    measures = {
        "levenshtein": Levenshtein(),
        "normalized": NormalizedLevenshtein(),
        "damerau": Damerau(),
        "osa": OptimalStringAlignment(),
        "weighted": WeightedLevenshtein(substitution_cost_fn=keyboard_substitution),
        "jaro-winkler": JaroWinkler(),
        "lcs": LongestCommonSubsequence(),
        "metric-lcs": MetricLCS(),
        "bigram": NGram(2),
        "qgram": QGram(2),
        "cosine": Cosine(2),
    }
    for name, measure in measures.items():
        scores = [[measure.distance(query, word) for word in words] for query in queries]
        best = [min(range(len(words)), key=row.__getitem__) for row in scores]
        digest.add(f"{name} best", [words[index] for index in best])
        digest.add(f"{name} scores", scores)
    digest.add("queries", queries)
    digest.close()


if __name__ == "__main__":
    main()
