"""Every defect class of ``shared/design/seed-format.md`` against the reader's real behaviour.

Each test reads a small fixture note of its own (``tests/fixtures/notes/``) and asserts the
values, lines and diagnostic codes the reader must give for that defect. Test names start with
the section number of seed-format.md (``test_3_2_…`` covers section 3, item 2); ``test_x_…`` tests
cover findings the reader makes for variants the document does not list.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from app.config import Settings
from app.model import (
    CodeKind,
    Collection,
    Diagnostic,
    Impact,
    Note,
    Severity,
    Source,
    SourceRecord,
)
from app.parse import read_note, resolve
from app.parse.decode import decode_bytes
from app.pipeline import build, check, read, read_file
from app.seeds import SeedFile

NOTES = Path(__file__).parent / "fixtures" / "notes"


# --- helpers -------------------------------------------------------------------------------


def load(rel: str) -> Note:
    """Read one fixture note; its display path is ``rel``, its name the file name."""
    path = NOTES / rel
    return read_note(
        path.read_text(encoding="utf-8"), file=rel, name=path.name, collection=path.parent.name
    )


def text_of(rel: str) -> str:
    return (NOTES / rel).read_text(encoding="utf-8")


def inline(text: str, name: str = "s_90.md") -> Note:
    return read_note(text, file=f"inline/{name}", name=name, collection="inline")


def folder(name: str, *only: str) -> Collection:
    """Resolve the notes of a fixture folder (or only the named files of it)."""
    files = only or tuple(sorted(p.name for p in (NOTES / name).iterdir()))
    return resolve(name, [load(f"{name}/{f}") for f in files])


def lines(diagnostics: list[Diagnostic], code: str) -> list[int]:
    """The sorted lines of the findings with ``code``."""
    return sorted(d.line for d in diagnostics if d.code == code)


def field(record: SourceRecord, key: str) -> tuple[str | bool | None, int]:
    return record.fields[key].value, record.fields[key].line


def source_of(note: Note) -> Source:
    assert note.source is not None, f"{note.file} has no source"
    return note.source


def header_of(note: Note) -> SourceRecord:
    header = source_of(note).header
    assert header is not None, f"{note.file} has no header record"
    return header


def trace_of(note: Note) -> SourceRecord:
    trace = source_of(note).trace
    assert trace is not None, f"{note.file} has no trace record"
    return trace


def codes(note: Note) -> set[str]:
    return {d.code for d in note.diagnostics}


def reported_at(diagnostics: list[Diagnostic], file: str, line: int) -> list[str]:
    """Codes of every finding at ``file:line``: a defect must be reported where it is."""
    return [d.code for d in diagnostics if d.file == file and d.line == line]


def definitions(note: Note) -> list[tuple[str, CodeKind, str, int]]:
    return [(d.ident, d.kind, d.label, d.at.line) for d in note.definitions]


def references(note: Note, via: str | None = None) -> list[tuple[str, int]]:
    return [(r.ident, r.at.line) for r in note.references if via in (None, r.via)]


def relations(note: Note) -> list[tuple[str, str, Impact | None, int]]:
    return [(r.solution, r.force, r.impact, r.at.line) for r in note.relations]


# --- 1. File and markdown level ------------------------------------------------------------


def test_1_1_empty_template_is_skipped_as_source():
    # 1.1 the empty template s_.md: no id, url or title; skipped, not a crash
    note = load("platform/s_.md")
    assert note.is_template
    assert note.source is None
    assert [(d.code, d.line) for d in note.diagnostics] == [("template-skipped", 1)]
    assert note.definitions == note.references == note.quotes == []


def test_1_1_template_adds_no_source_and_no_codes_to_its_collection():
    # 1.1 the template's add_links trailer and bibliographic record do not leak into the study
    coll = folder("platform")
    assert [src.id for _, src in coll.sources] == ["s1", "s2", "s3"]
    assert not [c for c in coll.codes if c.startswith("api_")]
    assert not [d for d in coll.all_diagnostics() if d.file == "platform/s_.md" and d.line > 1]


def test_1_1_template_read_from_disk_through_the_pipeline():
    # 1.1 reading the folder holding the template (bytes -> decode -> note) keeps going
    corpus = read([NOTES / "platform"])
    [coll] = corpus.collections
    assert coll.name == "platform"
    assert sorted(n.name for n in coll.notes) == ["s_.md", "s_1.md", "s_2.md", "s_3.md"]
    template = next(n for n in coll.notes if n.name == "s_.md")
    assert template.is_template
    assert len(coll.sources) == 3


def test_1_2_no_final_newline():
    # 1.2 the last line of the file has no newline
    rel = "markdown/no_final_newline.md"
    assert not text_of(rel).endswith("\n")
    note = load(rel)
    assert note.line_count == 43
    assert definitions(note) == [("shared_catalogue", CodeKind.PATTERN, "Shared Catalogue", 41)]
    assert references(note) == [("discoverability", 42)]
    assert note.blocks[-1].end_line == 43
    assert "unclosed-fence" not in codes(note)


def test_1_2_no_final_newline_after_an_open_code():
    # 1.2 an open-code line that ends the file without a newline is still read
    note = inline("**OPEN CODING TRACE:**\n\nlast_open_code")
    assert [(c.text, c.line) for c in note.open_codes] == [("last_open_code", 3)]
    assert references(note, "open-code") == [("last_open_code", 3)]


@pytest.mark.parametrize(
    ("rel", "ident", "prefix"),
    [
        ("markdown/split_id_trailing_blanks.md", "s28", "s"),
        ("markdown/interview_split_id.md", "p3", "p"),
    ],
)
def test_1_3_id_split_over_two_lines(rel, ident, prefix):
    # 1.3 `# s ` / `# p` with the number on its own line (`28  ` with trailing blanks)
    note = load(rel)
    src = source_of(note)
    assert (src.id, src.prefix) == (ident, prefix)
    assert header_of(note).ident == ident
    assert src.id_witnesses["header"] == ident
    assert "id-mismatch" not in codes(note)


def test_1_3_trailing_blanks_on_header_keys_and_values():
    # 1.3 `## source type `, `## example `, `no      `, a title with a trailing space
    note = load("markdown/split_id_trailing_blanks.md")
    fields = {k: (v.value, v.line) for k, v in header_of(note).fields.items()}
    assert fields["title"] == ("Domain teams own their pipelines", 10)
    assert fields["source code"] == (False, 12)
    assert fields["example"] == (True, 14)
    assert fields["source type"] == ("Blog Post", 16)
    assert fields["author type"] == ("Academic", 18)
    assert fields["references"] == (None, 19)
    assert note.diagnostics == []


def test_1_4_coding_heading_twice():
    # 1.4 `# coding` written twice: the quotes on both sides are evidence of the trace
    note = load("markdown/coding_heading_twice.md")
    assert [q.line for q in note.quotes] == [36, 40]
    [block] = note.blocks
    assert (block.kind, block.line, block.evidence) == ("trace", 44, (1, 2))
    assert definitions(note) == [
        ("product_templates", CodeKind.PRACTICE, "Data Product Templates", 45)
    ]
    assert note.diagnostics == []


def test_1_4_coding_heading_missing():
    # 1.4 no `# coding` at all: it is no required delimiter
    note = load("markdown/coding_heading_missing.md")
    assert [q.line for q in note.quotes] == [34]
    assert definitions(note) == [
        ("storage_per_product", CodeKind.PRACTICE, "Storage per Data Product", 39)
    ]
    assert note.blocks[0].evidence == (1,)
    assert note.diagnostics == []


def test_1_5_axial_marker_with_colon_outside_the_bold():
    # 1.5 `**AXIAL CODING TRACE**: source and references` before the source block
    note = load("markdown/marker_variants.md")
    assert (
        text_of("markdown/marker_variants.md")
        .split("\n")[20]
        .startswith("**AXIAL CODING TRACE**: source")
    )
    assert trace_of(note).line == 23
    assert trace_of(note).fields["title"].value == "Marker spellings"
    assert codes(note).isdisjoint({"missing-source-record", "trace-without-marker"})


def test_1_5_marker_spelling_variants():
    # 1.5 `**OPEN CODING:**`, `**AXIAL CODING:**` and a marker with trailing blanks
    note = load("markdown/marker_variants.md")
    assert [(b.kind, b.line, b.marker) for b in note.blocks] == [
        ("open", 38, "**OPEN CODING:**"),
        ("trace", 43, None),
        ("open", 49, "**OPEN CODING TRACE:**"),
        ("trace", 55, None),
    ]
    assert [(c.text, c.line) for c in note.open_codes] == [
        ("policy_as_code", 40),
        ("access_reviews", 51),
    ]
    assert [(d.ident, d.at.line) for d in note.definitions] == [
        ("policy_as_code", 44),
        ("access_reviews", 56),
    ]
    assert lines(note.diagnostics, "marker-variant") == [38, 42]


def test_1_5_marker_inside_a_blockquote():
    # 1.5 `> **OPEN CODING TRACE:**` is a marker, not a quote (blank line or lazy text after it)
    note = load("markdown/marker_in_quote.md")
    assert [(q.line, q.text) for q in note.quotes] == [
        (36, "Consumers reach the data only through ports."),
        (43, "Ports are versioned."),
    ]
    assert [(b.kind, b.line) for b in note.blocks] == [("open", 38), ("open", 45), ("trace", 50)]
    assert [(c.text, c.line) for c in note.open_codes] == [
        ("input_ports", 40),
        ("output ports", 41),
        ("port_versioning", 46),
    ]
    assert references(note) == [("input_ports", 40), ("port_versioning", 46)]
    assert lines(note.diagnostics, "marker-in-quote") == [38, 45]


@pytest.mark.parametrize(
    ("add_line", "ident", "fence"),
    [
        ("added:", "first_code", 39),
        ("add codes to s41:", "second_code", 44),
        ("Add codes to s41:", "third_code", 49),
        ("add:", "fourth_code", 54),
        ("add", "fifth_code", 59),
        ("add codes to s: ", "sixth_code", 64),
    ],
)
def test_1_6_add_line_variants_mark_a_trace_fence(add_line, ident, fence):
    # 1.6 every spelling of the add line makes the next fence a trace (no AXIAL marker here)
    rel = "markdown/add_line_variants.md"
    assert text_of(rel).split("\n")[fence - 2] == add_line
    note = load(rel)
    block = next(b for b in note.blocks if b.line == fence)
    assert block.kind == "trace"
    assert [d.ident for d in note.definitions if d.block == block.index] == [ident]
    assert next(d for d in note.definitions if d.ident == ident).at.line == fence + 1
    assert "trace-without-marker" not in codes(note)


def test_1_6_unfilled_add_codes_to_s():
    # 1.6 the template's `add codes to s:` left in a real note
    note = load("markdown/add_line_variants.md")
    assert lines(note.diagnostics, "add-target-unfilled") == [63]
    assert "add-target-mismatch" not in codes(note)


@pytest.mark.parametrize(
    ("ident", "fence", "line"),
    [
        ("job_descriptors", 40, 41),  # ```python without a space
        ("job_scheduler", 46, 47),  # ``` python with blanks after the info and the closing fence
        ("job_catalogue", 52, 53),  # ````python … ````
    ],
)
def test_1_7_fence_spellings(ident, fence, line):
    # 1.7 fence openers and closers as written in real notes
    note = load("markdown/fence_variants.md")
    block = next(b for b in note.blocks if b.line == fence)
    assert block.kind == "trace"
    assert [(d.ident, d.at.line) for d in note.definitions if d.block == block.index] == [
        (ident, line)
    ]
    assert note.diagnostics == []


def test_1_7_article_code_in_python_fences_is_not_a_trace():
    # 1.7 YAML, HCL (a 4-backtick fence holding ```) and real Python quoted from the article
    note = load("markdown/article_code.md")
    assert [(b.kind, b.line, b.evidence) for b in note.blocks] == [("trace", 65, (1, 2, 3))]
    assert definitions(note) == [
        ("config_driven_jobs", CodeKind.PRACTICE, "Config-driven Jobs", 66)
    ]
    assert note.references == []
    assert [q.line for q in note.quotes] == [36, 45, 55]
    assert note.diagnostics == []


def test_1_7_unclosed_fence_runs_to_end_of_file():
    # 1.7 an unclosed fence: reported, and its content is still a trace block
    note = load("markdown/unclosed_fence.md")
    assert lines(note.diagnostics, "unclosed-fence") == [39]
    [block] = note.blocks
    assert (block.kind, block.line, block.end_line) == ("trace", 39, 43)
    assert references(note, "string-list") == [("shared_catalogue", 41), ("policy_as_code", 42)]


@pytest.mark.parametrize(
    ("position", "start", "end", "text"),
    [
        (
            1,
            36,
            38,
            "A passage that starts here\nand continues lazily on this line.\n"
            "A marker line right after the lazy line.",
        ),
        (2, 40, 40, "No space after the marker."),
        (3, 42, 43, "Line one of a passage\nline two written directly below."),
        (4, 45, 45, "Paragraph one of a passage"),
        (5, 47, 47, "Paragraph two after an empty quote line."),
        (6, 50, 50, "A passage that interrupts the text."),
    ],
)
def test_1_8_blockquote_paragraphs(position, start, end, text):
    # 1.8 lazy continuation, `>` without space, `>` after `>` or lazy lines, empty `> `,
    # a quote right after a non-blank line: quotes are blockquote paragraphs
    note = load("markdown/blockquotes.md")
    quote = note.quotes[position - 1]
    assert (quote.position, quote.line, quote.end_line, quote.text) == (position, start, end, text)


def test_1_8_blockquote_count_and_evidence():
    # 1.8 six quote paragraphs, all evidence of the trace after them
    note = load("markdown/blockquotes.md")
    assert len(note.quotes) == 6
    assert [(b.kind, b.evidence) for b in note.blocks] == [("trace", (1, 2, 3, 4, 5, 6))]
    assert "Loose text" not in " ".join(q.text for q in note.quotes)


def test_1_9_open_code_line_styles():
    # 1.9 prose, `Option: X`, `Force: X`, `Confirmation for …`, `Recognised option(s):`,
    # the template bullet and identifier-only lines are all open codes, each on its line
    note = load("markdown/open_coding.md")
    assert [(c.text, c.line) for c in note.open_codes if c.line < 56] == [
        ("Free prose about a self-serve platform.", 40),
        ("Option: Shared catalogue", 42),
        ("Force: Autonomy", 44),
        ("Confirmation for shared catalogue and autonomy", 46),
        ("Recognised option(s): shared_catalogue, policy_as_code,", 48),
        ("<ins>Option: </ins>", 50),
        ("data_contracts", 52),
        ("costs", 54),
    ]


def test_1_9_identifier_only_open_code_lines_are_references():
    # 1.9 lines with `_` always count; a single word is a weak reference; prose never counts
    note = load("markdown/open_coding.md")
    strong = [(r.ident, r.at.line) for r in note.references if not r.weak]
    weak = [(r.ident, r.at.line) for r in note.references if r.weak]
    assert strong == [
        ("shared_catalogue", 48),
        ("policy_as_code", 48),
        ("data_contracts", 52),
        ("lineage_tracking", 65),
    ]
    assert ("costs", 54) in weak
    assert {r.via for r in note.references} == {"open-code"}


def test_1_9_section_ends_at_quote_image_or_heading():
    # 1.9 a section runs to the next quote (no trace after it) or image; text after is loose:
    # kept as a loose open code and reported, but it names no codes
    note = load("markdown/open_coding.md")
    assert [(b.kind, b.line, b.end_line) for b in note.blocks] == [
        ("open", 38, 54),
        ("open", 60, 60),
        ("open", 63, 65),
    ]
    loose = {c.text for c in note.open_codes if c.loose}
    assert {"Loose text after the passage.", "text_after_the_image"} <= loose
    assert {"Loose text after the passage.", "text_after_the_image"}.isdisjoint(
        c.text for c in note.open_codes if not c.loose
    )
    assert "text_after_the_image" not in {r.ident for r in note.references}
    assert "loose-text" in {d.code for d in note.diagnostics}


def test_1_9_empty_open_coding_section():
    # 1.9 the marker followed directly by a quote: an empty section, the quote stays a quote
    note = load("markdown/open_coding.md")
    empty = next(b for b in note.blocks if b.line == 60)
    assert empty.end_line == 60
    assert not [c for c in note.open_codes if 60 <= c.line < 63]
    assert (note.quotes[2].line, note.quotes[2].text) == (
        61,
        "Passage three follows the marker directly.",
    )


def test_1_9_single_word_counts_only_when_defined():
    # 1.9 `costs` is a code (defined in s_3), `metastore` is not: no unresolved code for it
    coll = folder("platform")
    assert [(sid, r.at.line) for sid, r in coll.codes["costs"].references] == [("s2", 42)]
    assert "metastore" not in coll.codes
    assert not [d for d in coll.diagnostics if "metastore" in d.message]


def test_1_9_open_code_text_above_its_marker_is_kept_or_reported():
    # 1.9 open-code text written as loose text above its marker (dp/p_5.md:209)
    note = load("markdown/open_code_above_marker.md")
    kept = [c for c in note.open_codes if c.line == 38]
    assert kept or reported_at(note.diagnostics, note.file, 38), (
        "the loose line at :38 is neither an open code nor reported"
    )


# --- 2. Header <-> trace metadata ----------------------------------------------------------


@pytest.mark.parametrize(
    ("rel", "header", "trace"),
    [
        (
            "header/title_copied.md",
            "Self-serve platforms in practice, part 1",
            "Self-serve platforms in practice, part 2",
        ),
        (
            "header/title_interview_off_by_one.md",
            "Interview with Expert E",
            "Interview with Expert D",
        ),
    ],
)
def test_2_1_title_mismatch(rel, header, trace):
    # 2.1 a header title copied from the neighbour, an interview name off by one
    note = load(rel)
    assert field(header_of(note), "title") == (header, 10)
    assert field(trace_of(note), "title") == (trace, 24)
    assert lines(note.diagnostics, "header-trace-mismatch") == [10]
    assert source_of(note).preferred("title") == trace


def test_2_1_trace_title_empty():
    # 2.1 the trace title is "": an empty value is a missing one; the header's title is used
    note = load("header/title_trace_empty.md")
    src = source_of(note)
    assert (trace_of(note).fields["title"].value, trace_of(note).fields["title"].line) == (None, 24)
    assert src.preferred("title") == "Data contracts explained"
    assert [(d.code, d.line) for d in note.diagnostics if "title" in d.message] == [
        ("missing-value", 24)
    ]


@pytest.mark.parametrize(
    ("rel", "preferred"),
    [
        ("header/url_copied.md", "https://example.org/notes/s9-platform"),
        ("header/url_trace_is_tiny.md", "https://example.org/notes/s9-platform"),
        ("header/url_scheme_typo.md", "https://example.org/notes/s32-platform"),
        ("header/url_holds_title.md", "https://example.org/notes/s43-platform"),
        ("header/url_missing_scheme.md", "https://example.org/notes/s16-platform"),
    ],
)
def test_2_2_url_mismatch(rel, preferred):
    # 2.2 copied url, trace url = tiny url, `hhttps://`, a title in the url field, no scheme
    note = load(rel)
    assert lines(note.diagnostics, "header-trace-mismatch") == [4]
    assert source_of(note).preferred("url") == preferred
    assert header_of(note).fields["url"].line == 4
    assert trace_of(note).fields["url"].line == 25


def test_2_3_short_link_slug_names_another_source():
    # 2.3 header short links end in -s7, trace short links in -s5, in the note of s6
    note = load("header/short_link_other_source.md")
    found = sorted(
        (d.line, d.message.split(" names ")[1][:2])
        for d in note.diagnostics
        if d.code == "short-link-mismatch"
    )
    assert found == [(6, "s7"), (8, "s7"), (26, "s5"), (27, "s5")]
    assert lines(note.diagnostics, "header-trace-mismatch") == [6, 8]


def test_2_3_plaform_typo_in_short_link():
    # 2.3 `plaform` in the header's tiny url, `platform` in the trace
    note = load("header/short_link_plaform_typo.md")
    assert header_of(note).fields["tiny url"].value == "https://tinyurl.com/self-serve-plaform-s4"
    assert lines(note.diagnostics, "header-trace-mismatch") == [6]
    assert "short-link-mismatch" not in codes(note)


def test_2_3_short_link_services_swapped_values_kept():
    # 2.3 the tiny url is a bit.ly link, the archive url a tinyurl link: values as written
    note = load("header/short_link_services_swapped.md")
    src = source_of(note)
    assert src.preferred("tiny url") == "https://bit.ly/test-kit-s1"
    assert src.preferred("archive url") == "https://tinyurl.com/test-kit-s1"


def test_2_3_short_link_services_swapped_is_reported():
    # 2.3 a bit.ly tiny url (ss/s_1.md:6) and a tinyurl archive url (ss/s_2.md:8) are defects
    note = load("header/short_link_services_swapped.md")
    assert reported_at(note.diagnostics, note.file, 6), "bit.ly tiny url at :6 not reported"
    assert reported_at(note.diagnostics, note.file, 8), "tinyurl archive url at :8 not reported"


def test_2_3_trace_without_archive_url_key():
    # 2.3 the "archive url" key is missing from the trace: the header's value is used
    note = load("header/trace_without_archive_url.md")
    src = source_of(note)
    assert "archive url" not in trace_of(note).fields
    assert src.preferred("archive url") == "https://bit.ly/test-kit-s13"


def test_2_3_trace_without_archive_url_key_is_reported():
    # 2.3 the missing key (dp/s_13.md:23) is a defect of the trace record at line 23
    note = load("header/trace_without_archive_url.md")
    found = [d for d in note.diagnostics if d.line == 23 or "archive url" in d.message]
    assert found, "the missing trace key 'archive url' is not reported"


def test_2_4_empty_boolean_header_values():
    # 2.4 `## source code` / `## example` without a value: None at the key's line, trace used
    note = load("header/boolean_empty.md")
    src = source_of(note)
    fields = header_of(note).fields
    assert (fields["source code"].value, fields["source code"].line) == (None, 11)
    assert (fields["example"].value, fields["example"].line) == (None, 13)
    assert (src.preferred("source code"), src.preferred("example")) == (False, False)


def test_2_4_empty_boolean_header_values_are_reported():
    # 2.4 the empty values (keys at dp/s_5.md:11 and :13) are defects to report
    note = load("header/boolean_empty.md")
    assert reported_at(note.diagnostics, note.file, 11), "empty `source code` at :11"
    assert reported_at(note.diagnostics, note.file, 13), "empty `example` at :13"


def test_2_4_boolean_contradiction():
    # 2.4 header `no`/`yes`, trace `True`/`False`
    note = load("header/boolean_contradiction.md")
    assert [header_of(note).fields[k].value for k in ("source code", "example")] == [False, True]
    assert [trace_of(note).fields[k].value for k in ("source code", "example")] == [True, False]
    assert lines(note.diagnostics, "header-trace-mismatch") == [12, 14]


def test_2_4_boolean_that_is_not_yes_or_no():
    # 2.4 (variant) a header boolean that is neither yes nor no
    text = text_of("header/boolean_contradiction.md").replace(
        "## example\nyes", "## example\nmaybe"
    )
    note = inline(text)
    assert lines(note.diagnostics, "bad-boolean") == [14]
    assert header_of(note).fields["example"].value == "maybe"
    assert source_of(note).preferred("example") is False


@pytest.mark.parametrize(
    ("rel", "trace_type"),
    [("header/type_interview.md", "Interview"), ("header/type_slides.md", "Slides")],
)
def test_2_5_source_type_mismatch(rel, trace_type):
    # 2.5 header `Practitioner Audience Article`, trace `Interview` / `Slides`
    note = load(rel)
    assert lines(note.diagnostics, "header-trace-mismatch") == [16]
    assert source_of(note).preferred("source type") == trace_type


def test_2_5_trace_author_type_is_a_source_type():
    # 2.5 trace author type "Practitioner Audience Article": the header's author type is used
    note = load("header/author_type_is_source_type.md")
    assert trace_of(note).fields["author type"].value == "Practitioner Audience Article"
    assert lines(note.diagnostics, "header-trace-mismatch") == [18]
    assert source_of(note).preferred("author type") == "Practitioner"


def test_2_6_id_decided_from_four_witnesses():
    # 2.6 header number 33 in s_34.md, trace s34: the id is s34
    note = load("ids/s_34.md")
    assert source_of(note).id == "s34"
    assert source_of(note).id_witnesses == {
        "file": "s34",
        "header": "s33",
        "variable": "s34",
        "label": "s34",
    }
    assert [d.severity for d in note.diagnostics if d.code == "id-mismatch"] == [Severity.WARNING]


def test_2_6_id_mismatch_reported_at_the_header_number():
    # 2.6 the disagreeing number `33` is on line 2 (ss/s_34.md:2)
    note = load("ids/s_34.md")
    assert lines(note.diagnostics, "id-mismatch") == [2]


def test_2_6_header_number_does_not_collide_with_its_neighbour():
    # 2.6 s_33 and s_34 (header 33) stay two sources
    coll = folder("ids")
    assert [src.id for _, src in coll.sources] == ["s33", "s34"]
    assert "duplicate-source-id" not in {d.code for d in coll.diagnostics}


def test_2_6_same_id_in_two_files_is_reported():
    # 2.6 (variant) two files that both are s33: the second is kept under another id
    first = load("ids/s_33.md")
    second = read_note(
        text_of("ids/s_33.md"), file="other/s_33b.md", name="s_33b.md", collection="ids"
    )
    coll = resolve("ids", [first, second])
    assert sorted(src.id for _, src in coll.sources) == ["s33", "s33-s_33b"]
    assert [(d.code, d.file, d.line) for d in coll.diagnostics if d.code != "duplicate-value"] == [
        ("duplicate-source-id", "other/s_33b.md", 1)
    ]


def test_2_7_trace_value_with_embedded_newline():
    # 2.7 the trace url broken over two lines: the record is recovered, the pieces joined
    note = load("header/trace_url_broken.md")
    fields = {k: (v.value, v.line) for k, v in trace_of(note).fields.items()}
    assert fields["url"] == ("https://example.org/notes/s5-platform", 25)
    assert fields["title"] == ("A note about data platforms", 24)
    assert fields["archive url"] == ("https://bit.ly/test-kit-s5", 27)
    assert fields["example"] == (False, 31)
    assert fields["source code"] == (False, 32)
    assert lines(note.diagnostics, "broken-string") == [25]
    assert [
        (d.severity, d.line) for d in note.diagnostics if d.code == "unparseable-statement"
    ] == [(Severity.WARNING, 23)]
    assert "header-trace-mismatch" not in codes(note)


def test_2_8_same_values_in_several_documents_are_kept_per_source():
    # 2.8 s_25 and s_26 share url and title: two sources, each with its own record
    coll = folder("copies")
    assert [src.id for _, src in coll.sources] == ["s25", "s26"]
    assert {src.preferred("url") for _, src in coll.sources} == {
        "https://example.org/notes/s25-platform"
    }
    assert {src.preferred("title") for _, src in coll.sources} == {
        "Building the platform, a shared story"
    }


def test_2_8_same_url_in_several_documents_is_reported():
    # 2.8 a url copied into another source's note (ss/s_28-s_30) is a defect to report
    coll = folder("copies")
    found = [d for d in coll.all_diagnostics() if d.file == "copies/s_26.md" and d.line in (4, 25)]
    assert found, "the url of s25 copied into s_26.md is not reported"


def test_2_9_typographic_characters_compared_exactly():
    # 2.9 ’ “ ” – — in a title, a soft hyphen in a quote: kept and compared as exact Unicode
    note = load("header/typographic.md")
    title = "Data Mesh \u2014 the team\u2019s \u201cplatform\u201d \u2013 a primer"
    assert header_of(note).fields["title"].value == trace_of(note).fields["title"].value == title
    assert note.quotes[0].text == (
        "A self\u00adservice platform keeps the cost of a new product low."
    )
    assert note.diagnostics == []


def test_2_9_typographic_difference_is_a_mismatch():
    # 2.9 a straight apostrophe in the header against a curly one in the trace
    text = text_of("header/typographic.md")
    header_line = text.split("\n")[9]
    changed = text.replace(header_line, header_line.replace("\u2019", "'"), 1)
    note = inline(changed)
    assert lines(note.diagnostics, "header-trace-mismatch") == [10]


# --- 3. Python trace code --------------------------------------------------------------------


def test_3_1_uniformly_indented_blocks_are_not_defects():
    # 3.1 blocks indented by 4 and 9 spaces parse after dedent, without any finding
    note = load("trace/indented_blocks.md")
    assert definitions(note) == [
        ("separate_storage", CodeKind.PRACTICE, "Separate Storage and Compute", 41),
        ("elasticity", CodeKind.FORCE, "Elasticity", 43),
        ("cost_control", CodeKind.FORCE, "Cost Control", 52),
    ]
    assert relations(note) == [("separate_storage", "elasticity", Impact.VERY_POSITIVE, 45)]
    assert references(note) == [("separate_storage", 51)]
    assert note.diagnostics == []


def test_3_2_inconsistent_indentation_keeps_every_item():
    # 3.2 one line one space deeper than the others
    note = load("trace/inconsistent_indent.md")
    assert definitions(note) == [
        ("product_tests", CodeKind.PRACTICE, "Data Product Tests", 41),
        ("reliability", CodeKind.FORCE, "Reliability", 42),
    ]
    assert relations(note) == [("product_tests", "reliability", Impact.POSITIVE, 43)]


def test_3_2_inconsistent_indentation_is_reported():
    # 3.2 the block does not parse even after dedent (dp/p_1.md:117): a defect at line 42
    note = load("trace/inconsistent_indent.md")
    assert reported_at(note.diagnostics, note.file, 42), "the deeper line :42 is not reported"


def test_3_2_missing_brace_in_force_relations():
    # 3.2 `{x: {f: positive})` lacks a `}`; the statements after it are not swallowed
    note = load("trace/missing_brace.md")
    assert relations(note) == [
        ("lineage_tracking", "traceability", Impact.POSITIVE, 43),
        ("lineage_graph", "traceability", Impact.VERY_POSITIVE, 45),
        ("lineage_graph", "effort", Impact.NEGATIVE, 46),
    ]
    assert [(d[0], d[3]) for d in definitions(note)] == [
        ("lineage_tracking", 41),
        ("traceability", 42),
        ("lineage_graph", 44),
        ("lineage_decision", 47),
    ]
    assert [
        (d.severity, d.line) for d in note.diagnostics if d.code == "unparseable-statement"
    ] == [
        (Severity.WARNING, 43),
        (Severity.WARNING, 45),
    ]


def test_3_2_force_relations_call_written_with_brace_paren():
    # 3.2 `add_force_relations{(` … `})`
    note = load("trace/brace_paren_swapped.md")
    assert relations(note) == [
        ("http_endpoints", "reachable", Impact.POSITIVE, 43),
        ("http_endpoints", "findable", Impact.POSITIVE, 44),
    ]
    assert [(d[0], d[3]) for d in definitions(note)] == [
        ("backwards_compatibility", 41),
        ("versioned_endpoints", 47),
    ]
    assert lines(note.diagnostics, "unparseable-statement") == [43]


def test_3_2_missing_commas_between_dict_entries():
    # 3.2 entries without commas belong to the previous solution key
    note = load("trace/missing_commas.md")
    assert relations(note) == [
        ("catalogue_service", "uniform_transforms", Impact.POSITIVE, 41),
        ("catalogue_service", "duplication", Impact.NEGATIVE, 42),
        ("catalogue_service", "obscurity", Impact.NEGATIVE, 43),
    ]
    assert lines(note.diagnostics, "unparseable-statement") == [41]


def test_3_2_misspelled_cclass_closed_with_brace():
    # 3.2 `CClas(force, "…"}`: misspelled function and `}` instead of `)`
    note = load("trace/cclas_brace.md")
    assert definitions(note) == [
        ("discovery_port", CodeKind.PATTERN, "Finder Port", 41),
        ("conflicting_definitions", CodeKind.FORCE, "Clashing meanings", 42),
        ("periodic_execution", CodeKind.FORCE, "Scheduled runs", 43),
    ]
    assert lines(note.diagnostics, "misspelled-function") == [42, 43]
    assert lines(note.diagnostics, "unparseable-statement") == [42]


def test_3_2_period_instead_of_comma_in_option_link():
    # 3.2 `add_decision_option_link(dec, opt.` + newline + `"name")`
    note = load("trace/option_period.md")
    assert [(o.decision, o.option, o.name, o.at.line) for o in note.options] == [
        ("messaging_decision", "event_triggers", "Fire events to start work", 44)
    ]
    assert [d[0] for d in definitions(note)] == ["messaging_decision", "event_triggers"]
    assert lines(note.diagnostics, "unparseable-statement") == [44]


def test_3_2_identifiers_with_spaces():
    # 3.2 `in_place consumption`, `data catalog`, `runtime observability = CClass(…)`
    note = load("trace/identifiers_with_spaces.md")
    assert [(r.ident, r.raw, r.at.line) for r in note.references] == [
        ("query_engine", None, 41),
        ("in_place_consumption", "in_place consumption", 42),
        ("data_catalog", "data catalog", 43),
    ]
    assert [(d.ident, d.raw_ident, d.label, d.at.line) for d in note.definitions] == [
        ("runtime_observability", "runtime observability", "Live Monitoring", 44),
        ("self_serve_ui", None, "Self-service Console", 45),
    ]
    assert lines(note.diagnostics, "identifier-with-spaces") == [42, 43, 44]


def test_3_2_mismatched_quote_characters_in_label():
    # 3.2 `"Secure DP')` is the only definition of secure_dp: it must be kept
    note = load("trace/mismatched_quotes.md")
    assert definitions(note) == [
        ("encryption_at_rest", CodeKind.PRACTICE, "Encryption at Rest", 41),
        ("secure_dp", CodeKind.PRACTICE, "Secure DP", 42),
        ("security", CodeKind.FORCE, "Security", 43),
    ]
    assert lines(note.diagnostics, "unparseable-statement") == [42]


def test_3_2_backslash_continuation_with_stray_paren():
    # 3.2 `x = \` + `y.add_links((z, role_name=…)[0]`; 3.7 the same with a correct call
    note = load("trace/backslash_stray_paren.md")
    assert [(d.source, d.target, d.stereotype, d.role, d.at.line) for d in note.dependencies] == [
        ("register_datasets", "service_locator", "uses", "to", 44),  # the add_links line
        ("request_access", "service_locator", "uses", "to", 46),
    ]
    assert [(d[0], d[3]) for d in definitions(note)] == [
        ("service_locator", 41),
        ("register_datasets", 42),
        ("security", 47),
    ]
    assert lines(note.diagnostics, "unparseable-statement") == [45]


def test_3_2_template_residue_in_a_trace_fence():
    # 3.2 `'''` / `'''` / `# already added:` (comment at column 0 after indented lines)
    note = load("trace/template_residue.md")
    assert references(note, "string-list") == [("rest_apis", 41), ("raw_data_product", 42)]
    assert note.diagnostics == []
    assert [(b.kind, b.line) for b in note.blocks] == [("trace", 39)]


def test_3_3_identifier_lists_in_triple_quoted_strings():
    # 3.3 `add codes to sN:` lists, comma or newline separated, with a trailing comma
    note = load("trace/string_lists.md")
    assert [(r.ident, r.at.line, r.via, r.in_string) for r in note.references] == [
        ("decision_support_model", 41, "string-list", True),
        ("rest_apis", 42, "string-list", True),
        ("infrastructure_as_code", 43, "string-list", True),
        ("quality_monitoring", 52, "string-list", True),
        ("orchestration", 53, "string-list", True),
    ]
    assert note.diagnostics == []


def test_3_3_string_lists_are_evidence_of_their_quotes():
    # 3.3 each list block codes the slide quoted right before it
    note = load("trace/string_lists.md")
    assert [(b.kind, b.line, b.evidence) for b in note.blocks] == [
        ("trace", 39, (1,)),
        ("trace", 50, (2,)),
    ]


def test_3_3_string_lists_kept_when_set_aside_code_is_excluded():
    # 3.3 identifier lists are the normal way of coding (404 in dp), not code set aside (3.4)
    corpus = read([NOTES / "trace" / "string_lists.md"], Settings(include_set_aside=False))
    [note] = corpus.collections[0].notes
    assert [r.ident for r in note.references] == [
        "decision_support_model",
        "rest_apis",
        "infrastructure_as_code",
        "quality_monitoring",
        "orchestration",
    ]


def test_3_4_code_inside_strings_is_marked_in_string():
    # 3.4 CClass, add_force_relations and option links inside ''' are kept and marked
    note = load("trace/code_in_string.md")
    assert [(d.ident, d.kind, d.label, d.at.line, d.in_string) for d in note.definitions] == [
        ("quality", CodeKind.FORCE, "Data Quality", 41, True),
        ("accuracy", CodeKind.FORCE, "Data Accuracy", 42, True),
        ("quality_monitoring", CodeKind.PRACTICE, "Quality Monitoring", 51, False),
    ]
    assert [(o.decision, o.option, o.name, o.at.line, o.in_string) for o in note.options] == [
        ("monitoring_decision", "quality_monitoring", "Monitor quality continuously", 48, True)
    ]
    assert all(r.in_string for r in note.relations)


def test_3_4_broken_code_inside_strings():
    # 3.4 `add_force_relations{(` and `very positive` with a space, inside a string
    note = load("trace/code_in_string.md")
    assert [(r.solution, r.force, r.impact, r.raw_impact, r.at.line) for r in note.relations] == [
        ("quality_monitoring", "quality", Impact.NEUTRAL, "neutral", 44),
        ("quality_monitoring", "accuracy", Impact.NEUTRAL, "neutral", 45),
        ("virtualisation", "integration_speed", Impact.VERY_POSITIVE, "very positive", 47),
    ]
    assert lines(note.diagnostics, "impact-spelling") == [47]


def test_3_4_set_aside_code_can_be_included_or_excluded():
    # 3.4 a user decides: kept and marked set aside by default, dropped on request
    coll = resolve("trace", [load("trace/code_in_string.md")])
    assert coll.codes["quality"].set_aside
    assert not coll.codes["quality_monitoring"].set_aside
    assert coll.impacts[("quality_monitoring", "quality", "neutral")].set_aside
    corpus = read([NOTES / "trace" / "code_in_string.md"], Settings(include_set_aside=False))
    kept = corpus.collections[0]
    assert [c for c in kept.codes.values() if c.resolved] == [kept.codes["quality_monitoring"]]
    assert kept.impacts == {}
    assert kept.options == {}


def test_3_5_bare_references():
    # 3.5 one per line, tuples `a,` / `b,`, trailing blanks (`version_dp `)
    note = load("trace/bare_references.md")
    assert [(r.ident, r.at.line, r.via, r.raw) for r in note.references] == [
        ("strangler_fig", 41, "trace", None),
        ("master_data", 42, "trace", None),
        ("start_from_scratch", 43, "trace", None),
        ("version_dp", 49, "trace", None),
        ("query_engine", 50, "trace", None),
    ]
    assert note.diagnostics == []


def test_3_6_wrong_add_codes_target():
    # 3.6 `add codes to s15:` in the note of s16: reported; the codes stay with s16
    note = load("trace/add_target_wrong.md")
    assert lines(note.diagnostics, "add-target-mismatch") == [38]
    assert "s15" in next(d.message for d in note.diagnostics if d.code == "add-target-mismatch")
    coll = resolve("trace", [note])
    assert [(sid, r.at.line) for sid, r in coll.codes["schema_manager"].references] == [("s16", 41)]


def test_3_7_add_decision_link_read_as_option_link():
    # 3.7 `add_decision_link(dec, opt, "…")`: an option link, flagged
    note = load("trace/function_variants.md")
    assert [(o.decision, o.option, o.name, o.at.line, o.function) for o in note.options] == [
        (
            "trustworthy_decision",
            "run_tests",
            "Test before every release",
            43,
            "add_decision_link",
        )
    ]
    assert lines(note.diagnostics, "function-variant") == [43]


def test_3_7_cclas_read_as_cclass():
    # 3.7 `CClas(…)` that is otherwise valid Python
    note = load("trace/function_variants.md")
    assert ("run_tests", CodeKind.PRACTICE, "Test each product before release", 42) in definitions(
        note
    )
    assert lines(note.diagnostics, "misspelled-function") == [42]
    assert "unparseable-statement" not in codes(note)


def test_3_7_dependency_links():
    # 3.7 `x = \ y.add_links(z, role_name="to", stereotype_instances=uses)[0]` and a list stereotype
    note = load("trace/function_variants.md")
    assert [(d.source, d.target, d.stereotype, d.role, d.at.line) for d in note.dependencies] == [
        ("run_tests", "quality_dashboard", "uses", "to", 46),  # the add_links line
        ("run_tests", "test_framework", "requires", "to", 47),
    ]
    coll = resolve("trace", [note])
    assert set(coll.dependencies) == {
        ("run_tests", "quality_dashboard", "uses"),
        ("run_tests", "test_framework", "requires"),
    }


def test_dependency_direction_follows_the_role_of_the_argument():
    """``role_name`` names the argument's role: with "from" the argument is the dependent end
    ("is dependent on: [from] -> [to]"), as the modelling library reads it."""
    note = inline(
        "# s \n90\n\n**AXIAL CODING TRACE:**\n```python\n"
        'a = CClass(practice, "A")\nb = CClass(practice, "B")\n'
        'x = a.add_links(b, role_name="from", stereotype_instances=requires)[0]\n'
        'y = a.add_links(b, role_name="to", stereotype_instances=uses)[0]\n'
        "```\n"
    )
    assert [(d.source, d.target, d.stereotype, d.role) for d in note.dependencies] == [
        ("b", "a", "requires", "from"),
        ("a", "b", "uses", "to"),
    ]


def test_3_8_labels_with_leading_blanks():
    # 3.8 `" CI/CD process"`: trimmed, the raw label kept, reported
    note = load("trace/labels.md")
    assert [(d.ident, d.label, d.raw_label) for d in note.definitions[:2]] == [
        ("ci_cd_pipeline", "CI/CD process", " CI/CD process"),
        ("distributed_storage", "Distributed file storage", " Distributed file storage "),
    ]
    assert lines(note.diagnostics, "label-whitespace") == [41, 42]


def test_3_8_label_equals_identifier():
    # 3.8 `holistic_view = CClass(force, "holistic_view")`
    note = load("trace/labels.md")
    assert note.definitions[2].label == "holistic_view"
    assert lines(note.diagnostics, "label-is-identifier") == [43]


@pytest.mark.parametrize(
    ("label", "idents", "file", "line"),
    [
        (
            "Undo mistakes without backups",
            ["restore_data_without_backups", "in_place_consumption"],
            "platform/s_1.md",
            48,
        ),
        ("CI/CD process", ["ci_cd", "ci_cd_process"], "platform/s_2.md", 49),
    ],
)
def test_3_9_two_identifiers_share_a_label_and_kind(label, idents, file, line):
    # 3.9 in one note (a copy-paste label) and across notes
    coll = folder("platform")
    found = [
        d for d in coll.diagnostics if d.code == "duplicate-label" and repr(label) in d.message
    ]
    assert [(d.file, d.line) for d in found] == [(file, line)]
    assert all(i in found[0].message for i in idents)
    assert {coll.codes[i].label for i in idents} == {label}


@pytest.mark.parametrize(
    ("ident", "labels", "line"),
    [("quality", ["Data Quality", "Quality"], 41), ("accuracy", ["Data Accuracy", "Accuracy"], 42)],
)
def test_3_10_one_identifier_two_labels(ident, labels, line):
    # 3.10 `quality` is "Data Quality" (in a string, s_6) and "Quality" (s_7)
    coll = folder("product")
    code = coll.codes[ident]
    assert (code.kind, code.labels, code.label) == (CodeKind.FORCE, labels, labels[0])
    found = [
        d for d in coll.diagnostics if d.code == "label-conflict" and d.message.startswith(ident)
    ]
    assert [(d.file, d.line) for d in found] == [("product/s_7.md", line)]
    assert "kind-conflict" not in {d.code for d in coll.diagnostics}


def test_3_11_redefinition_with_the_same_label():
    # 3.11 `scalability` defined twice in one note with one label: one code, no conflict
    coll = folder("platform")
    code = coll.codes["scalability"]
    assert [(sid, d.at.line) for sid, d in code.definitions] == [("s1", 46), ("s1", 49)]
    assert (code.kind, code.labels) == (CodeKind.FORCE, ["Scalability"])
    assert not [d for d in coll.diagnostics if "scalability" in d.message]


@pytest.mark.parametrize(
    ("ident", "suggestion", "at", "uses"),
    [
        ("delegated_ownership", None, "platform/s_1.md:50", 1),
        ("acces_control_management", "access_control_management", "platform/s_1.md:51", 1),
        ("infrastructure_as_a_code", "infrastructure_as_code", "platform/s_2.md:52", 1),
        ("schema_registry", None, "platform/s_2.md:53", 1),
        ("ci_cd_proces", "ci_cd_process", "product/s_7.md:46", 2),
        ("change_data_capture", None, "product/s_7.md:47", 1),
        ("trustworthy_decision", "trustworty_decision", "product/s_8.md:42", 1),
    ],
)
def test_3_12_undefined_references(ident, suggestion, at, uses):
    # 3.12 defined in no note, near-miss typos, never defined: kept as unresolved codes
    coll = folder(at.split("/")[0])
    code = coll.codes[ident]
    assert (code.kind, code.label, code.resolved) == (None, None, False)
    assert code.suggestion == suggestion
    assert len(code.references) == uses
    found = [
        f"{d.file}:{d.line}"
        for d in coll.diagnostics
        if d.code == "undefined-reference" and d.message.startswith(ident + " ")
    ]
    assert found == [at]


def test_3_12_template_residue_codes_are_not_undefined_references():
    # 3.12 the api_* codes of the template's add_links trailer: the template is no source
    coll = folder("platform")
    assert not [d for d in coll.diagnostics if "api_" in d.message]


def test_3_13_references_resolve_against_the_whole_collection():
    # 3.13 s_2 alone cannot resolve `scalability`; the collection can
    alone = folder("platform", "s_2.md")
    assert alone.codes["scalability"].kind is None
    coll = folder("platform")
    code = coll.codes["scalability"]
    assert code.kind == CodeKind.FORCE
    assert [(sid, r.at.line) for sid, r in code.references] == [("s2", 51)]
    assert not [d for d in coll.diagnostics if d.message.startswith("scalability ")]


def test_3_13_option_link_endpoint_resolves_across_notes():
    # 3.13 `trustworty_decision` of s_7 is defined in s_6
    assert folder("product", "s_7.md").codes["trustworty_decision"].kind is None
    coll = folder("product")
    assert coll.codes["trustworty_decision"].kind == CodeKind.DECISION
    assert set(coll.options) == {
        ("trustworty_decision", "quality_monitoring", "Monitor quality"),
        ("trustworthy_decision", "run_checks", "Run checks before release"),
    }


def test_3_13_unresolved_code_keeps_every_use():
    # 3.13 never drop an unresolved reference: each use stays with its source and line
    coll = folder("product")
    assert [(sid, r.at.line, r.via) for sid, r in coll.codes["ci_cd_proces"].references] == [
        ("s7", 46, "trace"),
        ("s8", 44, "trace"),
    ]
    assert [(sid, r.via) for sid, r in coll.codes["trustworthy_decision"].references] == [
        ("s8", "option-link")
    ]


def test_3_14_platform_collection_has_no_relations_or_options():
    # 3.14 self-serve-platform-like notes only define and reference codes
    coll = folder("platform")
    assert (coll.impacts, coll.options, coll.dependencies) == ({}, {}, {})
    assert {c.kind for c in coll.codes.values()} == {CodeKind.PRACTICE, CodeKind.FORCE, None}
    product = folder("product")
    assert set(product.impacts) == {
        ("quality_monitoring", "quality", "positive"),
        ("quality_monitoring", "accuracy", "positive"),
        ("run_checks", "accuracy", "very_positive"),
    }


# --- 4. The seed -----------------------------------------------------------------------------

SEED = "000_5eedc0de.txt"


@pytest.fixture(scope="module")
def seeded() -> Collection:
    """The seed folder beside the platform collection: one study read from two folders."""
    [coll] = read([NOTES / "platform", NOTES / "seed"]).collections
    return coll


def seed_note(coll: Collection) -> Note:
    return next(n for n in coll.notes if n.name == SEED)


def test_4_seed_with_txt_extension_joins_its_collection(seeded):
    # 4 the .txt seed is discovered and read into the study of the same folder name
    assert seeded.name == "platform"
    assert sorted(n.name for n in seeded.notes) == [SEED, "s_.md", "s_1.md", "s_2.md", "s_3.md"]
    assert sorted(src.id for _, src in seeded.sources) == ["s1", "s2", "s3", "s6"]


def test_4_seed_identifier_only_open_code_lines(seeded):
    # 4 identifier-only lines in OPEN CODING sections are references
    note = seed_note(seeded)
    assert [(r.ident, r.at.line, r.weak) for r in note.references if r.via == "open-code"] == [
        ("data_governance_function", 40, False),
        ("costs", 44, True),
        ("delegated_ownership", 46, False),
    ]
    assert [c.line for c in note.open_codes] == [40, 42, 44, 46]


def test_4_seed_block_with_shallow_whitespace_first_line(seeded):
    # 4 the block's first line is whitespace-only and less indented than the rest
    note = seed_note(seeded)
    assert references(note, "trace") == [
        ("data_governance_function", 52),
        ("delegated_ownership", 54),
        ("time_travel", 55),
        ("testing_dp", 56),
    ]
    assert [(d.ident, d.at.line) for d in note.definitions] == [
        ("separating_storage", 53),
        ("restore_data_without_backups", 57),
        ("in_place_consumption", 58),
    ]
    assert codes(note).isdisjoint({"unparseable-statement", "unknown-statement"})


def test_4_seed_references_resolve_against_the_study(seeded):
    # 4 the seed's extra identifiers: three never defined in the study, two defined in s_3
    expected = {
        "data_governance_function": False,
        "testing_dp": False,
        "delegated_ownership": False,
        "costs": True,
        "time_travel": True,
    }
    assert {i: seeded.codes[i].resolved for i in expected} == expected
    for ident in expected:
        assert any(sid == "s6" for sid, _ in seeded.codes[ident].references), ident
    undefined = sorted(
        d.message.split()[0] for d in seeded.diagnostics if d.code == "undefined-reference"
    )
    assert [i for i in undefined if i in expected] == [
        "data_governance_function",
        "delegated_ownership",
        "testing_dp",
    ]


def test_4_seed_inherits_short_link_and_label_defects(seeded):
    # 4 the s7/s5 short-link slugs and two identifiers with the same label
    note = seed_note(seeded)
    assert lines(note.diagnostics, "short-link-mismatch") == [6, 8, 26, 27]
    found = [
        d
        for d in seeded.diagnostics
        if d.code == "duplicate-label" and "'Undo mistakes without backups'" in d.message
    ]
    assert len(found) == 1
    assert "in_place_consumption" in found[0].message


# --- other variants ("real seeds will have more variants than listed") -----------------------


def test_x_invalid_utf8_bytes_are_replaced_and_reported():
    # x (not listed) bytes that are not UTF-8: replaced by U+FFFD, reported with their line
    text, found = decode_bytes("# s\n1\n## title\nbad \xff byte\n".encode("latin-1"), "x.md")
    assert "bad \ufffd byte" in text
    assert [(d.code, d.line) for d in found] == [("invalid-utf8", 4)]


def test_x_control_characters_are_replaced_and_reported():
    # x (not listed) a NUL in a note: replaced, reported, the quote kept
    note = inline("> a quote with a \x00 NUL\n")
    assert [(d.code, d.line) for d in note.diagnostics if d.code == "control-character"] == [
        ("control-character", 1)
    ]
    assert note.quotes[0].text == "a quote with a \ufffd NUL"


def test_x_byte_order_mark_is_dropped():
    # x (not listed) a leading byte-order mark is legal UTF-8: dropped, at most an info
    data = "\ufeff".encode() + text_of("ids/s_33.md").encode()
    text, found = decode_bytes(data, "s_33.md")
    assert text.startswith("# s \n33\n")
    assert {d.severity for d in found} <= {Severity.INFO}


def test_x_crlf_line_endings_read_like_lf():
    # x (not listed) a note saved with CRLF line ends reads like the LF original
    rel = "markdown/coding_heading_twice.md"
    lf = load(rel)
    crlf = read_note(text_of(rel).replace("\n", "\r\n"), file=rel, name="x.md", collection="x")
    assert definitions(crlf) == definitions(lf)
    assert [(q.line, q.text) for q in crlf.quotes] == [(q.line, q.text) for q in lf.quotes]
    assert source_of(crlf).id == "s4"
    assert {d.severity for d in crlf.diagnostics} <= {Severity.INFO}


def test_x_unreadable_path_still_yields_a_note(tmp_path):
    # x (not listed) a seed that cannot be read still yields a note carrying the error
    seed = SeedFile(tmp_path / "gone.md", "gone.md", "gone.md", "x")
    note = read_file(seed)
    assert note.is_template
    assert [d.code for d in note.diagnostics] == ["unreadable-file"]


def test_x_unknown_header_key():
    # x (not listed) a header key outside the template
    text = text_of("ids/s_33.md").replace(
        "## references\n", "## publisher\nO'Reilly\n## references\n"
    )
    note = inline(text, "s_33.md")
    assert lines(note.diagnostics, "unknown-header-key") == [19]


def test_x_note_without_header_or_source_record():
    # x (not listed) a note with coding only: the id comes from the file name
    note = inline(
        "> only a quote\n\n**AXIAL CODING TRACE:**\nadded:\n``` python\nx_code\n```\n", "s_70.md"
    )
    assert source_of(note).id == "s70"
    assert {"missing-header", "missing-source-record"} <= codes(note)
    assert references(note) == [("x_code", 6)]


def test_x_note_without_any_id():
    # x (not listed) no id in file name, header or trace
    note = inline("> only a quote\n\n**OPEN CODING TRACE:**\n\nsome_code\n", "notes.md")
    assert source_of(note).id == "notes"
    assert [d.severity for d in note.diagnostics if d.code == "missing-id"] == [Severity.ERROR]


def test_x_second_source_record():
    # x (not listed) a second CClass(source, …) record in one note
    text = text_of("ids/s_33.md") + (
        '\n**AXIAL CODING TRACE:**\n``` python\ns33 = CClass(source, "s33", values={})\n```\n'
    )
    note = inline(text, "s_33.md")
    assert lines(note.diagnostics, "duplicate-source-record") == [40]


def test_x_trace_fence_without_any_marker():
    # x (not listed) CodeableModels code after a quote, without AXIAL marker or add line
    note = inline('> a quote\n\n``` python\nx = CClass(practice, "X")\n```\n')
    assert lines(note.diagnostics, "trace-without-marker") == [3]
    assert [d.ident for d in note.definitions] == ["x"]


@pytest.mark.parametrize(
    ("statement", "code"),
    [
        ('x = CClass(gadget, "X")', "unknown-kind"),
        ("x = CClass(practice)", "missing-label"),
        ('r = CClass(reference, "", values={})', "reference-record"),
        ('s90 = CClass(source, "s90", values={"title": "a" + "b"})', "non-literal-value"),
        ('s90 = CClass(source, "s90", values={"publisher": "P"})', "unknown-field"),
        ("add_force_relations({x: {f: amazing}})", "unknown-impact"),
        ("add_force_relations([x, f])", "bad-relations"),
        ('add_decision_option_link(d, "o", "n")', "bad-option-link"),
        ("add_decision_option_link(d, o)", "missing-option-name"),
        ("print(x)", "unknown-statement"),
        ('x = CClass(practice, "X"', "unparseable-statement"),
    ],
)
def test_x_other_trace_statement_findings(statement, code):
    # x (not listed) statement shapes a trace should not have, each reported at its line
    note = inline(f"**AXIAL CODING TRACE:**\nadded:\n``` python\n{statement}\n```\n")
    assert lines(note.diagnostics, code) == [4]


def test_x_one_identifier_with_two_kinds():
    # x (3.10 says no identifier has two kinds; if one does, it is reported)
    a = inline(
        '**AXIAL CODING TRACE:**\nadded:\n``` python\nx = CClass(force, "X")\n```\n', "s_91.md"
    )
    b = inline(
        '**AXIAL CODING TRACE:**\nadded:\n``` python\nx = CClass(practice, "X")\n```\n', "s_92.md"
    )
    coll = resolve("inline", [a, b])
    assert [(d.code, d.file, d.line) for d in coll.diagnostics] == [
        ("kind-conflict", "inline/s_92.md", 4)
    ]
    assert coll.codes["x"].kind == CodeKind.FORCE


# --- guidance links in notes: is next, has context, how, unknown stereotypes --------------------


def test_next_and_context_links_in_notes_are_read() -> None:
    """ "is next" and "has context" links were dropped without a finding; they are links of
    their own now, in the direction written (the caller is the prior solution)."""
    note = load("trace/guidance_links.md")
    links = {(lk.kind, lk.source, lk.target, lk.stereotype, lk.at.line) for lk in note.links}
    assert links == {
        ("next", "serving_layer", "deploy_decision", "mandatory_next", 44),
        ("next", "serving_decision", "deploy_decision", "consider_if_not_decided_yet", 46),
        ("context", "deploy_decision", "data_product", "decide_for_all_instances_of", 48),
        ("next", "serving_layer", "containers", "afterwards", 51),
    }
    assert not any(d.target == "deploy_decision" for d in note.dependencies)


def test_how_links_and_unknown_stereotypes_in_notes() -> None:
    note = load("trace/guidance_links.md")
    deps = {(d.source, d.target, d.stereotype, d.how) for d in note.dependencies}
    assert deps == {
        ("containers", "serving_layer", "can_use", "one container per port"),
        ("containers", "serving_layer", "replaces", None),
    }
    unknown = sorted(d.line for d in note.diagnostics if d.code == "unknown-stereotype")
    assert unknown == [50, 51]  # "replaces" (a dependency) and "afterwards" (a next link)
    assert not any(d.code == "unknown-statement" for d in note.diagnostics)


# --- coder slips ----------------------------------------------------------------------------------


def test_coder_slips_are_findings_with_their_lines() -> None:
    """One dict giving a pair two signs, relations written without their call, a code list
    keyed by another source, one option under two names, one name for two options, a force
    nothing impacts listed where the practice extending its identifier was meant (line 66;
    discoverability on line 67 is impacted, so listing it is deliberate)."""
    coll = resolve("c", [load("trace/coder_slips.md")])
    found = sorted((d.code, d.line) for d in coll.all_diagnostics() if d.code in SLIPS)
    assert found == [
        ("codes-for-other-source", 52),
        ("duplicate-key", 49),
        ("force-for-practice", 66),
        ("option-name-shared", 55),
        ("option-names-differ", 54),
        ("unwrapped-relations", 50),
        ("unwrapped-relations", 51),
    ]
    impacts = {(s, f, level) for s, f, level in coll.impacts}
    # the unwrapped relations are read as relations; the repeated pair keeps both statements
    assert ("run_tests", "quality", "positive") in impacts
    assert ("registry", "discoverability", "negative") in impacts
    assert {
        ("data_catalogue", "discoverability", lvl) for lvl in ("positive", "very_positive")
    } <= impacts


SLIPS = {
    "duplicate-key",
    "unwrapped-relations",
    "codes-for-other-source",
    "option-names-differ",
    "option-name-shared",
    "force-for-practice",
}


def test_no_slip_is_found_in_a_clean_study() -> None:
    study = Path(__file__).parent / "fixtures" / "study"
    notes = [
        read_note(p.read_text("utf-8"), file=p.name, name=p.name, collection="study")
        for p in sorted(study.glob("[ps]_*.md"))
    ]
    coll = resolve("study", notes)
    assert [d for d in coll.all_diagnostics() if d.code in SLIPS] == []


def test_a_next_decision_that_is_not_a_decision_is_a_finding() -> None:
    """serving_layer → containers (a practice) is an is-next link: the shapes say so at its
    line; the well-formed next and context links pass the structure shapes."""
    report = check(build([NOTES / "trace" / "guidance_links.md"]))
    found = [(f.code, f.line) for f in report.findings if f.origin == "shacl"]
    assert ("next-not-decision", 51) in found
    assert not any(code == "structure" for code, _ in found)


def test_a_dependency_on_a_force_is_a_finding() -> None:
    """run_tests uses quality: an identifier meant as a solution resolves to a force."""
    report = check(build([NOTES / "trace" / "coder_slips.md"]))
    found = [(f.code, f.line) for f in report.findings if f.code == "dependency-end-kind"]
    assert found == [("dependency-end-kind", 56)]
