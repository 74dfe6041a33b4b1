"""Errors autoaccel raises to its users.

Acceleration failures are never raised: they are recorded as a rejection reason and the plain
function keeps running. Only bad input from the user (a broken configuration) is an error.
"""

from __future__ import annotations


class AutoaccelError(Exception):
    """Base class of every error autoaccel raises on purpose."""


class ConfigError(AutoaccelError):
    """A configuration file, key or value is invalid.

    The message names the file (or environment variable), the key and the offending value,
    and says what would be accepted.
    """


class CacheWarning(UserWarning):
    """The cache directory cannot be used (unsafe permissions, not creatable).

    The program then runs without a persistent cache; the message names the directory and
    what to do about it.
    """


class Deoptimize(Exception):
    """Raised inside compiled code when Numba's answer could differ from CPython's.

    Internal: the checked operations (:mod:`autoaccel.backends.checked_ops`) raise it, and the
    trampoline answers by running the original function on the same call. It never reaches
    the user's program.
    """


class RecursionBudget(Deoptimize):
    """Raised inside compiled code when a recursion would go deeper than its budget, and by a
    trial whose call came from too deep a stack (:mod:`autoaccel.backends.recursion`).

    Internal: the trampoline then runs the original, and the function stays plain Python
    from then on, so that CPython's recursion limit applies exactly as it would.
    """


class Rejection(Exception):
    """A variant cannot be built or used; ``str(exc)`` is the reason for the report.

    Internal: raised by the back-ends and the promotion policy, caught by the runtime, which
    records the reason and keeps running the original function. It never reaches the user.
    """


def with_article(noun: str) -> str:
    """``noun`` after the indefinite article a reader expects: "an int64", "a uint8".

    Reasons name types ("takes an Array2D argument"), so the article follows the sound of
    the name's start: a vowel letter, or "nd" ("an ndarray", read "en-dee"); "u" read as
    "you" ("uint8", "UniTuple", "unicode") takes "a".
    """
    lower = noun.lower()
    you = lower.startswith(("uni", "uint", "usa", "use"))
    vowel = (lower[:1] in "aeiou" and not you) or lower.startswith("nd")
    return f"{'an' if vowel else 'a'} {noun}"
