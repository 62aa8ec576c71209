"""SPARQL results in the four W3C result formats and RDF graphs, each with an honest cut.

Results are capped at the service's row limit and at its answer size. A cut result says so in
its header (done by the route) and in its body where the format has a place for it: a
``link`` in the head of the JSON and XML result formats (plus ``"truncated"`` in JSON), a
comment at the top of Turtle, N-Triples, TriG, N-Quads and RDF/XML. CSV, TSV and JSON-LD have
no such place, so a cut result is refused in them (:class:`CannotCut`) rather than sent
looking complete.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TypeVar
from xml.sax.saxutils import escape, quoteattr

import orjson
import pyoxigraph as ox

from app.rdf.formats import BY_MEDIA_TYPE, RdfFormat, graph_format
from app.store.query import Cut, QueryRequest, QueryResult
from app.store.write import serialize

XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
RDF_LANG_STRING = "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"

JSON_RESULTS = "application/sparql-results+json"
XML_RESULTS = "application/sparql-results+xml"
CSV_RESULTS = "text/csv"
TSV_RESULTS = "text/tab-separated-values"

# Generic JSON and XML get the results formats, labelled as asked: a client that accepts only
# ``application/xml`` can read SPARQL XML results, and is sent them rather than a 406.
_GENERIC = {"application/json": JSON_RESULTS, "application/xml": XML_RESULTS}
SOLUTION_TYPES = [JSON_RESULTS, XML_RESULTS, CSV_RESULTS, TSV_RESULTS, *_GENERIC]
BOOLEAN_TYPES = SOLUTION_TYPES
GRAPH_TYPES = [*BY_MEDIA_TYPE]

OxTerm = ox.NamedNode | ox.BlankNode | ox.Literal | ox.Triple | None


class CannotCut(ValueError):
    """The result is longer than the limit and the format cannot say it was cut."""


def solutions(
    variables: Sequence[str], rows: Sequence[Sequence[OxTerm]], media_type: str, cut: Cut | None
) -> bytes:
    """SELECT results; ``cut`` is the limit when rows beyond it were left out."""
    media_type = _GENERIC.get(media_type, media_type)
    if media_type == JSON_RESULTS:
        head: dict[str, object] = {"vars": list(variables)}
        doc: dict[str, object] = {"head": head}
        if cut is not None:
            head["link"] = [cut.link]
            doc["truncated"] = True
        doc["results"] = {
            "bindings": [
                {v: _json_term(t) for v, t in zip(variables, row, strict=True) if t is not None}
                for row in rows
            ]
        }
        return orjson.dumps(doc)
    if media_type == XML_RESULTS:
        return _xml_solutions(variables, rows, cut)
    if cut is not None:
        raise CannotCut(media_type)
    if media_type == CSV_RESULTS:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow(variables)
        for row in rows:
            writer.writerow([_csv_term(t) for t in row])
        return buffer.getvalue().encode()
    lines = ["\t".join(f"?{v}" for v in variables)]
    lines.extend("\t".join(_turtle_term(t) for t in row) for row in rows)
    return ("\n".join(lines) + "\n").encode()


def boolean(value: bool, media_type: str) -> bytes:
    media_type = _GENERIC.get(media_type, media_type)
    if media_type == JSON_RESULTS:
        return orjson.dumps({"head": {}, "boolean": value})
    if media_type == XML_RESULTS:
        return (
            '<?xml version="1.0"?>\n<sparql xmlns="http://www.w3.org/2005/sparql-results#">'
            f"<head/><boolean>{'true' if value else 'false'}</boolean></sparql>\n"
        ).encode()
    if media_type == CSV_RESULTS:
        return f"_askResult\r\n{'true' if value else 'false'}\r\n".encode()
    return f"?_askResult\n{'true' if value else 'false'}\n".encode()


def graph(triples: Sequence[ox.Triple], fmt: RdfFormat, cut: Cut | None) -> bytes:
    """CONSTRUCT / DESCRIBE results as RDF; a cut graph starts with a comment saying so."""
    if cut is not None and fmt.name == "jsonld":
        raise CannotCut(fmt.media_type)
    if fmt.quads:
        body = serialize(
            [ox.Quad(t.subject, t.predicate, t.object, ox.DefaultGraph()) for t in triples], fmt
        )
    else:
        body = serialize(triples, fmt)
    if cut is None:
        return body
    note = cut.note("triples")
    if fmt.name == "rdfxml":
        head, sep, rest = body.partition(b"?>")
        return head + sep + f"\n<!-- {note} -->".encode() + rest if sep else body
    return f"# {note}\n".encode() + body


def _json_term(term: OxTerm) -> dict[str, str]:
    if isinstance(term, ox.NamedNode):
        return {"type": "uri", "value": term.value}
    if isinstance(term, ox.BlankNode):
        return {"type": "bnode", "value": term.value}
    if isinstance(term, ox.Literal):
        out = {"type": "literal", "value": term.value}
        if term.language:
            out["xml:lang"] = term.language
        elif term.datatype.value not in (XSD_STRING, RDF_LANG_STRING):
            out["datatype"] = term.datatype.value
        return out
    return {"type": "literal", "value": str(term)}


def _xml_solutions(
    variables: Sequence[str], rows: Sequence[Sequence[OxTerm]], cut: Cut | None
) -> bytes:
    out = ['<?xml version="1.0"?>\n<sparql xmlns="http://www.w3.org/2005/sparql-results#"><head>']
    out.extend(f"<variable name={quoteattr(v)}/>" for v in variables)
    if cut is not None:
        out.append(f"<link href={quoteattr(cut.link)}/>")
    out.append("</head><results>")
    for row in rows:
        out.append("<result>")
        for v, t in zip(variables, row, strict=True):
            if t is None:
                continue
            out.append(f"<binding name={quoteattr(v)}>{_xml_term(t)}</binding>")
        out.append("</result>")
    out.append("</results></sparql>\n")
    return "".join(out).encode()


def _xml_term(term: OxTerm) -> str:
    if isinstance(term, ox.NamedNode):
        return f"<uri>{escape(term.value)}</uri>"
    if isinstance(term, ox.BlankNode):
        return f"<bnode>{escape(term.value)}</bnode>"
    if isinstance(term, ox.Literal):
        if term.language:
            return f"<literal xml:lang={quoteattr(term.language)}>{escape(term.value)}</literal>"
        if term.datatype.value not in (XSD_STRING, RDF_LANG_STRING):
            return (
                f"<literal datatype={quoteattr(term.datatype.value)}>{escape(term.value)}</literal>"
            )
        return f"<literal>{escape(term.value)}</literal>"
    return f"<literal>{escape(str(term))}</literal>"


def _csv_term(term: OxTerm) -> str:
    if term is None:
        return ""
    if isinstance(term, ox.BlankNode):
        return f"_:{term.value}"
    if isinstance(term, ox.NamedNode | ox.Literal):
        return term.value
    return str(term)


def _turtle_term(term: OxTerm) -> str:
    return "" if term is None else str(term)


# --- an answer, within the request's limits ---------------------------------------------------

_TERM_OVERHEAD = 24  # what a term adds to an answer besides its value, at least
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Table:
    """Solutions given as plain rows (a remote server's, once its dialect is undone)."""

    variables: list[str]
    rows: Iterable[tuple[OxTerm, ...]]


def answer(
    found: ox.QuerySolutions | ox.QueryBoolean | Table | Iterable[ox.Triple],
    req: QueryRequest,
    cut_before: int | None = None,
) -> QueryResult:
    """An engine's answer written in the media type asked, cut at the row and size limits:
    the same for every store (an embedded worker, or a remote server's parsed answer).
    ``cut_before``: the engine itself stopped at so many rows (a server's own row limit), so
    a complete-looking answer is marked cut there."""
    cut: Cut | None = None
    try:
        if isinstance(found, ox.QueryBoolean):
            return QueryResult(200, boolean(bool(found), req.media_type), req.media_type)
        if isinstance(found, ox.QuerySolutions):
            found = Table([v.value for v in found.variables], (tuple(s) for s in found))
        if isinstance(found, Table):
            variables = found.variables
            rows: list[tuple[OxTerm, ...]] = []
            cut = gather(found.rows, rows, req, row_size) or _server_cut(cut_before)
            body = solutions(variables, rows, req.media_type, cut)
            return QueryResult(200, body, req.media_type, cut, len(rows))
        triples: list[ox.Triple] = []
        cut = gather(found, triples, req, triple_size) or _server_cut(cut_before)
        fmt = graph_format(req.media_type)
        return QueryResult(200, graph(triples, fmt, cut), req.media_type, cut, len(triples))
    except CannotCut:
        over = f"{cut.limit} {cut.unit}" if cut is not None else "the limit"
        return QueryResult(
            422,
            code="result-too-large",
            message=(
                f"the result has more than {over} and {req.media_type} cannot say it was "
                "cut; add a LIMIT, or ask for JSON, XML or Turtle, which mark a cut result"
            ),
        )


def _server_cut(rows: int | None) -> Cut | None:
    return Cut(rows, "rows") if rows is not None else None


def gather(
    items: Iterable[T], into: list[T], req: QueryRequest, size_of: Callable[[T], int]
) -> Cut | None:
    """Take items while both limits allow; the cut that applied, if one did."""
    budget = req.answer_bytes
    size = 0
    for item in items:
        if len(into) == req.limit:
            return Cut(req.limit, "rows")
        size += size_of(item)
        if size > budget:
            return Cut(budget, "bytes")
        into.append(item)
    return None


def _term_size(term: object) -> int:
    """At least what a term adds to any serialisation of the answer."""
    value = getattr(term, "value", None)
    return _TERM_OVERHEAD + (len(value) if isinstance(value, str) else len(str(term)))


def row_size(row: tuple[OxTerm, ...]) -> int:
    return sum(_term_size(t) for t in row if t is not None)


def triple_size(triple: ox.Triple) -> int:
    return _term_size(triple.subject) + _term_size(triple.predicate) + _term_size(triple.object)
