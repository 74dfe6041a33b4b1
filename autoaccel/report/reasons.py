"""Reasons as a reader acts on them: what to do, and where the docs explain it.

The engine records short reasons ending in the row of docs/divergences.md they guard against
(``"builds a dict (Numba returns a typed Dict) [25]"``; docs/reasons.md has an entry per
row, under the same number). The report turns each into a
sentence with the step a user can take and a link to the row's entry, instead of a bare
``[25]``. Reasons are matched by their wording here, in one table, so the engine's layers
keep writing plain facts.
"""

from __future__ import annotations

import re

DOCS = "docs/reasons.md"
_ROW = re.compile(r" \[(\d+)\](?=$| \(|:|;)")

# What to do about a refusal, by its row of docs/divergences.md.
_ROW_ACTIONS = {
    2: "keep ints beyond int64 out of the lists the function takes",
    8: "mix NumPy scalars of one type, or Python floats, in the expression",
    11: "convert with float(...) before storing, or pass an array instead of a list",
    13: "format the results outside the function",
    14: "keep string handling outside the function",
    15: "round outside the function, or round(x) without ndigits",
    16: "call it on float64 data with an explicit loop if the exact sum matters",
    17: "write the result into a new array",
    20: "sort outside the function",
    21: "use arrays (np.unique) instead of sets",
    22: "leave hashing outside the function",
    23: "pass a NumPy array instead of a list",
    24: "pass NumPy arrays and numbers, not lists inside tuples or *args",
    25: "return arrays or tuples instead of a dict or set",
    26: "assign the variable before the loop",
    27: "pass the value as an argument, or stop reassigning it",
    29: "read **kwargs by constant name (kw['name'], kw.get('name', d)), or take ordinary arguments",
    30: "write the recursion as a loop, or keep it direct and shallow",
    31: "return an array instead of yielding",
    33: "move the try/except to the caller",
    34: "draw the random numbers outside and pass them in as an array",
}
# Reasons that cite no row: (pattern, what to do).
_ACTIONS = (
    (r"a Python function outside the accelerated modules", "add its module to `modules`"),
    (r"is below min_gain", "nothing: the original is as fast at these sizes"),
    (
        r"too short for any compiled variant",
        "nothing: a hot caller that can be compiled gets it inlined",
    ),
    (r"runs ran no iteration", "nothing: the loop runs as written"),
    (r"given up \(compile_budget\)", "raise compile_budget (0: no limit) if it is worth it"),
    (r"Numba cannot compile it", "run with -v to see Numba's whole error"),
    (r"which Numba cannot use exactly", "pass NumPy arrays and numbers"),
    (
        r"object, (whose class defines|which is not|which has the metaclass|which derives)",
        "objects convert when their class keeps Python's own attribute access "
        "(docs/boundary.md, Objects)",
    ),
    (
        r"\(not converted\)|is not an attribute of the object",
        "read it before the hot code and pass it as an argument, or hold numbers, arrays or "
        "lists in the attribute",
    ),
    (r"which Numba cannot freeze", "pass the value as an argument"),
    (
        r"on its class \(not frozen\)",
        "a class read as a namespace freezes numbers, strings, tuples, read-only arrays and "
        "plain or static functions of the selected modules",
    ),
    (r"defines a nested function or lambda", "move the inner function to module level"),
    (r"defines a closure", "move the inner function to module level"),
    (r"^prints", "print outside the function"),
    (r"assigns a module global", "return the value and assign it in the caller"),
    (r"internal error", "please report it, with the function"),
)


def readable(reason: str) -> str:
    """``reason`` with the next step and a link to its row: "...; what to do: ... (see ...)".

    Args:
        reason: a reason as the engine recorded it (a signature prefix is kept).
    """
    row = _ROW.search(reason)
    plain = _ROW.sub("", reason)
    action = _ROW_ACTIONS.get(int(row.group(1))) if row else None
    if action is None:
        body = plain.split(": ", 1)[1] if plain.startswith("(") else plain
        action = next((act for pattern, act in _ACTIONS if re.search(pattern, body)), None)
    text = plain if action is None else f"{plain}; what to do: {action}"
    return f"{text} (see {DOCS}#row-{row.group(1)})" if row else text
