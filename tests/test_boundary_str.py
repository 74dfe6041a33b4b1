"""``str`` at the call boundary: passed to compiled code as Numba's unicode type.

Numba reads a str in place (its kind, length and data), so nothing is converted; what must
hold is that every operation compiled on it answers as CPython does, with CPython's classes
(a str predicate returns ``bool``; catalogue row 14 refuses those). Numba compiles string
operations slowly (1 to 10 s a function), so str arguments are compiled only with the
``strings`` option, which these tests set. As in the other boundary tests, the interesting
strings come after promotion.
"""

from __future__ import annotations

from boundary_helpers import failures, promoted, same_play
from test_boundary_numba_types import served, warm

from autoaccel.runtime.registry import lookup

SETTINGS = {"min_calls": 1, "min_gain": 0.0, "validation_calls": 2, "strings": True}

DISTANCE = """
def levenshtein(a, b):
    previous = list(range(len(b) + 1))
    for i in range(len(a)):
        current = [i + 1] + [0] * len(b)
        for j in range(len(b)):
            cost = 0 if a[i] == b[j] else 1
            current[j + 1] = min(previous[j + 1] + 1, current[j] + 1, previous[j] + cost)
        previous = current
    return previous[len(b)]


def common_prefix(a, b):
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return a[:n]


def codes(s):
    total = 0
    for ch in s:
        total = total * 31 + ord(ch)
    return total % 1000003
"""


def test_string_distances_compile_and_answer_as_cpython(accelerated):
    steps = [
        *warm("levenshtein", "kitten", "sitting"),
        ("levenshtein", ("", "abc")),
        ("levenshtein", ("größe", "grosse")),  # non-ASCII: another unicode kind
        ("levenshtein", ("日本語テキスト", "日本語")),
        ("levenshtein", ("🙂x", "x🙂")),
    ]
    fast = same_play(accelerated, DISTANCE, steps, **SETTINGS)
    assert promoted(fast.levenshtein) == ["(unicode_type, unicode_type)"]
    assert served(fast.levenshtein) >= 4


def test_str_results_and_ord(accelerated):
    steps = [
        *warm("common_prefix", "interval", "internal"),
        ("common_prefix", ("same", "same")),
        ("common_prefix", ("é", "e")),
        *warm("codes", "abc"),
        ("codes", ("ÿ€🙂",)),
    ]
    fast = same_play(accelerated, DISTANCE, steps, **SETTINGS)
    assert promoted(fast.common_prefix) and promoted(fast.codes)
    assert served(fast.common_prefix) >= 2 and served(fast.codes) >= 1


def test_str_predicates_stay_refused(accelerated):
    source = """
    def digits(s):
        n = 0
        for ch in s:
            if ch.isdigit():
                n += 1
        return n
    """
    steps = [*warm("digits", "a1b2"), ("digits", ("²³4",))]
    fast = same_play(accelerated, source, steps, **SETTINGS)
    assert not promoted(fast.digits)
    assert any("str.isdigit" in reason and "[14]" in reason for reason in failures(fast.digits))


def test_a_list_of_str_is_not_converted(accelerated):
    source = """
    def longest(words):
        best = 0
        for w in words:
            best = max(best, len(w))
        return best
    """
    fast = same_play(accelerated, source, warm("longest", ["a", "abc"]), **SETTINGS)
    assert not promoted(fast.longest)
    assert failures(fast.longest) == [
        "takes a list of str (lists of floats, ints, bools, lists of those and tuples are converted) [23]"
    ]


def test_str_arguments_are_refused_without_compiling_unless_the_option_allows(accelerated):
    fast = same_play(
        accelerated, DISTANCE, warm("codes", "abc"), min_calls=1, min_gain=0.0, validation_calls=2
    )
    assert not promoted(fast.codes) and lookup(fast.codes).compiled is None
    assert failures(fast.codes) == [
        "takes a str argument: compiling Numba's string operations takes 1 to 10 s a function "
        "(the strings option allows it)"
    ]
