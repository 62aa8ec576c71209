"""Golden tests on the real corpus in ../shared/corpus: counts, findings, round trips."""

from __future__ import annotations

import ast
from collections import Counter
from pathlib import Path

import pytest
from rdflib import BNode, Dataset, Graph, URIRef
from rdflib.compare import isomorphic

from app.config import Settings
from app.iris import Minter
from app.model import CodeKind, Collection, Level
from app.parse import read_note, resolve
from app.parse.decode import decode_bytes
from app.parse.notes import (
    MAX_FENCE_CHARS,
    MAX_FENCE_LINES,
    MAX_NOTE_FINDINGS,
    MAX_NOTE_ITEMS,
    MAX_NOTE_LINES,
)
from app.parse.sections import scan
from app.parse.traces import MAX_STATEMENTS, split_statements
from app.pipeline import Build, build, check, read, read_file, store
from app.rdf.formats import FORMATS, RdfFormat
from app.seeds import MAX_NOTE_BYTES, discover
from app.store.snapshot import Snapshot
from app.validate import Finding, Report
from app.vocab import MK, uri
from tests.test_hostile_seeds import CAP_CODES

SS = "self-serve-platform"
DP = "data-as-a-product"
DP_SHARED_PART = {f"s{i}" for i in range(1, 29)} | {f"p{i}" for i in range(1, 6)}


def _coll(b: Build, name: str) -> Collection:
    return next(c for c in b.corpus.collections if c.name == name)


def _graph(b: Build, iri: str) -> Graph:
    return next(g for g in b.graphs if g.identifier == URIRef(iri))


def _kinds(c: Collection) -> Counter[CodeKind | None]:
    return Counter(code.kind for code in c.codes.values())


def test_self_serve_platform_counts(corpus_build: Build) -> None:
    c = _coll(corpus_build, SS)
    kinds = _kinds(c)
    assert len(c.sources) == 43
    assert [n.name for n in c.notes if n.is_template] == ["s_.md"]
    assert kinds[CodeKind.PRACTICE] == 55
    assert kinds[CodeKind.PATTERN] == 22
    assert kinds[CodeKind.FORCE] == 37
    assert kinds[CodeKind.DECISION] == 0
    assert sum(len(n.relations) for n in c.notes) == 0
    assert sum(len(n.options) for n in c.notes) == 0


def test_data_as_a_product_counts(corpus_build: Build) -> None:
    c = _coll(corpus_build, DP)
    kinds = _kinds(c)
    assert {src.id for _, src in c.sources} == DP_SHARED_PART
    assert kinds[CodeKind.PRACTICE] == 37
    assert kinds[CodeKind.PATTERN] == 34
    assert kinds[CodeKind.FORCE] == 49
    assert kinds[CodeKind.DECISION] == 10
    assert sum(len(n.relations) for n in c.notes) == 94
    assert len(c.impacts) == 93
    assert sum(len(n.options) for n in c.notes) == 53
    assert len(c.options) == 52
    assert len(c.dependencies) == 2


def test_quote_paragraphs(corpus_build: Build, user_seed: Path) -> None:
    """Quotes are CommonMark blockquote paragraphs, markers written inside quotes excluded."""
    assert sum(len(n.quotes) for n in _coll(corpus_build, SS).notes) == 537
    assert sum(len(n.quotes) for n in _coll(corpus_build, DP).notes) == 1384
    seed = read_note(user_seed.read_text("utf-8"), file="seed", name=user_seed.name, collection=SS)
    assert len(seed.quotes) == 23


def test_user_seed_is_s6_with_extra_open_codes(corpus_dir: Path, user_seed: Path) -> None:
    found, _ = discover([corpus_dir / SS])
    notes = [read_file(s) for s in found[0].files if s.name != "s_6.md"]
    seed = read_note(user_seed.read_text("utf-8"), file="seed", name=user_seed.name, collection=SS)
    assert seed.source is not None
    assert seed.source.id == "s6"
    assert seed.source.id_witnesses["file"] is None  # 000_15eeaea9ef02ddc7.txt names no id
    assert len(seed.open_codes) == 19
    coll = resolve(SS, [*notes, seed])
    unresolved_in_seed = {
        code.ident
        for code in coll.codes.values()
        if not code.resolved and any(sid == "s6" for sid, _ in code.references)
    }
    assert unresolved_in_seed == {
        "data_governance_function",
        "data_transformation_function",
        "testing_dp",
        "delegated_ownership",
    }
    for ident in ("costs", "time_travel", "secure_dp", "data_transformation_orchestration"):
        assert coll.codes[ident].resolved, ident


def _shacl(report: Report, code: str) -> list[Finding]:
    return [f for f in report.findings if f.code == code and f.origin == "shacl"]


def test_validate_lists_real_defects(corpus_report: Report) -> None:
    short = {
        (Path(f.file or "").name, f.value) for f in _shacl(corpus_report, "short-link-mismatch")
    }
    assert ("s_6.md", "https://tinyurl.com/self-serve-plaform-s7") in short
    assert ("s_6.md", "https://bit.ly/self-serve-platform-s5") in short
    assert ("s_21.md", "https://tinyurl.com/data-as-a-product-s20") in short
    assert len(short) == 11  # 15 in the notes, 4 of them in the user's seed

    dup = {f.focus.rsplit("/", 1)[-1] for f in _shacl(corpus_report, "duplicate-label") if f.focus}
    assert dup == {"in_place_consumption", "restore_data_without_backups", "ci_cd", "ci_cd_process"}

    labels = list(_shacl(corpus_report, "label-conflict"))
    assert [f.focus.rsplit("/", 1)[-1] for f in labels if f.focus] == ["accuracy"]

    undefined = {f.message.split()[0] for f in _shacl(corpus_report, "undefined-reference")}
    assert {"ci_cd_proces", "communication_decision", "change_data_capture"} <= undefined
    typo = next(
        f for f in _shacl(corpus_report, "undefined-reference") if "ci_cd_proces " in f.message
    )
    assert "did you mean ci_cd_process?" in typo.message

    mismatch = [
        f for f in _shacl(corpus_report, "header-trace-mismatch") if f.file and "p_5.md" in f.file
    ]
    assert any("Expert E" in f.message and "Expert D" in f.message for f in mismatch)

    urls = {
        f.value
        for f in corpus_report.findings
        if f.code == "record-value" and f.path == "schema:url"
    }
    assert (
        "hhttps://netflixtechblog.com/data-movement-in-netflix-studio-via-data-mesh-3fddcceb1059"
        in urls
    )


def test_findings_point_to_file_and_line(corpus_report: Report) -> None:
    located = [f for f in corpus_report.findings if f.origin == "shacl"]
    assert located
    assert all(f.file and f.file.endswith(".md") for f in located)
    s6 = [
        f for f in _shacl(corpus_report, "duplicate-label") if f.file and f.file.endswith("s_6.md")
    ]
    assert sorted(f.line for f in s6) == [139, 141]


def test_no_structural_violations_on_the_corpus(corpus_report: Report) -> None:
    assert [f for f in corpus_report.findings if f.level is Level.VIOLATION] == []
    assert corpus_report.conforms


def test_reader_and_shapes_agree(corpus_build: Build, corpus_report: Report) -> None:
    """Checks made by both the reader and the shapes find the same places."""
    reader = corpus_build.corpus.all_diagnostics()
    reader_undefined = {d.message.split()[0] for d in reader if d.code == "undefined-reference"}
    shacl_undefined = {f.message.split()[0] for f in _shacl(corpus_report, "undefined-reference")}
    assert reader_undefined == shacl_undefined
    reader_short = Counter(Path(d.file).name for d in reader if d.code == "short-link-mismatch")
    shacl_short = Counter(
        Path(f.file or "").name for f in _shacl(corpus_report, "short-link-mismatch")
    )
    assert reader_short == shacl_short
    reader_mismatch = sum(1 for d in reader if d.code == "header-trace-mismatch")
    # the shapes also compare the id as each record writes it (s33 vs s34, s33 vs s35)
    assert len(_shacl(corpus_report, "header-trace-mismatch")) == reader_mismatch + 2


def test_graphs_are_named_by_collection(corpus_build: Build) -> None:
    base = corpus_build.settings.base_iri
    names = {g.identifier for g in corpus_build.graphs if len(g)}
    assert names == {Minter(base, SS, uri).collection, Minter(base, DP, uri).collection}
    # s1 exists in both studies and stays two sources
    s1 = {Minter(base, c, uri).source("s1") for c in (SS, DP)}
    assert len(s1) == 2
    for iri in s1:
        assert sum(len(list(g.triples((iri, None, None)))) for g in corpus_build.graphs)


@pytest.fixture(scope="module")
def corpus_snapshot(corpus_build: Build) -> Snapshot:
    return store(corpus_build)


@pytest.mark.parametrize("fmt", FORMATS, ids=lambda f: f.extension)
def test_round_trip_in_every_format(
    corpus_build: Build, corpus_snapshot: Snapshot, fmt: RdfFormat
) -> None:
    """The graph written in each format re-parses (in rdflib) to the graph that was built."""
    data = corpus_snapshot.serialize(fmt)
    built = corpus_build.graphs
    if fmt.quads:
        back = Dataset()
        back.parse(data=data, format=_RDFLIB[fmt.name])
        for graph in built:
            if len(graph):
                assert set(back.graph(graph.identifier)) == set(graph), graph.identifier
    else:
        back_graph = Graph().parse(data=data, format=_RDFLIB[fmt.name])
        union = {t for g in built for t in g}
        assert not any(isinstance(t, BNode) for triple in union for t in triple)
        assert set(back_graph) == union


_RDFLIB = {
    "turtle": "turtle",
    "ntriples": "nt",
    "jsonld": "json-ld",
    "rdfxml": "xml",
    "trig": "trig",
    "nquads": "nquads",
}


def test_isomorphic_after_turtle_round_trip(corpus_build: Build, corpus_snapshot: Snapshot) -> None:
    for info in corpus_snapshot.info.collections:
        built = _graph(corpus_build, info.graph)
        turtle = corpus_snapshot.serialize(FORMATS[0], info.name)
        assert isomorphic(Graph().parse(data=turtle, format="turtle"), built)


def test_snapshot_counts_match_the_graph(corpus_build: Build, corpus_snapshot: Snapshot) -> None:
    for info in corpus_snapshot.info.collections:
        assert info.triples == len(_graph(corpus_build, info.graph))
    assert corpus_snapshot.class_counts(DP)["mk:ForceImpact"] == 93
    assert corpus_snapshot.class_counts()["mk:Quote"] == 1384 + 537


def test_iris_are_stable_across_runs(corpus_dir: Path) -> None:
    first = read([corpus_dir / DP])
    second = read([corpus_dir / DP])
    assert list(first.collections[0].codes) == list(second.collections[0].codes)
    ident = "request_access_search_engine"
    assert Minter("https://example.org/kg/", DP, uri).code(ident) == URIRef(
        f"https://example.org/kg/{DP}/code/{ident}"
    )


def _keys(report: Report) -> Counter[tuple[str, str | None, str | None, int | None, str]]:
    return Counter((f.code, f.focus, f.file, f.line, f.message) for f in report.findings)


@pytest.mark.parametrize("folder", ["", DP], ids=["per-collection", "split-by-shapes"])
def test_parallel_validation_finds_what_one_process_finds(corpus_dir: Path, folder: str) -> None:
    """Workers per collection, or per group of shapes when collections are fewer than workers."""
    seeds = [corpus_dir / folder] if folder else [corpus_dir]
    one = check(build(seeds, Settings(workers=1)))
    two = check(build(seeds, Settings(workers=2)))
    assert _keys(one) == _keys(two)
    assert len(one.graph) == len(two.graph)


def test_the_corpus_is_far_below_every_cap(corpus_dir: Path) -> None:
    """At least ten times: a cap must never touch a real note."""
    collections, _ = discover([corpus_dir])
    seeds = [seed for coll in collections for seed in coll.files]
    assert seeds
    for seed in seeds:
        data = seed.path.read_bytes()
        assert len(data) * 10 < MAX_NOTE_BYTES
        text, _ = decode_bytes(data, seed.display)
        assert text.count("\n") * 10 < MAX_NOTE_LINES
        for item in scan(text):
            if item.kind != "fence":
                continue
            assert len(item.text) * 10 < MAX_FENCE_CHARS
            assert item.text.count("\n") * 10 < MAX_FENCE_LINES
            try:
                statements = len(ast.parse(item.text).body)
            except SyntaxError:
                statements = len(split_statements(item.text.split("\n")))
            assert statements * 10 < MAX_STATEMENTS
        read_ = read_file(seed)
        items = (
            len(read_.quotes)
            + len(read_.open_codes)
            + sum(1 + len(b.evidence) for b in read_.blocks)
            + len(read_.definitions)
            + len(read_.references)
            + len(read_.relations)
            + len(read_.options)
            + len(read_.dependencies)
        )
        assert items * 10 < MAX_NOTE_ITEMS, seed.display
        assert len(read_.diagnostics) * 10 < MAX_NOTE_FINDINGS
        assert [d.code for d in read_.diagnostics if d.code in CAP_CODES] == []


def test_statement_evidence_in_data_as_a_product(corpus_build: Build) -> None:
    """A source that states an impact, option or dependency is evidence of every code the
    statement names: 30 (source, code) pairs that were missing in data-as-a-product's shared
    part (413 → 443), s2's option link of data_product_type_decision (s_2.md:102) among them."""
    triples = corpus_build.triples[DP]
    m = Minter(Settings().base_iri, DP, str)
    evidence = {
        (str(s), str(o)) for s, p, o in triples if p == MK.evidenceSource and "/code/" in str(s)
    }
    stated = {(str(s), str(o)) for s, p, o in triples if p == MK.statementSource}
    assert len(evidence) == 443
    assert stated <= evidence
    pair = (m.code("data_product_type_decision"), m.source("s2"))
    assert pair in evidence
    assert pair in stated


def test_option_slips_in_data_as_a_product(corpus_build: Build) -> None:
    """s_1.md gives register_datasets the name of the service locator option (line 168), and
    s_2.md links rest_apis a second time as the SQL option (line 187)."""
    found = sorted(
        (Path(d.file).name, d.line, d.code)
        for d in corpus_build.corpus.all_diagnostics()
        if d.code in ("option-name-shared", "option-names-differ")
    )
    assert found == [("s_1.md", 168, "option-name-shared"), ("s_2.md", 187, "option-names-differ")]


def test_forces_listed_for_practices_in_self_serve(corpus_build: Build) -> None:
    """access_control (the force "Access controls", s_8.md:100, impacted by nothing) is listed
    where the practice access_control_management was meant: s_26, s_27 and s_33, and nowhere
    else in either study."""
    found = sorted(
        (Path(d.file).name, d.line)
        for d in corpus_build.corpus.all_diagnostics()
        if d.code == "force-for-practice"
    )
    assert found == [("s_26.md", 128), ("s_27.md", 106), ("s_33.md", 98)]
