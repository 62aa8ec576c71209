"""The contract between reading seeds and everything downstream.

Plain frozen dataclasses, no rdflib and no I/O: the reader fills them, the RDF mapping, the
JSON export and the statistics only read them. Every item keeps the file and line it came from,
because a researcher must be able to go back from any triple or finding to the note.

Every text the model holds must be text RDF can carry: no lone surrogates, no C0 controls but
tab and line breaks, no U+FFFE/U+FFFF. The few functions below clean text to that rule; both the
reader and the discovery of seed files use them, so every entry replaces and reports alike.

Two levels:

* a :class:`Note` is what one seed file says, exactly as written (identifiers not yet resolved);
* a :class:`Collection` is one study: its notes plus what only the whole study can decide
  (which code a reference means, which labels clash, which references stay unresolved).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Generic, Literal, TypeVar, get_args

T = TypeVar("T")


class Severity(StrEnum):
    """How bad a finding is; ``error`` means content could not be kept."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


class Level(StrEnum):
    """Severities of a validation report (SHACL's), in the order a reader acts on them."""

    VIOLATION = "violation"
    WARNING = "warning"
    INFO = "info"


class CodeKind(StrEnum):
    """The kinds a ``CClass(kind, …)`` definition may name."""

    PRACTICE = "practice"
    PATTERN = "pattern"
    FORCE = "force"
    DECISION = "decision"


class Impact(StrEnum):
    """Force impact levels of the study's metamodel, named as in the traces."""

    VERY_POSITIVE = "very_positive"
    POSITIVE = "positive"
    NEUTRAL = "neutral"
    NEGATIVE = "negative"
    VERY_NEGATIVE = "very_negative"
    POSITIVE_AND_NEGATIVE = "positive_and_negative"

    @property
    def notation(self) -> str:
        return _IMPACT_NOTATION[self]


_IMPACT_NOTATION = {
    Impact.VERY_POSITIVE: "++",
    Impact.POSITIVE: "+",
    Impact.NEUTRAL: "o",
    Impact.NEGATIVE: "-",
    Impact.VERY_NEGATIVE: "--",
    Impact.POSITIVE_AND_NEGATIVE: "+/-",
}


DEPENDENCY_KINDS = (
    "requires",
    "uses",
    "can_use",
    "can_be_combined_with",
    "can_be_realized_with",
    "variant",
    "extension",
    "is_a",
    "realizes",
    "includes",
    "alternative_to",
    "rules_out",
    "influences",
    "leads_to",
    "enables",
)
"""The stereotypes of "is dependent on" in the guidance metamodel (``depends_on``: none given)."""
NEXT_KINDS = ("mandatory_next", "optional_next", "next_decision", "consider_if_not_decided_yet")
"""The stereotypes of "is next" (a solution to the decision to take next)."""
CONTEXT_KINDS = ("decide_for_all_instances_of", "decide_for_some_instances_of")
"""The stereotypes of "has context" (a category or decision to a domain class)."""
DECISION_TYPES = ("single_answer", "multiple_answers")
NEXT_ROLES = frozenset({"next decision", "next_decision", "next decisions"})
"""Role names that make an ``add_links`` an "is next" link."""


@dataclass(frozen=True, slots=True)
class Loc:
    """A place in a seed: ``file`` is the path as the user gave it, ``line`` is 1-based."""

    file: str
    line: int


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One finding of the reader; ``code`` is short and stable so tools can filter on it."""

    severity: Severity
    code: str
    file: str
    line: int
    message: str


# --- text the graph can carry ---------------------------------------------------------------

REPLACEMENT = "\ufffd"
CONTROL = "control-character"
"""Finding code: NUL or other control characters (and U+FFFE/U+FFFF) became U+FFFD."""
SURROGATE = "invalid-unicode"
"""Finding code: lone surrogate code points became U+FFFD."""
_UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")
_UNSAFE_IN_NAMES = re.compile("[\x00-\x1f\x7f\ud800-\udfff\ufffe\uffff]")
_WHAT = {
    CONTROL: "NUL or other control characters",
    SURROGATE: "lone surrogate code points",
}


def first_unsafe(text: str) -> tuple[int | None, int | None]:
    """Offsets of the first control character and of the first lone surrogate, if any."""
    first_control = first_surrogate = None
    for m in _UNSAFE.finditer(text):
        if "\ud800" <= m.group() <= "\udfff":
            if first_surrogate is None:
                first_surrogate = m.start()
        elif first_control is None:
            first_control = m.start()
        if first_control is not None and first_surrogate is not None:
            break
    return first_control, first_surrogate


def replace_unsafe(text: str) -> str:
    """Every character RDF cannot carry replaced by U+FFFD."""
    return _UNSAFE.sub(REPLACEMENT, text)


def clean_text(text: str) -> tuple[str, list[str]]:
    """``text`` made safe, and the kinds replaced (:data:`CONTROL`, :data:`SURROGATE`)."""
    first_control, first_surrogate = first_unsafe(text)
    kinds = [
        code
        for code, first in ((CONTROL, first_control), (SURROGATE, first_surrogate))
        if first is not None
    ]
    return (replace_unsafe(text) if kinds else text), kinds


def clean_name(name: str) -> str:
    """A file or folder name as it may be shown and minted into IRIs and literals.

    ``os`` hands undecodable bytes of a name over as lone surrogates, which no serialiser can
    encode; control characters (tab and line breaks too, which would split a line of a report)
    cannot be carried by RDF/XML. Each becomes U+FFFD, as in a note's text.
    """
    return _UNSAFE_IN_NAMES.sub(REPLACEMENT, name)


def replaced(code: str, file: str, line: int, where: str = "") -> Diagnostic:
    """The finding for characters of kind ``code`` replaced by U+FFFD; ``where`` says how."""
    what = _WHAT[code] + (f" {where}" if where else "")
    return Diagnostic(Severity.WARNING, code, file, line, f"{what} were replaced by U+FFFD")


# --- what one note says -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FieldValue:
    """One metadata value as written; ``value`` is ``None`` when the key is present but empty."""

    value: str | bool | None
    line: int


@dataclass(frozen=True, slots=True)
class SourceRecord:
    """The header block or the trace block of a note: the same metadata, written twice.

    Keys are the header names (``title``, ``url``, ``tiny url``, ``archive url``, ``source type``,
    ``author type``, ``example``, ``source code``); the trace key ``type`` is stored as
    ``source type`` so the two records compare key by key.
    """

    kind: str  # "header" | "trace"
    line: int
    ident: str | None  # "s6" as the record writes it (header number, or trace label)
    variable: str | None  # trace only: the Python variable (``s6 = CClass(source, …)``)
    fields: dict[str, FieldValue]


@dataclass(frozen=True, slots=True)
class Source:
    """The source a note codes, with every witness of its identity kept."""

    id: str
    prefix: str  # "s" (literature) or "p" (interview)
    id_witnesses: dict[str, str | None]  # file, header, variable, label
    header: SourceRecord | None
    trace: SourceRecord | None
    picks: tuple[tuple[str, str, str, int], ...] = ()  # (field, record, curation file, line)
    doubts: tuple[tuple[str, str, str], ...] = ()  # (field, record, why): the collection's view

    def preferred(self, key: str) -> str | bool | None:
        """The value the graph shows for ``key`` (see :meth:`choice`)."""
        chosen = self.choice(key)
        return chosen.value if chosen is not None else None

    def choice(self, key: str) -> Choice | None:
        """Which record's value the graph shows for ``key``, and why.

        The trace is the record the study's tooling read, so it goes first; a value that cannot
        be right gives way to the other record's: a type outside the study's vocabulary, a url
        that is not http(s) or that is one of the short links, a short link that names another
        source (the reader's own ``short-link-mismatch``). Both records stay in the graph, so
        no disagreement is hidden by this choice.
        """
        records = [r for r in (self.trace, self.header) if r is not None]
        for key_picked, kind, file, line in self.picks:
            picked = self.header if kind == "header" else self.trace
            fv = picked.fields.get(key) if picked is not None and key_picked == key else None
            if fv is not None and fv.value not in (None, ""):
                return Choice(fv.value, kind, f"picked by {file}:{line}")
        short = {
            fv.value
            for r in records
            for k in ("tiny url", "archive url")
            if (fv := r.fields.get(k)) is not None
        }
        fallback: Choice | None = None
        passed: list[str] = []
        for record in records:
            fv = record.fields.get(key)
            if fv is None or fv.value in (None, ""):
                continue
            wrong = _wrong(key, fv.value, short, self.id) or next(
                (why for k, kind, why in self.doubts if k == key and kind == record.kind), None
            )
            if wrong is None:
                why = "; ".join(passed) or (
                    "the trace is the record the study's tooling read"
                    if record.kind == "trace"
                    else "only the header gives it"
                )
                return Choice(fv.value, record.kind, why)
            passed.append(f"the {record.kind}'s value {wrong}")
            if fallback is None:
                fallback = Choice(fv.value, record.kind, f"no record gives a usable value: {wrong}")
        return fallback


@dataclass(frozen=True, slots=True)
class Choice:
    """The value shown for a field of a source, the record it is taken from, and why."""

    value: str | bool
    record: str  # "trace" | "header"
    reason: str


SourceTypeName = Literal[
    "Discussion Forum Post",
    "General Audience Article",
    "Practitioner Audience Article",
    "Practitioner Book",
    "Tool Documentation",
    "Blog Post",
    "Slides",
    "Video Streaming",
    "Interview",
]
"""The source types as the notes write them: the ``skos:notation`` of each ``mk:SourceTypes``
term (a test keeps the two equal). A ``Literal`` so the JSON API's OpenAPI can list them."""
SOURCE_TYPES: tuple[str, ...] = get_args(SourceTypeName)
AUTHOR_TYPES = ("Practitioner", "Mixed", "Academic", "Unknown")


_NAMES_SOURCE = re.compile(r"^.*-([sSpP])0*([0-9]+)/?$")


def _wrong(key: str, value: str | bool, short: set[str | bool | None], sid: str) -> str | None:
    """Why ``value`` cannot be the source's ``key``, or None when it can."""
    if key == "source type":
        return None if value in SOURCE_TYPES else "is not a source type of the study"
    if key == "author type":
        return None if value in AUTHOR_TYPES else "is not an author type of the study"
    if key in ("example", "source code"):
        return None if isinstance(value, bool) else "is not yes or no"
    if key == "url":
        if not isinstance(value, str) or not value.startswith(("http://", "https://")):
            return "is not an http(s) URL"
        return "is one of the short links" if value in short else None
    if key in ("tiny url", "archive url") and isinstance(value, str):
        named = _NAMES_SOURCE.match(value)
        if named and f"{named.group(1)}{named.group(2)}".lower() != sid.lower():
            return f"names {named.group(1).lower()}{named.group(2)}, not {sid}"
    return None


@dataclass(frozen=True, slots=True)
class Quote:
    """A blockquote paragraph of the source text; ``position`` is 1-based within the note."""

    position: int
    text: str
    line: int
    end_line: int
    speaker: str | None = None  # in an interview: who speaks (the last speaker label before it)
    label_only: bool = (
        False  # the quote is only a speaker label: it starts a turn, evidences nothing
    )


@dataclass(frozen=True, slots=True)
class OpenCode:
    """One line of an open-coding section: its text without list markers or outer blanks.

    Lines that name code identifiers also yield :class:`Reference` items (``via="open-code"``).
    ``loose`` marks text that stands outside any section (kept, and reported).
    """

    text: str
    line: int
    loose: bool = False


@dataclass(frozen=True, slots=True)
class CodingBlock:
    """A python trace fence or an open-coding section, with the quotes it codes.

    ``evidence`` holds the positions of the quotes that stand between the previous trace fence
    and this block: the passages the researcher was coding when writing it.
    """

    index: int
    kind: str  # "trace" | "open"
    line: int
    end_line: int
    evidence: tuple[int, ...]
    marker: str | None = None  # the marker line that introduced it, as written


@dataclass(frozen=True, slots=True)
class Definition:
    """``ident = CClass(kind, "Label")``; raw forms are kept when they had to be normalised."""

    ident: str
    kind: CodeKind
    label: str
    at: Loc
    block: int
    in_string: bool = False
    raw_ident: str | None = None
    raw_label: str | None = None


@dataclass(frozen=True, slots=True)
class Reference:
    """A mention of a code by identifier; ``via`` says how it was written."""

    ident: str
    at: Loc
    block: int
    via: str  # trace | string-list | open-code | force-relation | option-link | dependency
    # | next-link | context-link
    in_string: bool = False
    raw: str | None = None
    weak: bool = False  # open-code single word: counts only if the collection defines it


@dataclass(frozen=True, slots=True)
class ForceRelation:
    """One ``solution: {force: impact}`` entry of ``add_force_relations``."""

    solution: str
    force: str
    impact: Impact | None
    raw_impact: str
    at: Loc
    block: int
    in_string: bool = False


@dataclass(frozen=True, slots=True)
class OptionLink:
    """``add_decision_option_link(decision, option, "name")``."""

    decision: str
    option: str
    name: str
    at: Loc
    block: int
    in_string: bool = False
    function: str = "add_decision_option_link"


@dataclass(frozen=True, slots=True)
class Dependency:
    """``a.add_links(b, role_name="to", stereotype_instances=uses)``: ``a`` depends on ``b``;
    with ``role_name="from"`` the argument is the dependent end: ``b`` depends on ``a``."""

    source: str  # the dependent end (the "from" role)
    target: str  # what it depends on (the "to" role)
    stereotype: str
    role: str | None
    at: Loc
    block: int
    in_string: bool = False
    how: str | None = None  # the "how" tagged value


@dataclass(frozen=True, slots=True)
class GuidanceLink:
    """An "is next" link (``kind="next"``: a solution to the decision to take next) or a
    "has context" link (``kind="context"``: a category or decision to a domain class)."""

    kind: str
    source: str
    target: str
    stereotype: str
    at: Loc
    block: int
    in_string: bool = False


@dataclass(slots=True)
class Note:
    """Everything one seed file says, before the collection resolves identifiers."""

    file: str  # display path as given
    name: str  # file name, stable across machines; used for IRIs
    collection: str
    source: Source | None
    is_template: bool = False
    quotes: list[Quote] = field(default_factory=list)
    open_codes: list[OpenCode] = field(default_factory=list)
    blocks: list[CodingBlock] = field(default_factory=list)
    definitions: list[Definition] = field(default_factory=list)
    references: list[Reference] = field(default_factory=list)
    relations: list[ForceRelation] = field(default_factory=list)
    options: list[OptionLink] = field(default_factory=list)
    dependencies: list[Dependency] = field(default_factory=list)
    links: list[GuidanceLink] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    line_count: int = 0


# --- what the collection decides ------------------------------------------------------------


Statement = ForceRelation | OptionLink | Dependency | GuidanceLink


@dataclass(slots=True)
class Code:
    """A code of the collection's codebook, defined by one or more notes or only referenced.

    ``kind`` is ``None`` for an unresolved code: referenced, never defined in the collection.
    ``label`` is the most frequent label (first seen wins ties); ``labels`` lists all of them.
    """

    ident: str
    kind: CodeKind | None
    label: str | None
    labels: list[str] = field(default_factory=list)
    definitions: list[tuple[str, Definition]] = field(default_factory=list)  # (source id, def)
    references: list[tuple[str, Reference]] = field(default_factory=list)  # (source id, ref)
    suggestion: str | None = None  # a close defined identifier, for unresolved codes
    spellings: list[str] = field(default_factory=list)  # other identifiers curation merged in

    @property
    def resolved(self) -> bool:
        return self.kind is not None

    @property
    def set_aside(self) -> bool:
        """True when every definition sits in a ``'''`` string the coder set aside."""
        return bool(self.definitions) and all(d.in_string for _, d in self.definitions)


@dataclass(slots=True)
class Stated(Generic[T]):
    """A distinct fact (impact, option, dependency) with every statement of it."""

    fact: T
    statements: list[tuple[str, T]] = field(default_factory=list)  # (source id, statement)

    @property
    def set_aside(self) -> bool:
        return all(getattr(s, "in_string", False) for _, s in self.statements)


@dataclass(slots=True)
class Collection:
    """One study: its notes, its codebook and the facts stated across its notes."""

    name: str
    title: str | None = None
    description: str | None = None
    notes: list[Note] = field(default_factory=list)
    codes: dict[str, Code] = field(default_factory=dict)
    impacts: dict[tuple[str, str, str], Stated[ForceRelation]] = field(default_factory=dict)
    options: dict[tuple[str, str, str], Stated[OptionLink]] = field(default_factory=dict)
    dependencies: dict[tuple[str, str, str], Stated[Dependency]] = field(default_factory=dict)
    links: dict[tuple[str, str, str, str], Stated[GuidanceLink]] = field(default_factory=dict)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    model: ModelLayer | None = None  # the consolidated model's layer, when model files are given
    curation: Curation | None = None  # curation.toml, when the study has one

    @property
    def sources(self) -> list[tuple[Note, Source]]:
        return [(n, n.source) for n in self.notes if n.source is not None and not n.is_template]

    def all_diagnostics(self) -> list[Diagnostic]:
        found = [d for n in self.notes for d in n.diagnostics]
        found.extend(self.diagnostics)
        if self.model is not None:
            found.extend(self.model.all_diagnostics())
        if self.curation is not None:
            found.extend(self.curation.diagnostics)
        return found


@dataclass(slots=True)
class Corpus:
    """All collections read in one run, plus findings about paths (missing, unreadable)."""

    collections: list[Collection] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)

    def all_diagnostics(self) -> list[Diagnostic]:
        found = list(self.diagnostics)
        for c in self.collections:
            found.extend(c.all_diagnostics())
        return found


# --- what a consolidated model says -----------------------------------------------------------


class LinkKind(StrEnum):
    """What a link of a consolidated model means, told by its role name and stereotype."""

    EVIDENCE = "evidence"  # source "contains codes" code
    IMPACT = "impact"  # solution "has force" force, typed by an impact level
    OPTION = "option"  # decision "has" solution, stereotyped option {name}
    DEPENDENCY = "dependency"  # solution "is dependent on" solution, typed by a dependency kind
    NEXT = "next"  # solution "is next" decision, typed by a next-decision kind
    CONTEXT = "context"  # category or decision "has context" domain class
    CATEGORY = "category"  # category owns a decision, or a sub-category
    KNOWN_USE = "known-use"  # solution "used in" known use
    REFERENCE = "reference"  # source "reference" reference


@dataclass(frozen=True, slots=True)
class ModelClass:
    """``name = CClass(metaclass, "Label", values={…}, stereotype_instances=…)`` in a model file.

    ``order`` is the creation order across the whole model layer (files in the order their
    imports run them), which the study's artefacts follow.
    """

    name: str
    metaclass: str
    label: str
    values: dict[str, str | bool | int | float]
    stereotypes: tuple[str, ...]
    at: Loc
    order: int


@dataclass(frozen=True, slots=True)
class ModelLink:
    """One link a model file adds; ``source``/``target`` are Python names, from end first.

    For a dependency ``source`` is the dependent end ("from") and ``target`` the end it depends
    on ("to"), whichever object the call was made on. ``order`` is the link creation order.
    """

    kind: LinkKind | None  # None until the layer tells it from the ends' metaclasses
    source: str
    target: str
    stereotype: str | None
    at: Loc
    order: int
    name: str | None = None  # an option's name
    tagged: tuple[tuple[str, str], ...] = ()  # tagged values (how, role)
    role: str | None = None  # the role name as written


@dataclass(frozen=True, slots=True)
class ModelView:
    """``CBundle("name", elements=…)``: a view (one diagram) of the model.

    Either the classes are listed (``elements``), or the view holds what is connected to
    ``start`` by links made before it, not passing into ``stops`` (left out) nor beyond
    ``boundaries`` (kept); ``stop_kinds`` stops at every class of those metaclasses.
    """

    name: str
    at: Loc
    order: int
    elements: tuple[str, ...] = ()
    start: str | None = None
    stops: tuple[str, ...] = ()
    boundaries: tuple[str, ...] = ()
    stop_kinds: tuple[str, ...] = ()


@dataclass(slots=True)
class ModelFile:
    """What one model file says, before the layer binds names across files."""

    file: str
    name: str
    collection: str
    module: str  # the module name other files import it by (file name without ``.py``)
    imports: list[tuple[str, tuple[str, ...], int]] = field(default_factory=list)
    # (module path as written, names or ("*",), line)
    classes: list[ModelClass] = field(default_factory=list)
    links: list[ModelLink] = field(default_factory=list)
    lists: dict[str, tuple[tuple[str, ...], int]] = field(default_factory=dict)
    views: list[ModelView] = field(default_factory=list)
    kind_lists: dict[str, str] = field(default_factory=dict)  # name -> metaclass of all_classes
    used: set[str] = field(default_factory=set)  # names read anywhere but in their definition
    diagnostics: list[Diagnostic] = field(default_factory=list)
    line_count: int = 0


@dataclass(slots=True)
class ModelLayer:
    """A study's consolidated model: its files, its classes by name (the last definition of a
    name wins, as in Python) and its links, names bound across files."""

    files: list[ModelFile] = field(default_factory=list)
    classes: list[ModelClass] = field(default_factory=list)  # every definition, in order
    final: dict[str, ModelClass] = field(default_factory=dict)
    links: list[ModelLink] = field(default_factory=list)
    views: list[ModelView] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)

    def all_diagnostics(self) -> list[Diagnostic]:
        return [d for f in self.files for d in f.diagnostics] + self.diagnostics


# --- what a person decided -------------------------------------------------------------------


@dataclass(slots=True)
class Curation:
    """``curation.toml`` beside a study's notes: decisions a person made and versions with them.

    Nothing is merged, picked or linked without a line here; each entry keeps its line.
    """

    file: str
    aliases: dict[str, tuple[str, int]] = field(default_factory=dict)  # spelling -> (code, line)
    picks: dict[tuple[str, str], tuple[str, int]] = field(default_factory=dict)
    # (source id, field) -> ("header" | "trace", line)
    matches: list[tuple[str, str, str, str, int]] = field(default_factory=list)
    # (code, "exact" | "close", other collection, other code, line)
    diagnostics: list[Diagnostic] = field(default_factory=list)
