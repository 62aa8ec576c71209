"""``curation.toml``: a person's decisions about a study, read into :class:`~app.model.Curation`.

    [aliases]                       # typo twins become one code; both spellings are kept
    trustworty_decision = "trustworthy_decision"

    [sources.s12]                   # which record a source shows a field from
    example = "header"

    [matches]                       # the same code (exact) or a close one in another study
    mdm = { exact = "self-serve-platform/mdm" }

Entries are checked against the study when it is resolved (:mod:`app.parse.collection`); here
only the file's own shape is: every entry that cannot be read is a finding with its line, and
the rest is kept.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable

from app.model import Curation, Diagnostic, Severity

FIELDS = (
    "title",
    "url",
    "tiny url",
    "archive url",
    "source type",
    "author type",
    "example",
    "source code",
)


def read_curation(text: str, file: str) -> Curation:
    out = Curation(file)

    def find(line: int, message: str) -> None:
        out.diagnostics.append(Diagnostic(Severity.ERROR, "bad-curation", file, line, message))

    try:
        values = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        at = re.search(r"line (\d+)", str(err))
        find(int(at.group(1)) if at else 0, f"not read: {err}")
        return out
    for spelling, code in _table(values, "aliases", find).items():
        line = _line(text, spelling, "aliases")
        if isinstance(code, str) and code and code != spelling:
            out.aliases[spelling] = (code, line)
        else:
            find(line, f"alias {spelling}: give the identifier it stands for")
    for sid, fields in _table(values, "sources", find).items():
        if not isinstance(fields, dict):
            find(_line(text, sid), f"sources.{sid}: give fields and the record to show them from")
            continue
        for key, record in fields.items():
            line = _line(text, key, f"sources.{sid}")
            if key not in FIELDS or record not in ("header", "trace"):
                find(line, f"sources.{sid}.{key}: a field ({', '.join(FIELDS)}) = header or trace")
            else:
                out.picks[(sid, key)] = (record, line)
    for code, target in _table(values, "matches", find).items():
        line = _line(text, code, "matches")
        kinds = target if isinstance(target, dict) else {}
        found = [(k, v) for k, v in kinds.items() if k in ("exact", "close") and isinstance(v, str)]
        if not found or len(found) != len(kinds):
            find(line, f'matches.{code}: {{ exact = "collection/code" }} or {{ close = … }}')
            continue
        for kind, other in found:
            collection, _, other_code = other.partition("/")
            if not collection or not other_code:
                find(line, f"matches.{code}: {other!r} is not collection/code")
                continue
            out.matches.append((code, kind, collection, other_code, line))
    return out


def _table(
    values: dict[str, object], name: str, find: Callable[[int, str], None]
) -> dict[str, object]:
    table = values.get(name, {})
    if isinstance(table, dict):
        return table
    find(0, f"[{name}] must be a table")
    return {}


def _line(text: str, key: str, section: str | None = None) -> int:
    """The line where ``key = …`` is written (after the ``[section]`` header, if given), or
    where the ``[sources.key]`` header is; 0 when it cannot be told."""
    start = 0
    if section is not None:
        header = re.search(rf"^\[[ \t]*{re.escape(section)}[ \t]*\]", text, re.MULTILINE)
        start = header.end() if header else 0
    quoted = rf"""(?:{re.escape(key)}|"{re.escape(key)}"|'{re.escape(key)}')"""
    m = re.compile(rf"^[ \t]*{quoted}[ \t]*=", re.MULTILINE).search(text, start)
    m = m or re.compile(rf"^\[sources\.{quoted}\]", re.MULTILINE).search(text)
    return text.count("\n", 0, m.start()) + 1 if m else 0
