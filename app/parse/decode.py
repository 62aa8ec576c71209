"""Bytes to text a seed can safely carry into RDF.

Real notes are UTF-8, but a hostile or damaged file may hold invalid bytes, NUL and other control
characters or (when text arrives as ``str``) lone surrogates. None of those may stop a note from
loading, and none may reach the graph: RDF/XML cannot hold C0 controls and no serialiser can
encode a lone surrogate. They become U+FFFD and each kind is reported once, with its first line.

Clean file text is not enough: a trace string's escapes (``"\\ud800"``, ``"\\x00"``), a TOML
value's escapes and a file name made of undecodable bytes bring the same characters back. Those
entries clean their text with :func:`app.model.clean_text` and :func:`app.model.clean_name` and
report with the same codes.
"""

from __future__ import annotations

from app.model import (
    CONTROL,
    SURROGATE,
    Diagnostic,
    Severity,
    first_unsafe,
    replace_unsafe,
    replaced,
)


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
    first_control, first_surrogate = first_unsafe(text)
    if first_control is not None:
        found.append(replaced(CONTROL, file, _line_of(text, first_control)))
    if first_surrogate is not None:
        found.append(replaced(SURROGATE, file, _line_of(text, first_surrogate)))
    if found:
        text = replace_unsafe(text)
    return text, found
