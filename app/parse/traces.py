"""CodeableModels trace blocks to located statements, without ever running them.

A trace is read with :mod:`ast` only. When a block does not parse (23 real blocks do not), it is
split into statements by bracket depth and each statement is parsed alone; a statement that still
fails is read by narrow patterns for the few statement shapes a trace can have. Every fallback
says so in a diagnostic, naming what it recovered, so a researcher can fix the note.

Content of ``'''…'''`` strings is read the same way and marked ``in_string``: coders park code
and identifier lists there, and a user decides whether those count.

Every statement :mod:`ast` gives is cleaned before anything reads it: a string's escapes
(``"\\ud800"``, ``"\\x00"``, ``"\\N{NULL}"``) decode to characters RDF cannot carry, which
become U+FFFD with the same findings as in a note's text. A fence reads at most
:data:`MAX_STATEMENTS` statements, and no more coding items than the note has room for, so one
fence cannot stall a build or flood the graph.
"""

from __future__ import annotations

import ast
import re
import textwrap
from dataclasses import dataclass, field

from app.model import (
    CONTEXT_KINDS,
    DEPENDENCY_KINDS,
    NEXT_KINDS,
    NEXT_ROLES,
    CodeKind,
    Definition,
    Dependency,
    Diagnostic,
    FieldValue,
    ForceRelation,
    GuidanceLink,
    Impact,
    Loc,
    OptionLink,
    Reference,
    Severity,
    clean_text,
    replaced,
)

MAX_LINE = 20_000  # longer lines are not trace code; reading them would only cost time
MAX_STATEMENT = 50_000
MAX_STRING_DEPTH = 2
MAX_STATEMENTS = 5_000
"""Statements one fence may hold (strings read as code included); the rest are not read."""

_KINDS = {k.value: k for k in CodeKind}
_IMPACTS = {i.value: i for i in Impact}
_TRACE_KEYS = {
    "title": "title",
    "url": "url",
    "archive url": "archive url",
    "tiny url": "tiny url",
    "author type": "author type",
    "type": "source type",
    "source type": "source type",
    "example": "example",
    "source code": "source code",
}
_DEFINE_FUNCS = {"CClass", "CClas"}
_HOW_FUNC = "add_stereotyped_link_with_how_tagged_value"
_OPTION_FUNCS = {"add_decision_option_link", "add_decision_link"}
_PARSE_ERRORS = (SyntaxError, ValueError, RecursionError, MemoryError, OverflowError)

IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_STMT_START = re.compile(
    r"""^(?:[A-Za-z_]\w*(?:\ +\w+)*\s*=(?!=)|add_\w+\s*[({]|[A-Za-z_]\w*\s*,?\s*$|'''|\"\"\")"""
)
_SCAN = re.compile(r"'''|\"\"\"|['\"#()\[\]{}]")
_DEFINE_RE = re.compile(
    r"^\s*(?P<target>[A-Za-z_]\w*(?:\ +\w+)*)\s*=\s*(?P<func>CClass?)\s*\(\s*(?P<kind>\w+)\s*,\s*"
)
_SOURCE_RE = re.compile(r"CClass?\s*\(\s*source\s*,\s*(?P<q>[\"'])(?P<label>[^\"'\n]*)(?P=q)")
_VALUE_RE = re.compile(
    r"""(?P<kq>["'])(?P<key>[^"'\n]+)(?P=kq)\s*:\s*(?:(?P<q>["'])(?P<val>.*?)(?P=q)|(?P<b>True|False))""",
    re.DOTALL,
)
_OPTION_RE = re.compile(
    r"(?P<func>add_decision(?:_option)?_link)\s*\(\s*(?P<dec>[A-Za-z_]\w*)\s*,\s*"
    r"(?P<opt>[A-Za-z_]\w*)\s*[,.]?\s*(?:(?P<q>[\"'])(?P<name>.*?)(?P=q))?",
    re.DOTALL,
)
_DEPENDENCY_RE = re.compile(
    r"(?P<a>[A-Za-z_]\w*)\s*\.\s*add_links\s*\(\s*\(?\s*(?P<b>[A-Za-z_]\w*)", re.DOTALL
)
_ROLE_RE = re.compile(r"role_name\s*=\s*[\"'](?P<role>[^\"']*)[\"']")
_STEREO_RE = re.compile(r"stereotype_instances\s*=\s*\[?\s*(?P<st>[A-Za-z_]\w*)")
_SPACED_IDENT = re.compile(r"^(?P<name>[A-Za-z_]\w*(?:\ +[A-Za-z_]\w*)+)\s*,?\s*$")
_RELATION_TOKENS = re.compile(r"[A-Za-z_]\w*|[{}():,]")


@dataclass(slots=True)
class SourceTrace:
    """``sN = CClass(source, "sN", values={…})`` as written."""

    variable: str | None
    label: str | None
    line: int
    fields: dict[str, FieldValue]


@dataclass(slots=True)
class TraceReading:
    """What one trace block states; lines are absolute within the note."""

    definitions: list[Definition] = field(default_factory=list)
    references: list[Reference] = field(default_factory=list)
    relations: list[ForceRelation] = field(default_factory=list)
    options: list[OptionLink] = field(default_factory=list)
    dependencies: list[Dependency] = field(default_factory=list)
    links: list[GuidanceLink] = field(default_factory=list)
    code_list_keys: list[tuple[str, int]] = field(default_factory=list)  # add_links({s30: …})
    sources: list[SourceTrace] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    cut_at: int | None = None  # line of the first item left out for want of room in the note

    @property
    def item_count(self) -> int:
        return (
            len(self.definitions)
            + len(self.references)
            + len(self.relations)
            + len(self.options)
            + len(self.dependencies)
            + len(self.links)
            + len(self.sources)
        )


def read_trace(
    content: str, first_line: int, file: str, block: int, *, room: int | None = None
) -> TraceReading:
    """Read a fence's content; ``first_line`` is the line of the content's first line.

    ``room`` is how many coding items the note can still take; reading stops at the first item
    beyond it and :attr:`TraceReading.cut_at` says where (the note reports it).
    """
    reader = _Reader(file, block, room)
    reader.read_code(content, first_line, in_string=False, depth=0)
    return reader.out


def normalise_identifier(raw: str) -> str:
    """``in_place consumption`` -> ``in_place_consumption``; trailing blanks are dropped."""
    return re.sub(r"\s+", "_", raw.strip())


def impact_of(raw: str) -> Impact | None:
    key = re.sub(r"[\s\-]+", "_", raw.strip().lower())
    return _IMPACTS.get(key)


def dedent_block(lines: list[str]) -> list[str]:
    """Remove the block's common indentation, ignoring blank and comment-only lines.

    A ``# already added:`` comment at column 0 after indented code (template residue) must not
    stop the rest from being dedented, as :func:`textwrap.dedent` would.
    """
    expanded = [line.expandtabs(4) for line in lines]
    indents = [
        len(line) - len(line.lstrip())
        for line in expanded
        if line.strip() and not line.lstrip().startswith("#")
    ]
    cut = min(indents, default=0)
    out = []
    for line in expanded:
        lead = len(line) - len(line.lstrip())
        out.append(line[min(cut, lead) :])
    return out


def split_statements(lines: list[str]) -> list[tuple[int, list[str]]]:
    """Group dedented lines into statements by bracket depth, strings and continuations.

    A line that starts a statement at or left of the current statement's indentation ends an
    unbalanced statement: one missing ``}`` must not swallow the rest of the block.
    """
    out: list[tuple[int, list[str]]] = []
    buf: list[str] = []
    start = 0
    depth = 0
    triple: str | None = None
    base = 0
    continued = False
    for idx, line in enumerate(lines):
        stripped = line.strip()
        indent = len(line) - len(line.lstrip())
        if not buf:
            if not stripped or stripped.startswith("#"):
                continue
            start, base, depth, triple = idx, indent, 0, None
        elif (
            depth > 0
            and triple is None
            and not continued
            and stripped
            and indent <= base
            and _STMT_START.match(stripped)
        ):
            out.append((start, buf))
            buf, start, base, depth = [], idx, indent, 0
        buf.append(line)
        depth, triple = _scan(line, depth, triple)
        continued = stripped.endswith("\\")
        if depth <= 0 and triple is None and not continued:
            out.append((start, buf))
            buf, depth = [], 0
    if buf:
        out.append((start, buf))
    return out


def _scan(line: str, depth: int, triple: str | None) -> tuple[int, str | None]:
    """Track bracket depth and open triple-quoted strings over one line."""
    quote: str | None = None
    for m in _SCAN.finditer(line):
        tok = m.group()
        if triple is not None:
            if tok == triple:
                triple = None
            continue
        if quote is not None:
            if tok == quote and not _escaped(line, m.start()):
                quote = None
            continue
        if tok in ("'''", '"""'):
            triple = tok
        elif tok in ("'", '"'):
            quote = tok
        elif tok == "#":
            break
        elif tok in "([{":
            depth += 1
        else:
            depth -= 1
    return depth, triple


def _escaped(line: str, pos: int) -> bool:
    slashes = 0
    while pos > 0 and line[pos - 1] == "\\":
        slashes += 1
        pos -= 1
    return slashes % 2 == 1


class _Reader:
    def __init__(self, file: str, block: int, room: int | None = None) -> None:
        self.file = file
        self.block = block
        self.room = room
        self.out = TraceReading()
        self.statements = 0
        self.stopped = False
        self.escapes: set[str] = set()

    # --- diagnostics --------------------------------------------------------------------

    def diag(self, severity: Severity, code: str, line: int, message: str) -> None:
        if not self.stopped:  # once a cap stopped the fence, nothing after it is read
            self.out.diagnostics.append(Diagnostic(severity, code, self.file, line, message))

    # --- caps ---------------------------------------------------------------------------

    def take_statement(self, line: int) -> bool:
        """Count a statement about to be read; false (and reported once) past the cap."""
        if self.stopped:
            return False
        if self.statements >= MAX_STATEMENTS:
            self.diag(
                Severity.ERROR,
                "too-many-statements",
                line,
                f"the fence holds more than {MAX_STATEMENTS:,} statements; "
                "the statements from this line on were not read",
            )
            self.stopped = True
            return False
        self.statements += 1
        return True

    def has_room(self, line: int) -> bool:
        """Whether one more item fits in the note; the first that does not ends the reading."""
        if self.stopped:
            return False
        if self.room is not None and self.out.item_count >= self.room:
            self.out.cut_at = line
            self.stopped = True
            return False
        return True

    # --- strings ------------------------------------------------------------------------

    def clean_strings(self, tree: ast.AST, base: int) -> None:
        """Clean every string of a parsed statement; ``base`` is the line of the tree's line 1.

        Every statement passes here before it is read, so this one place covers every string
        any statement reads: labels, keys and values of ``values={…}``, impacts, option names,
        roles, f-string parts and the strings read again as code.
        """
        first: dict[str, int] = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                value, kinds = clean_text(node.value)
                if not kinds:
                    continue
                node.value = value
                line = base + node.lineno - 1
                for kind in kinds:
                    first[kind] = min(first.get(kind, line), line)
        for kind, line in first.items():  # each kind once a fence, at its first string
            if kind not in self.escapes:
                self.escapes.add(kind)
                self.out.diagnostics.append(replaced(kind, self.file, line, "in a trace string"))

    def loc(self, line: int) -> Loc:
        return Loc(self.file, line)

    # --- whole blocks ------------------------------------------------------------------

    def read_code(self, text: str, first_line: int, *, in_string: bool, depth: int) -> None:
        lines = text.split("\n")
        for offset, line in enumerate(lines):
            if len(line) > MAX_LINE:
                self.diag(
                    Severity.ERROR,
                    "line-too-long",
                    first_line + offset,
                    f"a trace line of {len(line)} characters was not read (limit {MAX_LINE})",
                )
                lines[offset] = ""
        dedented = dedent_block(lines)
        try:
            tree = ast.parse("\n".join(dedented))
        except _PARSE_ERRORS:
            pass
        else:
            for stmt in tree.body:
                if not self.take_statement(first_line + stmt.lineno - 1):
                    return
                self.statement(stmt, first_line, in_string=in_string, depth=depth)
            return
        statements = split_statements(dedented)
        for start, stmt_lines in statements:
            if self.stopped:
                return
            indent = len(stmt_lines[0]) - len(stmt_lines[0].lstrip())
            if indent:
                self.diag(
                    Severity.WARNING,
                    "inconsistent-indentation",
                    first_line + start,
                    f"indented {indent} column(s) deeper than the block; read as a statement "
                    "of its own",
                )
            self.fallback(stmt_lines, first_line + start, in_string=in_string, depth=depth)

    def fallback(self, lines: list[str], line: int, *, in_string: bool, depth: int) -> None:
        """Parse one statement alone; if that fails too, recover it by pattern."""
        text = textwrap.dedent("\n".join(lines))
        if len(text) > MAX_STATEMENT:
            if self.take_statement(line):
                self.diag(
                    Severity.ERROR,
                    "unparseable-statement",
                    line,
                    f"a statement of {len(text)} characters was not read (limit {MAX_STATEMENT})",
                )
            return
        try:
            tree = ast.parse(text)
        except _PARSE_ERRORS as err:
            if self.take_statement(line):
                self.recover(text, line, err, in_string=in_string)
            return
        for stmt in tree.body:
            if not self.take_statement(line + stmt.lineno - 1):
                return
            self.statement(stmt, line, in_string=in_string, depth=depth)

    # --- statements that parse ---------------------------------------------------------

    def statement(self, node: ast.stmt, base: int, *, in_string: bool, depth: int) -> None:
        self.clean_strings(node, base)
        line = base + node.lineno - 1
        if isinstance(node, ast.Expr):
            self.expression(node.value, base, line, in_string=in_string, depth=depth)
        elif isinstance(node, ast.Assign):
            self.assignment(node, base, line, in_string=in_string)
        elif (
            isinstance(node, ast.AnnAssign)
            and isinstance(node.target, ast.Name)
            and isinstance(node.annotation, ast.Dict)
        ):  # ``run_tests: {quality: positive}``: a force relation without its call around it
            bare = ast.Dict(keys=[node.target], values=[node.annotation])
            self.unwrapped(bare, base, line, in_string=in_string)
        else:
            self.unknown(line, type(node).__name__.lower())

    def unwrapped(self, relations: ast.Dict, base: int, line: int, *, in_string: bool) -> None:
        """Force relations written as a bare ``{solution: {force: impact}}`` (or ``solution:
        {…}``): read as add_force_relations reads them, with a finding."""
        self.diag(
            Severity.WARNING,
            "unwrapped-relations",
            line,
            "force relations written without add_force_relations( … ) around them; "
            "read as force relations",
        )
        self.relations_of(relations, base, in_string=in_string)

    def expression(
        self, value: ast.expr, base: int, line: int, *, in_string: bool, depth: int
    ) -> None:
        via = "string-list" if in_string else "trace"
        if isinstance(value, ast.Name):
            self.reference(value.id, line, via=via, in_string=in_string)
        elif isinstance(value, ast.Tuple | ast.List) and all(
            isinstance(e, ast.Name) for e in value.elts
        ):
            for elt in value.elts:
                assert isinstance(elt, ast.Name)
                self.reference(elt.id, base + elt.lineno - 1, via=via, in_string=in_string)
        elif isinstance(value, ast.Constant) and isinstance(value.value, str):
            if depth >= MAX_STRING_DEPTH:
                self.diag(Severity.WARNING, "nested-string", line, "a string inside a string")
                return
            self.read_code(value.value, line, in_string=True, depth=depth + 1)
        elif isinstance(value, ast.Call):
            self.call(value, base, line, in_string=in_string)
        elif (
            isinstance(value, ast.Dict)
            and value.values
            and all(isinstance(v, ast.Dict) for v in value.values)
        ):
            self.unwrapped(value, base, line, in_string=in_string)
        else:
            self.unknown(line, "expression")

    def call(self, call: ast.Call, base: int, line: int, *, in_string: bool) -> None:
        func = call.func
        name = func.id if isinstance(func, ast.Name) else None
        if name == "add_force_relations":
            self.force_relations(call, base, in_string=in_string)
        elif name in _OPTION_FUNCS:
            self.option_link(call, line, in_string=in_string, function=name)
        elif isinstance(func, ast.Attribute) and func.attr == "add_links":
            self.dependency(call, line, in_string=in_string)
        elif name == "add_links":
            self.links_of(call, base, in_string=in_string)
        elif name == _HOW_FUNC:
            self.how_dependency(call, line, in_string=in_string)
        else:
            self.unknown(line, "call")

    def assignment(self, node: ast.Assign, base: int, line: int, *, in_string: bool) -> None:
        value = node.value
        while isinstance(value, ast.Subscript):
            value = value.value
        if not isinstance(value, ast.Call):
            self.unknown(line, "assignment")
            return
        func = value.func
        if isinstance(func, ast.Attribute) and func.attr == "add_links":
            self.dependency(value, base + value.lineno - 1, in_string=in_string)
            return
        if not (isinstance(func, ast.Name) and func.id in _DEFINE_FUNCS):
            self.unknown(line, "assignment")
            return
        target = node.targets[0] if len(node.targets) == 1 else None
        if not isinstance(target, ast.Name):
            self.unknown(line, "assignment")
            return
        args = value.args
        kind = args[0].id if args and isinstance(args[0], ast.Name) else None
        label = (
            args[1].value
            if len(args) > 1
            and isinstance(args[1], ast.Constant)
            and isinstance(args[1].value, str)
            else None
        )
        if func.id != "CClass":
            self.diag(Severity.WARNING, "misspelled-function", line, f"{func.id}( read as CClass(")
        if kind == "source":
            self.source(target.id, label, value, base, line)
        elif kind == "reference":
            self.diag(Severity.INFO, "reference-record", line, "bibliographic reference ignored")
        elif kind in _KINDS and label is not None:
            self.definition(target.id, kind, label, line, in_string=in_string)
        else:
            self.diag(
                Severity.WARNING,
                "unknown-kind" if kind not in _KINDS else "missing-label",
                line,
                f"CClass({kind}, …) for {target.id!r} is not a practice, pattern, force or "
                "decision with a string label; ignored",
            )

    # --- the items -----------------------------------------------------------------------

    def reference(self, raw: str, line: int, *, via: str, in_string: bool) -> None:
        if not self.has_room(line):
            return
        ident = normalise_identifier(raw)
        self.out.references.append(
            Reference(
                ident,
                self.loc(line),
                self.block,
                via,
                in_string=in_string,
                raw=raw if raw != ident else None,
            )
        )

    def definition(
        self, raw_ident: str, kind: str, raw_label: str, line: int, *, in_string: bool
    ) -> None:
        if not self.has_room(line):
            return
        ident = normalise_identifier(raw_ident)
        label = raw_label.strip()
        if label != raw_label:
            self.diag(Severity.INFO, "label-whitespace", line, f"label {raw_label!r} trimmed")
        if label == ident:
            self.diag(
                Severity.INFO, "label-is-identifier", line, f"{ident} is labelled by its identifier"
            )
        self.out.definitions.append(
            Definition(
                ident,
                _KINDS[kind],
                label,
                self.loc(line),
                self.block,
                in_string=in_string,
                raw_ident=raw_ident if raw_ident != ident else None,
                raw_label=raw_label if raw_label != label else None,
            )
        )

    def source(
        self, variable: str, label: str | None, call: ast.Call, base: int, line: int
    ) -> None:
        if not self.has_room(line):
            return
        fields: dict[str, FieldValue] = {}
        for kw in call.keywords:
            if kw.arg != "values" or not isinstance(kw.value, ast.Dict):
                continue
            for key, val in zip(kw.value.keys, kw.value.values, strict=True):
                if not (isinstance(key, ast.Constant) and isinstance(key.value, str)):
                    continue
                name = _TRACE_KEYS.get(key.value.strip())
                key_line = base + key.lineno - 1
                if name is None:
                    self.diag(
                        Severity.INFO, "unknown-field", key_line, f"trace key {key.value!r} ignored"
                    )
                    continue
                if isinstance(val, ast.Constant) and isinstance(val.value, str | bool):
                    raw = val.value
                    fields[name] = FieldValue(
                        (raw.strip() or None) if isinstance(raw, str) else raw, key_line
                    )
                else:
                    self.diag(
                        Severity.WARNING,
                        "non-literal-value",
                        key_line,
                        f"trace value of {key.value!r} is not a literal; not read",
                    )
                    fields[name] = FieldValue(None, key_line)
        self.out.sources.append(SourceTrace(variable, label, line, fields))

    def force_relations(self, call: ast.Call, base: int, *, in_string: bool) -> None:
        mapping = call.args[0] if call.args else None
        if not isinstance(mapping, ast.Dict):
            self.diag(
                Severity.ERROR,
                "bad-relations",
                base + call.lineno - 1,
                "add_force_relations needs a {solution: {force: impact}} mapping",
            )
            return
        self.relations_of(mapping, base, in_string=in_string)

    def relations_of(self, mapping: ast.Dict, base: int, *, in_string: bool) -> None:
        given: dict[tuple[str, str], tuple[str, int]] = {}  # (solution, force) -> impact, line
        for sol, forces in zip(mapping.keys, mapping.values, strict=True):
            if not isinstance(sol, ast.Name) or not isinstance(forces, ast.Dict):
                self.diag(
                    Severity.ERROR,
                    "bad-relations",
                    base + (sol or forces).lineno - 1,
                    "a force relation entry is not `solution: {force: impact}`; skipped",
                )
                continue
            for force, impact in zip(forces.keys, forces.values, strict=True):
                line = base + (force or impact).lineno - 1
                raw = _impact_text(impact)
                if not isinstance(force, ast.Name) or raw is None:
                    self.diag(
                        Severity.ERROR,
                        "bad-relations",
                        line,
                        "a force entry is not `force: impact`; skipped",
                    )
                    continue
                before = given.get((sol.id, force.id))
                if before is not None:
                    self.diag(
                        Severity.WARNING,
                        "duplicate-key",
                        line,
                        f"{sol.id} → {force.id} is given twice in one dict ({before[0]} at line "
                        f"{before[1]}, {raw} here); Python would keep only the last",
                    )
                given[(sol.id, force.id)] = (raw, line)
                self.relation(sol.id, force.id, raw, line, in_string=in_string)

    def relation(self, solution: str, force: str, raw: str, line: int, *, in_string: bool) -> None:
        if not self.has_room(line):
            return
        impact = impact_of(raw)
        if impact is None:
            self.diag(
                Severity.WARNING,
                "unknown-impact",
                line,
                f"impact {raw!r} of {solution} on {force} is not one of "
                + ", ".join(i.value for i in Impact),
            )
        elif impact.value != raw:
            self.diag(Severity.WARNING, "impact-spelling", line, f"impact {raw!r} read as {impact}")
        self.out.relations.append(
            ForceRelation(
                normalise_identifier(solution),
                normalise_identifier(force),
                impact,
                raw,
                self.loc(line),
                self.block,
                in_string=in_string,
            )
        )

    def option_link(self, call: ast.Call, line: int, *, in_string: bool, function: str) -> None:
        args = call.args
        names = [a.id for a in args[:2] if isinstance(a, ast.Name)]
        name = (
            args[2].value
            if len(args) > 2
            and isinstance(args[2], ast.Constant)
            and isinstance(args[2].value, str)
            else None
        )
        if len(names) != 2:
            self.diag(
                Severity.ERROR,
                "bad-option-link",
                line,
                f"{function} needs (decision, option, name); skipped",
            )
            return
        self.option(names[0], names[1], name, line, in_string=in_string, function=function)

    def option(
        self,
        decision: str,
        option: str,
        name: str | None,
        line: int,
        *,
        in_string: bool,
        function: str,
    ) -> None:
        if not self.has_room(line):
            return
        if function != "add_decision_option_link":
            self.diag(
                Severity.WARNING,
                "function-variant",
                line,
                f"{function}(…) read as add_decision_option_link(…)",
            )
        if name is None:
            self.diag(Severity.WARNING, "missing-option-name", line, "option link has no name")
        self.out.options.append(
            OptionLink(
                decision,
                option,
                (name or "").strip(),
                self.loc(line),
                self.block,
                in_string=in_string,
                function=function,
            )
        )

    def dependency(self, call: ast.Call, line: int, *, in_string: bool) -> None:
        func = call.func
        assert isinstance(func, ast.Attribute)
        first = call.args[0] if call.args else None
        if isinstance(first, ast.Tuple) and first.elts:
            first = first.elts[0]
        if not isinstance(func.value, ast.Name) or not isinstance(first, ast.Name):
            self.unknown(line, "add_links call")
            return
        if not self.has_room(line):
            return
        role, stereotype = _role_and_stereotype(call)
        if role is _NOT_TEXT:
            role = None
            self.diag(
                Severity.WARNING, "non-literal-value", line, "role_name is not a string; not read"
            )
        caller, argument = func.value.id, first.id
        link = _link_kind(role, stereotype)
        if link is not None:  # a.add_links(d, role_name="next decision", …): not a dependency
            self.guidance_link(link, caller, argument, stereotype, line, in_string=in_string)
            return
        self.known_dependency_kind(stereotype, line)
        # role_name names the role of the argument: with "from" the argument is the dependent
        # ("is dependent on: [from] -> [to]"), so the caller is what it depends on
        dependent, required = (argument, caller) if role == "from" else (caller, argument)
        self.out.dependencies.append(
            Dependency(
                dependent,
                required,
                stereotype or "depends_on",
                role,
                self.loc(line),
                self.block,
                in_string=in_string,
            )
        )

    def links_of(self, call: ast.Call, base: int, *, in_string: bool) -> None:
        """``add_links({…}, …)``: "is next" or "has context" links by role name or stereotype,
        else ``add_links({s30: [codes…]}, role_name="contained_code")``: codes of a source."""
        mapping = call.args[0] if call.args else None
        if not isinstance(mapping, ast.Dict):
            self.unknown(base + call.lineno - 1, "add_links call")
            return
        role, stereotype = _role_and_stereotype(call)
        link = _link_kind(role, stereotype)
        if link is not None:
            for key, value in zip(mapping.keys, mapping.values, strict=True):
                targets = value.elts if isinstance(value, ast.List | ast.Tuple) else [value]
                for target in targets:
                    if isinstance(key, ast.Name) and isinstance(target, ast.Name):
                        line = base + target.lineno - 1
                        self.guidance_link(
                            link, key.id, target.id, stereotype, line, in_string=in_string
                        )
            return
        for key in mapping.keys:
            if isinstance(key, ast.Name):
                self.out.code_list_keys.append((key.id, base + key.lineno - 1))
        for codes in mapping.values:
            if isinstance(codes, ast.List | ast.Tuple):
                for elt in codes.elts:
                    if isinstance(elt, ast.Name):
                        line = base + elt.lineno - 1
                        self.reference(elt.id, line, via="trace", in_string=in_string)

    def guidance_link(
        self,
        kind: str,
        source: str,
        target: str,
        stereotype: str | None,
        line: int,
        *,
        in_string: bool,
    ) -> None:
        if not self.has_room(line):
            return
        known = NEXT_KINDS if kind == "next" else CONTEXT_KINDS
        if stereotype not in known:
            self.diag(
                Severity.WARNING,
                "unknown-stereotype",
                line,
                f"{'an is-next' if kind == 'next' else 'a context'} link with stereotype "
                f"{stereotype!r}; expected one of {', '.join(known)}",
            )
        self.out.links.append(
            GuidanceLink(
                kind,
                source,
                target,
                stereotype or ("next_decision" if kind == "next" else ""),
                self.loc(line),
                self.block,
                in_string=in_string,
            )
        )

    def how_dependency(self, call: ast.Call, line: int, *, in_string: bool) -> None:
        """``add_stereotyped_link_with_how_tagged_value(a, b, kind, "how")``: ``a`` depends on
        ``b`` (the link's role is "to"), saying how."""
        args = call.args
        names = [a.id for a in args[:3] if isinstance(a, ast.Name)]
        if len(names) < 3:
            self.unknown(line, f"{_HOW_FUNC} call")
            return
        if not self.has_room(line):
            return
        how = args[3].value if len(args) > 3 and isinstance(args[3], ast.Constant) else None
        self.known_dependency_kind(names[2], line)
        self.out.dependencies.append(
            Dependency(
                names[0],
                names[1],
                names[2],
                "to",
                self.loc(line),
                self.block,
                in_string=in_string,
                how=how if isinstance(how, str) else None,
            )
        )

    def known_dependency_kind(self, stereotype: str | None, line: int) -> None:
        if stereotype is not None and stereotype not in DEPENDENCY_KINDS:
            self.diag(
                Severity.WARNING,
                "unknown-stereotype",
                line,
                f"a dependency with stereotype {stereotype!r}, not one of the metamodel's "
                f"{len(DEPENDENCY_KINDS)} kinds; kept as written",
            )

    def unknown(self, line: int, what: str) -> None:
        self.diag(
            Severity.WARNING,
            "unknown-statement",
            line,
            f"{what} is not a trace statement (CClass, reference, add_force_relations, "
            "add_decision_option_link, add_links); ignored",
        )

    # --- statements that do not parse ----------------------------------------------------

    def recover(self, text: str, line: int, err: BaseException, *, in_string: bool) -> None:
        before = self.out.item_count
        what = self.recover_items(text, line, in_string=in_string)
        reason = _reason(err)
        if self.out.item_count > before or what:
            self.diag(
                Severity.WARNING,
                "unparseable-statement",
                line,
                f"not valid Python ({reason}); recovered {what or 'its items'} by pattern",
            )
        else:
            self.diag(
                Severity.ERROR,
                "unparseable-statement",
                line,
                f"not valid Python ({reason}); nothing could be recovered: " + _shorten(text),
            )

    def recover_items(self, text: str, line: int, *, in_string: bool) -> str:
        stripped = text.strip()
        m = _DEFINE_RE.match(text)
        if m:
            return self.recover_definition(m, text, line, in_string=in_string)
        if re.match(r"add_force_relations\b", stripped):
            n = self.recover_relations(text, line, in_string=in_string)
            return f"{n} force relation(s)"
        m = _OPTION_RE.search(text)
        if m:
            at = line + text.count("\n", 0, m.start())
            self.option(
                m.group("dec"),
                m.group("opt"),
                m.group("name"),
                at,
                in_string=in_string,
                function=m.group("func"),
            )
            return "an option link"
        m = _DEPENDENCY_RE.search(text)
        if m:
            if not self.has_room(line + text.count("\n", 0, m.start())):
                return "a dependency link"
            role = _ROLE_RE.search(text)
            stereo = _STEREO_RE.search(text)
            caller, argument = m.group("a"), m.group("b")
            if role is not None and role.group("role") == "from":  # the argument depends
                caller, argument = argument, caller
            self.out.dependencies.append(
                Dependency(
                    caller,
                    argument,
                    stereo.group("st") if stereo else "depends_on",
                    role.group("role") if role else None,
                    self.loc(line + text.count("\n", 0, m.start())),
                    self.block,
                    in_string=in_string,
                )
            )
            return "a dependency link"
        m = _SPACED_IDENT.match(stripped)
        if m:
            raw = m.group("name")
            self.diag(
                Severity.WARNING,
                "identifier-with-spaces",
                line,
                f"identifier {raw!r} read as {normalise_identifier(raw)!r}",
            )
            self.reference(
                raw, line, via="string-list" if in_string else "trace", in_string=in_string
            )
            return "a reference"
        return ""

    def recover_definition(self, m: re.Match[str], text: str, line: int, *, in_string: bool) -> str:
        raw_ident, func, kind = m.group("target"), m.group("func"), m.group("kind")
        if func != "CClass":
            self.diag(Severity.WARNING, "misspelled-function", line, f"{func}( read as CClass(")
        if " " in raw_ident:
            self.diag(
                Severity.WARNING,
                "identifier-with-spaces",
                line,
                f"identifier {raw_ident!r} read as {normalise_identifier(raw_ident)!r}",
            )
        if kind == "source":
            self.recover_source(raw_ident, text, line)
            return "the source record"
        label = _label_after(text, m.end())
        if kind not in _KINDS or label is None:
            return ""
        self.definition(raw_ident, kind, label, line, in_string=in_string)
        return "a definition"

    def recover_source(self, variable: str, text: str, line: int) -> None:
        if not self.has_room(line):
            return
        lm = _SOURCE_RE.search(text)
        fields: dict[str, FieldValue] = {}
        for vm in _VALUE_RE.finditer(text):
            name = _TRACE_KEYS.get(vm.group("key").strip())
            if name is None:
                continue
            key_line = line + text.count("\n", 0, vm.start())
            if vm.group("b") is not None:
                fields[name] = FieldValue(vm.group("b") == "True", key_line)
                continue
            value = vm.group("val")
            if "\n" in value:
                self.diag(
                    Severity.WARNING,
                    "broken-string",
                    key_line,
                    f"the {name} string is broken over lines; its pieces were joined",
                )
                value = "".join(part.strip() for part in value.split("\n"))
            fields[name] = FieldValue(value.strip() or None, key_line)
        self.out.sources.append(
            SourceTrace(variable, lm.group("label") if lm else None, line, fields)
        )

    def recover_relations(self, text: str, line: int, *, in_string: bool) -> int:
        """Walk ``solution: {force: impact}`` tokens, whatever the brackets and commas say.

        A missing comma or brace leaves later ``force: impact`` pairs with the last solution
        named, which is what the coder meant in every real case.
        """
        toks = [(m.group(), m.start()) for m in _RELATION_TOKENS.finditer(text)]
        solution: str | None = None
        count = 0
        i = 0
        while i < len(toks):
            tok, _pos = toks[i]
            if IDENT.fullmatch(tok) and i + 1 < len(toks) and toks[i + 1][0] == ":":
                j = i + 2
                if j < len(toks) and toks[j][0] in "{(":
                    solution = tok
                    i = j + 1
                    continue
                words = []
                while (
                    j < len(toks)
                    and IDENT.fullmatch(toks[j][0])
                    and not (j + 1 < len(toks) and toks[j + 1][0] == ":")
                ):
                    words.append(toks[j][0])
                    j += 1
                if solution is not None and words:
                    at = line + text.count("\n", 0, toks[i][1])
                    self.relation(solution, tok, " ".join(words), at, in_string=in_string)
                    count += 1
                i = max(j, i + 1)
                continue
            i += 1
        return count


def _impact_text(node: ast.expr | None) -> str | None:
    """The impact as written; a blank string is none (it would name no level, not even in IRIs)."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.strip():
        return node.value
    return None


def _label_after(text: str, pos: int) -> str | None:
    """The string label after ``CClass(kind,`` even with mismatched quotes (``"Secure DP')``)."""
    if pos >= len(text) or text[pos] not in "\"'":
        return None
    quote = text[pos]
    end_of_line = text.find("\n", pos)
    if end_of_line < 0:
        end_of_line = len(text)
    close = text.find(quote, pos + 1, end_of_line)
    if close < 0:
        other = "'" if quote == '"' else '"'
        close = text.find(other, pos + 1, end_of_line)
    if close < 0:
        return None
    return text[pos + 1 : close]


_NOT_TEXT = "\0"  # a role_name that is not a string literal (never read as text)


def _role_and_stereotype(call: ast.Call) -> tuple[str | None, str | None]:
    """The ``role_name`` (:data:`_NOT_TEXT` when it is not a string literal: a huge int
    literal cannot even be turned into text) and the first ``stereotype_instances`` name."""
    role = stereotype = None
    for kw in call.keywords:
        if kw.arg == "role_name":
            value = kw.value
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                role = value.value
            else:
                role = _NOT_TEXT
        elif kw.arg == "stereotype_instances":
            val = kw.value
            if isinstance(val, ast.List | ast.Tuple) and val.elts:
                val = val.elts[0]
            if isinstance(val, ast.Name):
                stereotype = val.id
    return role, stereotype


def _link_kind(role: str | None, stereotype: str | None) -> str | None:
    """ "next" or "context" when an ``add_links`` is one of those links, else None."""
    if role in NEXT_ROLES or stereotype in NEXT_KINDS:
        return "next"
    if stereotype in CONTEXT_KINDS:
        return "context"
    return None


def _reason(err: BaseException) -> str:
    if isinstance(err, SyntaxError):
        return err.msg
    return type(err).__name__


def _shorten(text: str, limit: int = 80) -> str:
    one = " ".join(text.split())
    return one if len(one) <= limit else one[: limit - 1] + "…"
