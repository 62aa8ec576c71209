"""Bytes to text a seed can safely carry into RDF.

Real notes are UTF-8, but a hostile or damaged file may hold invalid bytes, NUL and other control
characters or (when text arrives as ``str``) lone surrogates. None of those may stop a note from
loading, and none may reach the graph: RDF/XML cannot hold C0 controls and no serialiser can
encode a lone surrogate. They become U+FFFD and each kind is reported once, with its first line.
"""

from __future__ import annotations

import re

from app.model import Diagnostic, Severity

REPLACEMENT = "\ufffd"
_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")


def _line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def decode_bytes(data: bytes, file: str) -> tuple[str, list[Diagnostic]]:
    """Decode a seed file; a leading byte-order mark is legal UTF-8 and is dropped."""
    found: list[Diagnostic] = []
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        found.append(
            Diagnostic(
                Severity.WARNING,
                "invalid-utf8",
                file,
                line,
                f"bytes that are not UTF-8 (first at byte {err.start}) were replaced by U+FFFD",
            )
        )
        text = data.decode("utf-8", errors="replace")
    clean, more = sanitize(text, file)
    return clean, found + more


LONG_LINE = 100_000


def sanitize(text: str, file: str) -> tuple[str, list[Diagnostic]]:
    """Replace characters RDF cannot carry; report the first occurrence of each kind.

    Harmless oddities (a byte-order mark, CRLF line ends, a very long line) are reported as
    info, so a note that behaves differently in an editor is explained.
    """
    found: list[Diagnostic] = []
    if text.startswith("\ufeff"):
        text = text[1:]
        found.append(
            Diagnostic(Severity.INFO, "byte-order-mark", file, 1, "byte-order mark dropped")
        )
    if "\r" in text:
        found.append(
            Diagnostic(
                Severity.INFO,
                "crlf-line-endings",
                file,
                _line_of(text, text.index("\r")),
                "CR or CRLF line endings read as LF",
            )
        )
    longest = max(text.split("\n"), key=len, default="")
    if len(longest) > LONG_LINE:
        found.append(
            Diagnostic(
                Severity.WARNING,
                "long-line",
                file,
                text.split("\n").index(longest) + 1,
                f"a line of {len(longest):,} characters; kept, but it is unlikely to be a note",
            )
        )
    first_control = first_surrogate = None
    for m in _FORBIDDEN.finditer(text):
        ch = m.group()
        if "\ud800" <= ch <= "\udfff":
            if first_surrogate is None:
                first_surrogate = m.start()
        elif first_control is None:
            first_control = m.start()
        if first_control is not None and first_surrogate is not None:
            break
    if first_control is not None:
        found.append(
            Diagnostic(
                Severity.WARNING,
                "control-character",
                file,
                _line_of(text, first_control),
                "NUL or other control characters were replaced by U+FFFD",
            )
        )
    if first_surrogate is not None:
        found.append(
            Diagnostic(
                Severity.WARNING,
                "invalid-unicode",
                file,
                _line_of(text, first_surrogate),
                "lone surrogate code points were replaced by U+FFFD",
            )
        )
    if found:
        text = _FORBIDDEN.sub(REPLACEMENT, text)
    return text, found
