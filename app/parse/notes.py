"""One seed note to a :class:`~app.model.Note`: header, quotes, open codes, trace blocks.

The note is read as a sequence of located items (see :mod:`app.parse.sections`). A fence is a
trace when its context says so (an AXIAL marker, an ``added:`` line, an open-coding section or
another trace right before it), or when its content is unmistakably CodeableModels code; quoted
article code (YAML, Terraform, Airflow) after a quote is left alone. The quotes between two trace
fences are the evidence for the codes of the second one.

Caps keep one hostile note from stalling a build or flooding the graph, each reported as an error
at the line where reading stopped while the rest of the note and its collection load: lines past
:data:`MAX_NOTE_LINES` are not read; a trace fence larger than :data:`MAX_FENCE_CHARS` or
:data:`MAX_FENCE_LINES` is not read; a note stops being read once it yields
:data:`MAX_NOTE_ITEMS` items (quotes, open codes, coding blocks with their evidence links, coding
statements), which bounds the triples one note can make; past :data:`MAX_NOTE_FINDINGS` findings
the rest are counted, not listed.
"""

from __future__ import annotations

import re
from collections import Counter
from urllib.parse import urlsplit

from app.model import (
    CodingBlock,
    Diagnostic,
    FieldValue,
    Loc,
    Note,
    OpenCode,
    Quote,
    Reference,
    Severity,
    Source,
    SourceRecord,
)
from app.parse.decode import sanitize
from app.parse.sections import Item, scan
from app.parse.traces import IDENT, SourceTrace, read_trace

RECORD_KEYS = (
    "title",
    "url",
    "tiny url",
    "archive url",
    "source type",
    "author type",
    "example",
    "source code",
)
SHORT_LINK_SERVICES = {"tiny url": "tinyurl.com", "archive url": "bit.ly"}
HEADER_KEYS = (
    "url",
    "tiny url",
    "archive url",
    "title",
    "source code",
    "example",
    "source type",
    "author type",
    "references",
)
_BOOLEAN_KEYS = {"source code", "example"}
_ID_HEADING = re.compile(r"^(?P<prefix>[sp])\s*(?P<number>\d*)$", re.IGNORECASE)
_FILE_ID = re.compile(r"^(?P<prefix>[sp])_?(?P<number>\d+)$", re.IGNORECASE)
_NUMBER = re.compile(r"^\d+$")
_TRACE_CALL = re.compile(
    r"\bCClass?\s*\(|\badd_force_relations\b|\badd_decision(?:_option)?_link\b"
)
_LIST_LINE = re.compile(r"^[^:]{1,80}:\s*(?P<items>.+)$")
_TRACE_CONTEXT = {"axial", "add", "open", "open-text", "trace"}
_ID_ORDER = ("label", "variable", "header", "file")
_SLUG_ID = re.compile(r"-([sp])(\d+)/?$", re.IGNORECASE)

MAX_NOTE_LINES = 20_000
"""Lines read of one note; Markdown parsing costs time and memory per line, whatever is on it."""
MAX_FENCE_CHARS = 100_000
"""A trace fence with more characters than this is not read: parsing costs memory per token."""
MAX_FENCE_LINES = 5_000
"""A trace fence with more lines than this is not read."""
MAX_NOTE_ITEMS = 20_000
"""Items one note may yield; a coding block counts one plus one per evidence quote it cites."""
MAX_NOTE_FINDINGS = 1_000
"""Findings listed for one note: errors first, then the earliest; the rest are counted in one."""
_TEMPLATE_KEEPS = {
    "invalid-utf8",
    "control-character",
    "invalid-unicode",
    "note-too-long",
    "fence-too-large",
    "too-many-statements",
    "too-many-items",
}
_SEVERITY_ORDER = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}


def read_note(text: str, *, file: str, name: str, collection: str) -> Note:
    """Read a note from text; never raises for bad content, it reports instead."""
    lines = text.split("\n", MAX_NOTE_LINES)
    cut: Diagnostic | None = None
    if len(lines) > MAX_NOTE_LINES and lines[MAX_NOTE_LINES]:
        text = "\n".join(lines[:MAX_NOTE_LINES])
        cut = Diagnostic(
            Severity.ERROR,
            "note-too-long",
            file,
            MAX_NOTE_LINES + 1,
            f"the note has more than {MAX_NOTE_LINES:,} lines; the lines from here on were "
            "not read",
        )
    del lines
    text, found = sanitize(text, file)
    if cut is not None:
        found.append(cut)
    return _NoteReader(text, file, name, collection, found).read()


_SPEAKER = re.compile(
    r"(?:interviewer|interviewee|moderator|expert(?: [a-z0-9]{1,3})?|participant(?: \w{1,3})?)",
    re.IGNORECASE,
)


_SOURCE_KEY = re.compile(r"[sSpP]_?[0-9]+")
_EXPERT = re.compile(r"expert [a-z0-9]{1,3}\b", re.IGNORECASE)


def speaker_label(text: str) -> str | None:
    """The speaker a quote names when it is only a speaker label ("Interviewer", "Expert B:"),
    normalised (one space, no colon); None for a quote with content."""
    label = " ".join(text.replace("*", "").split()).rstrip(":").strip()
    return label if _SPEAKER.fullmatch(label) else None


class _NoteReader:
    def __init__(
        self, text: str, file: str, name: str, collection: str, found: list[Diagnostic]
    ) -> None:
        self.items = scan(text)
        self.note = Note(
            file=file,
            name=name,
            collection=collection,
            source=None,
            diagnostics=list(found),
            line_count=text.count("\n") + (0 if text.endswith("\n") or not text else 1),
        )
        self.header_fields: dict[str, FieldValue] = {}
        self.header_prefix: str | None = None
        self.header_number: str | None = None
        self.header_line: int | None = None
        self.header_number_line: int | None = None
        self.source_trace: SourceTrace | None = None
        self.add_targets: list[tuple[str, int]] = []
        self.code_list_keys: list[tuple[str, int]] = []  # add_links({s30: […]}) keys, lines
        self.kept = 0  # items yielded so far, against MAX_NOTE_ITEMS
        self.cut = False  # the note had no room left: nothing more is read

    def diag(self, severity: Severity, code: str, line: int, message: str) -> None:
        self.note.diagnostics.append(Diagnostic(severity, code, self.note.file, line, message))

    def read(self) -> Note:
        rest = self.read_header()
        self.read_coding(rest)
        self.decide_source()
        self.speakers_and_title()
        self.lists_of_other_sources()
        self.limit_findings()
        return self.note

    def lists_of_other_sources(self) -> None:
        """``add_links({s30: […]})`` in the note of s39: the codes are the note's own (they are
        read as its references), but the key names another source, as template residue does."""
        source = self.note.source
        if source is None or self.note.is_template:
            return
        for key, line in self.code_list_keys:
            if _SOURCE_KEY.fullmatch(key) and key.replace("_", "").lower() != source.id:
                self.diag(
                    Severity.WARNING,
                    "codes-for-other-source",
                    line,
                    f"a code list keyed by {key} in the note of {source.id}; read as codes of "
                    f"{source.id}",
                )

    def speakers_and_title(self) -> None:
        """An interview's title names the expert it is with; quotes of another expert (and of
        no expert the title names) are a finding at the title."""
        note = self.note
        if note.source is None:
            return
        quoted = sorted({q.speaker for q in note.quotes if q.speaker and _EXPERT.match(q.speaker)})
        if not quoted:
            return
        for record in (note.source.header, note.source.trace):
            title = record.fields.get("title") if record is not None else None
            if title is None or not isinstance(title.value, str):
                continue
            named = [" ".join(m.split()) for m in _EXPERT.findall(title.value)]
            if named and not set(named) & set(quoted):
                self.diag(
                    Severity.WARNING,
                    "speaker-title-mismatch",
                    title.line,
                    f"the title names {', '.join(named)}, but the quotes are of "
                    f"{', '.join(quoted)}",
                )

    # --- caps ----------------------------------------------------------------------------

    def fits(self, cost: int, line: int) -> bool:
        """Take ``cost`` items from the note's room; the first item that does not fit ends it."""
        if self.kept + cost > MAX_NOTE_ITEMS:
            self.cut_at(line)
            return False
        self.kept += cost
        return True

    def cut_at(self, line: int) -> None:
        self.cut = True
        self.diag(
            Severity.ERROR,
            "too-many-items",
            line,
            f"the note yields more than {MAX_NOTE_ITEMS:,} items (quotes, open codes, coding "
            "blocks and their evidence, coding statements); nothing from this line on was read",
        )

    def limit_findings(self) -> None:
        found = self.note.diagnostics
        if len(found) <= MAX_NOTE_FINDINGS:
            return
        ranked = sorted(
            range(len(found)),
            key=lambda i: (_SEVERITY_ORDER.get(found[i].severity, 3), found[i].line, i),
        )
        keep = sorted(ranked[:MAX_NOTE_FINDINGS])
        left_out = [found[i] for i in ranked[MAX_NOTE_FINDINGS:]]
        self.note.diagnostics = [found[i] for i in keep]
        self.diag(
            Severity.ERROR,
            "too-many-findings",
            min(d.line for d in left_out),
            f"{len(left_out):,} more findings of this note are not listed "
            f"(at most {MAX_NOTE_FINDINGS:,} per note)",
        )

    # --- header --------------------------------------------------------------------------

    def read_header(self) -> int:
        """Read ``# s`` / ``## key`` / value items; return the index of the first other item."""
        items = self.items
        i = 0
        while i < len(items):
            item = items[i]
            if item.kind == "heading" and item.level == 1:
                m = _ID_HEADING.match(item.text)
                if not m or self.header_prefix is not None:
                    break
                self.header_prefix = m.group("prefix").lower()
                self.header_number = m.group("number") or None
                self.header_line = self.header_number_line = item.line
                nxt = items[i + 1] if i + 1 < len(items) else None
                if (
                    self.header_number is None
                    and nxt is not None
                    and nxt.kind == "text"
                    and _NUMBER.match(nxt.text)
                ):
                    self.header_number = nxt.text
                    self.header_number_line = nxt.line
                    i += 1
                i += 1
                continue
            if item.kind == "heading" and item.level == 2:
                key = " ".join(item.text.lower().split())
                if key not in HEADER_KEYS:
                    if self.header_line is None:
                        break
                    self.diag(Severity.INFO, "unknown-header-key", item.line, f"header key {key!r}")
                    i += 1
                    continue
                if self.header_line is None:
                    self.header_line = item.line
                nxt = items[i + 1] if i + 1 < len(items) else None
                if nxt is not None and nxt.kind == "text":
                    self.header_fields[key] = self.header_value(key, nxt)
                    i += 2
                else:
                    self.header_fields[key] = FieldValue(None, item.line)
                    i += 1
                continue
            break
        return i

    def header_value(self, key: str, item: Item) -> FieldValue:
        value = item.text.strip()
        if key not in _BOOLEAN_KEYS:
            return FieldValue(value or None, item.line)
        lowered = value.lower()
        if lowered in ("yes", "true"):
            return FieldValue(True, item.line)
        if lowered in ("no", "false"):
            return FieldValue(False, item.line)
        self.diag(Severity.WARNING, "bad-boolean", item.line, f"{key} is {value!r}, not yes or no")
        return FieldValue(value, item.line)

    # --- coding ----------------------------------------------------------------------------

    def read_coding(self, start: int) -> None:
        note = self.note
        prev: str | None = None
        evidence_from = 0  # index into note.quotes of the first quote after the last trace
        open_block: int | None = None
        speaker: str | None = None  # who speaks, once a speaker label has been quoted
        for item in self.items[start:]:
            if self.cut:
                break
            kind = item.kind
            if kind != "text" and open_block is not None:
                self.close_open(open_block)
                open_block = None
            if kind == "quote":
                if not self.fits(1, item.line):
                    break
                label = speaker_label(item.text)
                if label is not None:
                    speaker = label
                note.quotes.append(
                    Quote(
                        len(note.quotes) + 1,
                        item.text,
                        item.line,
                        item.end_line,
                        speaker,
                        label_only=label is not None,
                    )
                )
                prev = "quote"
            elif kind == "heading":
                prev = prev if item.level == 1 and item.text.lower() == "coding" else "heading"
            elif kind == "axial":
                self.marker_findings(item)
                prev = "axial"
            elif kind == "add":
                if item.target is not None:
                    self.add_targets.append((item.target, item.line))
                prev = "add"
            elif kind == "open":
                self.marker_findings(item)
                evidence = self.evidence(evidence_from)
                if not self.fits(1 + len(evidence), item.line):
                    break
                open_block = len(note.blocks)
                note.blocks.append(
                    CodingBlock(open_block, "open", item.line, item.line, evidence, item.text)
                )
                prev = "open"
            elif kind == "text":
                if open_block is not None:
                    named = _open_code_identifiers(item.text)
                    if not self.fits(1 + len(named), item.line):
                        break
                    note.open_codes.append(OpenCode(item.text, item.line))
                    for ident, strong in named:
                        note.references.append(
                            Reference(
                                ident,
                                Loc(note.file, item.line),
                                open_block,
                                "open-code",
                                weak=not strong,
                            )
                        )
                    prev = "open-text"
                else:
                    if not self.fits(1, item.line):
                        break
                    note.open_codes.append(OpenCode(item.text, item.line, loose=True))
                    self.diag(
                        Severity.WARNING,
                        "loose-text",
                        item.line,
                        "text outside quotes and coding sections; kept as a loose open code",
                    )
                    prev = "loose-text"
            elif kind == "image":
                prev = "image"
            elif kind == "fence":
                if not item.closed:
                    self.diag(
                        Severity.WARNING,
                        "unclosed-fence",
                        item.line,
                        "the fence is never closed; it runs to the end of the file",
                    )
                if self.is_trace(item, prev):
                    self.read_fence(item, evidence_from)
                    evidence_from = len(note.quotes)
                    prev = "trace"
                else:
                    prev = "article"
        if open_block is not None:
            self.close_open(open_block)

    def evidence(self, start: int) -> tuple[int, ...]:
        """The quotes since ``start`` that carry content: a speaker label evidences nothing."""
        return tuple(q.position for q in self.note.quotes[start:] if not q.label_only)

    def close_open(self, index: int) -> None:
        block = self.note.blocks[index]
        lines = [c.line for c in self.note.open_codes if c.line >= block.line]
        if lines:
            self.note.blocks[index] = CodingBlock(
                block.index, block.kind, block.line, max(lines), block.evidence, block.marker
            )

    def marker_findings(self, item: Item) -> None:
        if item.in_quote:
            self.diag(
                Severity.INFO,
                "marker-in-quote",
                item.line,
                f"{item.text} is written inside a blockquote; read as a marker, not a quote",
            )
        if item.variant:
            self.diag(Severity.INFO, "marker-variant", item.line, f"marker spelled {item.text!r}")

    def is_trace(self, item: Item, prev: str | None) -> bool:
        in_context = prev in _TRACE_CONTEXT
        looks = _TRACE_CALL.search(item.text) is not None
        if in_context and prev in ("axial", "add", "trace"):
            return True
        if in_context or looks:
            if looks:
                where = "after open coding" if in_context else f"after {prev or 'the header'}"
                self.diag(
                    Severity.WARNING,
                    "trace-without-marker",
                    item.line,
                    f"a trace fence {where} has no AXIAL marker or add line before it; "
                    "read as a trace because it holds CodeableModels calls",
                )
                return True
            return in_context
        return False

    def read_fence(self, item: Item, evidence_from: int) -> None:
        note = self.note
        lines = item.text.count("\n") + 1
        if len(item.text) > MAX_FENCE_CHARS or lines > MAX_FENCE_LINES:
            self.diag(
                Severity.ERROR,
                "fence-too-large",
                item.line,
                f"a trace fence of {len(item.text):,} characters in {lines:,} lines was not read "
                f"(at most {MAX_FENCE_CHARS:,} characters and {MAX_FENCE_LINES:,} lines)",
            )
            return
        index = len(note.blocks)
        evidence = self.evidence(evidence_from)
        room = MAX_NOTE_ITEMS - self.kept - 1 - len(evidence)  # the block and its evidence
        if room <= 0:
            self.cut_at(item.line)
            return
        reading = read_trace(item.text, item.line + 1, note.file, index, room=room)
        note.diagnostics.extend(reading.diagnostics)
        self.kept += reading.item_count
        if reading.cut_at is not None:
            self.cut_at(reading.cut_at)
        for found in reading.sources:
            if self.source_trace is None:
                self.source_trace = found
            else:
                self.diag(
                    Severity.WARNING,
                    "duplicate-source-record",
                    found.line,
                    f"a second CClass(source, …) record (first at line {self.source_trace.line})",
                )
        if reading.item_count - len(reading.sources) == 0:
            return
        self.kept += 1 + len(evidence)
        note.blocks.append(CodingBlock(index, "trace", item.line, item.end_line, evidence))
        note.definitions.extend(reading.definitions)
        note.references.extend(reading.references)
        note.relations.extend(reading.relations)
        note.options.extend(reading.options)
        note.dependencies.extend(reading.dependencies)
        note.links.extend(reading.links)
        self.code_list_keys.extend(reading.code_list_keys)

    # --- the source --------------------------------------------------------------------

    def decide_source(self) -> None:
        note = self.note
        stem = note.name.rsplit(".", 1)[0]
        fm = _FILE_ID.match(stem)
        trace = self.source_trace
        witnesses: dict[str, str | None] = {
            "file": f"{fm.group('prefix').lower()}{int(fm.group('number'))}" if fm else None,
            "header": _ident(self.header_prefix, self.header_number),
            "variable": _clean_id(trace.variable) if trace else None,
            "label": _clean_id(trace.label) if trace else None,
        }
        numbered = {k: v for k, v in witnesses.items() if v and any(ch.isdigit() for ch in v)}
        header_record = self.header_record(witnesses["header"])
        if not numbered and self.looks_like_template():
            note.is_template = True
            kept = [d for d in note.diagnostics if d.code in _TEMPLATE_KEEPS]
            note.diagnostics = kept
            self.diag(
                Severity.INFO,
                "template-skipped",
                1,
                "an empty note template (no id, url or title); skipped as a source",
            )
            note.quotes.clear()
            note.open_codes.clear()
            note.blocks.clear()
            note.definitions.clear()
            note.references.clear()
            note.relations.clear()
            note.options.clear()
            note.dependencies.clear()
            note.links.clear()
            return
        if numbered:
            votes = Counter(numbered.values())
            best = max(votes.values())
            ident = next(
                numbered[k] for k in _ID_ORDER if k in numbered and votes[numbered[k]] == best
            )
            if len(votes) > 1:
                said = ", ".join(f"{k} {v}" for k, v in numbered.items())
                odd = next((k for k in _ID_ORDER if k in numbered and numbered[k] != ident), "")
                at = {
                    "header": self.header_number_line,
                    "variable": trace.line if trace else None,
                    "label": trace.line if trace else None,
                }.get(odd)
                self.diag(
                    Severity.WARNING,
                    "id-mismatch",
                    at or self.header_line or 1,
                    f"the source id is given differently ({said}); using {ident}",
                )
        else:
            ident = stem
            self.diag(
                Severity.ERROR,
                "missing-id",
                self.header_line or 1,
                f"no source id in file name, header or trace; using the file name {stem!r}",
            )
        if trace is None:
            self.diag(
                Severity.WARNING,
                "missing-source-record",
                self.header_line or 1,
                "no CClass(source, …) trace record; header values only",
            )
        if header_record is None:
            self.diag(Severity.WARNING, "missing-header", 1, "no metadata header")
        trace_record = (
            SourceRecord("trace", trace.line, _clean_id(trace.label), trace.variable, trace.fields)
            if trace
            else None
        )
        prefix = ident[0] if ident[:1] in ("s", "p") else "s"
        note.source = Source(ident, prefix, witnesses, header_record, trace_record)
        if header_record is not None and trace_record is not None:
            self.compare_records(header_record, trace_record)
        for record in (header_record, trace_record):
            if record is not None:
                self.check_short_links(record, ident)
                self.check_missing(record)
        for target, line in self.add_targets:
            if target.lower() in ("", "s", "p"):
                self.diag(
                    Severity.WARNING,
                    "add-target-unfilled",
                    line,
                    "the template's `add codes to s:` was left unfilled",
                )
            elif _clean_id(target) != ident:
                self.diag(
                    Severity.WARNING,
                    "add-target-mismatch",
                    line,
                    f"`add codes to {target}` in the note of {ident}",
                )

    def compare_records(self, header: SourceRecord, trace: SourceRecord) -> None:
        """Report each field the header and the trace both give, but differently."""
        for key, hv in header.fields.items():
            tv = trace.fields.get(key)
            if tv is None or hv.value is None or tv.value is None or hv.value == tv.value:
                continue
            self.diag(
                Severity.WARNING,
                "header-trace-mismatch",
                hv.line,
                f"{key}: header says {_shown(hv.value)}, trace (line {tv.line}) says "
                f"{_shown(tv.value)}",
            )

    def check_missing(self, record: SourceRecord) -> None:
        """Every record should give every field; an absent or empty one is reported."""
        for key in RECORD_KEYS:
            fv = record.fields.get(key)
            if fv is None:
                self.diag(
                    Severity.WARNING,
                    "missing-value",
                    record.line,
                    f"the {record.kind} has no {key}",
                )
            elif fv.value in (None, ""):
                self.diag(
                    Severity.WARNING,
                    "missing-value",
                    fv.line,
                    f"the {record.kind}'s {key} is empty",
                )

    def check_short_links(self, record: SourceRecord, ident: str) -> None:
        """A short link's slug ends in the source id (``…-s6``); another id is a copy-paste.

        The study mints tiny urls at tinyurl.com and archive urls at bit.ly; a swap is reported.
        """
        for key, service in SHORT_LINK_SERVICES.items():
            fv = record.fields.get(key)
            if fv is None or not isinstance(fv.value, str) or not fv.value:
                continue
            host = (urlsplit(fv.value).hostname or "").removeprefix("www.")
            if host != service:
                self.diag(
                    Severity.WARNING,
                    "short-link-service",
                    fv.line,
                    f"the {record.kind} {key} {fv.value} is not a {service} link",
                )
            m = _SLUG_ID.search(fv.value)
            if m and f"{m.group(1).lower()}{int(m.group(2))}" != ident:
                self.diag(
                    Severity.WARNING,
                    "short-link-mismatch",
                    fv.line,
                    f"the {record.kind} {key} {fv.value} names {m.group(1)}{m.group(2)}, "
                    f"not {ident}",
                )

    def header_record(self, ident: str | None) -> SourceRecord | None:
        if self.header_line is None:
            return None
        return SourceRecord("header", self.header_line, ident, None, dict(self.header_fields))

    def looks_like_template(self) -> bool:
        fields = dict(self.header_fields)
        if self.source_trace is not None:
            for key, value in self.source_trace.fields.items():
                fields.setdefault(key, value)
        return not any(
            fields.get(key) is not None and fields[key].value for key in ("url", "title")
        ) and (self.source_trace is not None or self.header_line is not None)


def _shown(value: str | bool) -> str:
    if isinstance(value, bool):
        return str(value)
    return repr(value) if len(value) <= 90 else repr(value[:89] + "…")


def _ident(prefix: str | None, number: str | None) -> str | None:
    if prefix is None:
        return None
    return f"{prefix}{int(number)}" if number else prefix


def _clean_id(raw: str | None) -> str | None:
    if raw is None:
        return None
    value = raw.strip().lower().replace("_", "")
    m = re.match(r"^([sp])(\d+)$", value)
    return f"{m.group(1)}{int(m.group(2))}" if m else value or None


def _open_code_identifiers(text: str) -> list[tuple[str, bool]]:
    """Identifiers an open-code line names, each with whether it is strong (has ``_``).

    A whole-line identifier, or an inline list after a label (``Recognised options: a, b``).
    Prose never yields identifiers, even when it contains one.
    """
    if IDENT.fullmatch(text):
        return [(text, "_" in text)]
    m = _LIST_LINE.match(text)
    if m:
        parts = [p.strip() for p in m.group("items").split(",")]
        parts = [p for p in parts if p]
        if parts and all(IDENT.fullmatch(p) for p in parts):
            return [(p, "_" in p) for p in parts]
    return []
