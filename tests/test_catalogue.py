"""docs/divergences.md: its rows have stable anchors, and every citation of a row resolves.

Reasons end with the row they guard against in brackets (``[27]``); comments and docstrings
cite ``docs/divergences.md, row 27``. Both are read from the tokens of every module of
``autoaccel/`` (strings and comments, so an index such as ``args[0]`` in code is not taken
for a citation).
"""

from __future__ import annotations

import io
import re
import tokenize
from pathlib import Path

from conftest import REPO

CATALOGUE = REPO / "docs" / "divergences.md"
_ROW = re.compile(r'^\| <a id="row-(\d+)"></a>(\d+) \|', re.MULTILINE)
_TAG = re.compile(r"(?:^|\s)\[(\d+)\]")
_CITATION = re.compile(r"docs/divergences\.md,\s+rows?\s+(\d+)(?:\s+and\s+(\d+))?")
_ANY_ROW = re.compile(r"\brows?\s+\d+")
_TEXT_TOKENS = {tokenize.STRING, tokenize.COMMENT} | {
    getattr(tokenize, "FSTRING_MIDDLE", tokenize.STRING)
}


def catalogue_rows() -> set[int]:
    """The rows of the catalogue, checked to carry an anchor of their own number."""
    found = _ROW.findall(CATALOGUE.read_text())
    assert all(anchor == number for anchor, number in found), found
    return {int(number) for _, number in found}


def texts(path: Path) -> list[tuple[int, str]]:
    """``(line, text)`` of every string and comment token of a module."""
    tokens = tokenize.generate_tokens(io.StringIO(path.read_text()).readline)
    return [(token.start[0], token.string) for token in tokens if token.type in _TEXT_TOKENS]


def citations() -> list[tuple[str, int]]:
    """``(where, row)`` for every row cited in ``autoaccel/``, by tag or by reference."""
    cited = []
    for path in sorted((REPO / "autoaccel").rglob("*.py")):
        for line, text in texts(path):
            where = f"{path.relative_to(REPO)}:{line}"
            rows = _TAG.findall(text)
            rows += [n for pair in _CITATION.findall(text) for n in pair if n]
            cited += [(where, int(row)) for row in rows]
    return cited


def test_every_row_has_its_anchor_and_the_catalogue_is_complete():
    assert catalogue_rows() == set(range(1, 38))


def test_every_row_cited_in_the_package_exists():
    rows = catalogue_rows()
    cited = citations()
    assert len(cited) > 50  # the reasons and comments were found at all
    missing = [f"{where}: row {row}" for where, row in cited if row not in rows]
    assert not missing, "rows not in docs/divergences.md:\n" + "\n".join(missing)


def test_rows_are_cited_only_by_the_catalogue_path():
    loose = []
    for path in sorted((REPO / "autoaccel").rglob("*.py")):
        for line, text in texts(path):
            bare = _ANY_ROW.findall(_CITATION.sub("", text))
            if bare or "numba-divergences" in text or "catalogue row" in text:
                loose.append(f"{path.relative_to(REPO)}:{line}: {text.strip()[:80]}")
    assert not loose, "cite rows as 'docs/divergences.md, row N':\n" + "\n".join(loose)


def test_a_missing_row_would_be_found():
    text = 'def f():\n    return "calls hash() [99]"  # docs/divergences.md, row 98\n'
    tokens = tokenize.generate_tokens(io.StringIO(text).readline)
    strings = [t.string for t in tokens if t.type in _TEXT_TOKENS]
    assert _TAG.findall(strings[0]) == ["99"]
    assert _CITATION.findall(strings[1]) == [("98", "")]
    assert _TAG.findall("``args[0]`` of f(a[1])") == []
