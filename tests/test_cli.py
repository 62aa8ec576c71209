"""The ``meshkg`` command, run as a real process on real files."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from rdflib import Dataset, Graph, Literal
from rdflib.namespace import RDF, SH

from app.extraction import ExtractionOut, json_schema
from app.vocab import MK
from tests.conftest import ROOT

SEEDS = ROOT / "seeds"
GOOD = """# s
3
## url
https://example.org/good
## title
A good note
## source type
Blog Post
## author type
Practitioner

**AXIAL CODING TRACE:**
``` python
s3 = CClass(source, "s3", values={"title": "A good note", "url": "https://example.org/good"})
```

> A quoted passage about self-serve platforms.

**AXIAL CODING TRACE:**
added:
``` python
platform = CClass(practice, "Self-serve platform")
speed = CClass(force, "Speed")
add_force_relations({platform: {speed: positive}})
```
"""


def meshkg(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("meshkg")
    command = [exe] if exe else [sys.executable, "-m", "app.cli"]
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run(
        [*command, *args],
        check=False,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


@pytest.fixture
def study(tmp_path: Path) -> Path:
    folder = tmp_path / "study"
    folder.mkdir()
    (folder / "s_3.md").write_text(GOOD, "utf-8")
    return folder


def test_build_the_project_seeds(tmp_path: Path) -> None:
    out = tmp_path / "graph.ttl"
    run = meshkg("build", "seeds", "-o", str(out))
    assert run.returncode == 0, run.stderr
    assert "triples from 1 seed file(s)" in run.stderr
    graph = Graph().parse(out)
    sources = set(graph.subjects(RDF.type, MK.Source))
    assert [str(s).rsplit("/", 1)[-1] for s in sources] == ["s6"]


@pytest.mark.parametrize("ext", [".ttl", ".nt", ".jsonld", ".rdf", ".trig", ".nq"])
def test_build_writes_every_format(study: Path, tmp_path: Path, ext: str) -> None:
    out = tmp_path / f"graph{ext}"
    run = meshkg("build", str(study), "-o", str(out))
    assert run.returncode == 0, run.stderr
    ds = Dataset()
    ds.parse(out)
    triples = {t for g in ds.graphs() for t in g}
    assert any(p == MK.impactLevel and o == MK.Positive for _, p, o in triples)
    if ext in (".trig", ".nq"):
        names = {str(g.identifier) for g in ds.graphs() if len(g)}
        assert names == {"https://w3id.org/meshkg/id/study"}


def test_build_to_stdout_with_a_base_iri(study: Path) -> None:
    run = meshkg("build", str(study), "-o", "-", "--base-iri", "https://example.org/kg/")
    assert run.returncode == 0, run.stderr
    graph = Graph().parse(data=run.stdout, format="turtle")
    assert any(str(s).startswith("https://example.org/kg/study/") for s in graph.subjects())


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["build", "no/such/folder", "-o", "x.ttl"], "no such file or folder: no/such/folder"),
        (["build", "seeds", "-o", "graph.xyz"], "cannot tell the format of graph.xyz"),
        (["build", "seeds", "-o", "x", "--format", "pdf"], "unknown format 'pdf'"),
        (["build", "seeds", "-o", "/no/such/dir/x.ttl"], "cannot write /no/such/dir/x.ttl"),
        (["build", "seeds", "-o", "-", "--base-iri", "ftp://x/"], "base_iri"),
        (["validate", "missing.md"], "no such file or folder: missing.md"),
        (["serve", "seeds", "--cache-mb", "-1"], "cache_mb must be between 0"),
        (["serve", "seeds", "--memory-quads", "-5"], "memory_quads must be 0"),
        (["serve", "seeds", "--query-timeout", "0"], "query_timeout must be between"),
        (["serve", "seeds", "--result-limit", "0"], "result_limit must be at least 1"),
        (["serve", "seeds", "--query-kb", "0"], "query_kb must be between 1"),
        (["serve", "no/such/folder"], "no such file or folder: no/such/folder"),
    ],
)
def test_usage_errors_are_one_line(args: list[str], message: str) -> None:
    run = meshkg(*args)
    assert run.returncode == 2
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    assert lines[0].startswith("meshkg: error: ")
    assert message in lines[0]


def test_one_broken_seed_does_not_stop_the_others(study: Path, tmp_path: Path) -> None:
    (study / "s_4.md").write_bytes(b"\x00\xff\xfe garbage \x89PNG\r\n")
    (study / "s_5.md").symlink_to(study / "gone.md")  # unreadable: a dangling link
    out = tmp_path / "g.ttl"
    run = meshkg("build", str(study), "-o", str(out))
    assert run.returncode == 0, run.stderr
    assert "reading error(s)" in run.stderr
    graph = Graph().parse(out)
    assert len(set(graph.subjects(RDF.type, MK.Source))) == 2  # s3 and the garbage note
    report = meshkg("validate", str(study), "--format", "json")
    findings = json.loads(report.stdout)["findings"]
    unreadable = [f for f in findings if f["code"] == "unreadable-file"]
    assert [Path(f["file"]).name for f in unreadable] == ["s_5.md"]
    assert any(f["code"] == "invalid-utf8" and f["file"].endswith("s_4.md") for f in findings)


def test_validate_exits_1_on_a_violation(study: Path) -> None:
    assert meshkg("validate", str(study)).returncode == 0
    broken = GOOD.replace(
        'speed = CClass(force, "Speed")', 'speed = CClass(force, "Speed")\n= = broken'
    )
    (study / "s_3.md").write_text(broken, "utf-8")
    run = meshkg("validate", str(study))
    assert run.returncode == 1
    assert "unparseable-statement" in run.stdout
    assert "s_3.md" in run.stdout
    assert "does not conform" in run.stdout


def test_validate_text_report_groups_by_file(study_dir: Path) -> None:
    """The study's warnings under the file that has them; its set-aside infos left out."""
    run = meshkg("validate", str(study_dir), "--level", "warning")
    assert run.returncode == 0, run.stderr
    text = run.stdout
    files = [line for line in text.splitlines() if line.endswith(".md")]
    assert [Path(f).name for f in files] == ["s_2.md", "s_4.md"]
    s2 = text.split("study/s_2.md\n", 1)[1].split(".md\n", 1)[0]
    assert "names s3, not s2" in s2
    assert "example: header (line 1)" in s2
    s4 = text.split("study/s_4.md\n", 1)[1]
    assert "did you mean schema_registry?" in s4
    assert "set-aside" not in text
    assert "0 violation(s), 4 warning(s), 2 info(s)" in text


def test_validate_turtle_is_a_shacl_report(study: Path) -> None:
    run = meshkg("validate", str(study), "--format", "turtle")
    assert run.returncode == 0, run.stderr
    report = Graph().parse(data=run.stdout, format="turtle")
    node = report.value(predicate=RDF.type, object=SH.ValidationReport)
    assert node is not None
    assert report.value(node, SH.conforms) == Literal(True)


def test_parse_json_follows_its_schema(study_dir: Path) -> None:
    run = meshkg("parse", str(study_dir / "s_2.md"), "--json")
    assert run.returncode == 0, run.stderr
    doc = ExtractionOut.model_validate_json(run.stdout)
    (coll,) = doc.collections
    assert coll.title == "Event streams between teams"  # collection.toml beside the note
    (source,) = coll.sources
    assert source.id == "s2"
    assert len(source.quotes) == 3
    assert [c.text for c in source.open_codes] == [
        "Park failing events in a dead letter queue.",
        "schema_registry",
    ]
    assert source.header
    assert source.header.fields["tiny url"].value == "https://tinyurl.com/event-streams-s3"
    whole = ExtractionOut.model_validate_json(meshkg("parse", str(study_dir), "--json").stdout)
    assert [s.id for s in whole.collections[0].sources] == [
        "p1",
        "p2",
        "s1",
        "s2",
        "s3",
        "s4",
        "s10",
    ]


def test_published_schema_is_current() -> None:
    published = json.loads((ROOT / "docs" / "extraction.schema.json").read_text("utf-8"))
    assert published == json_schema()
    run = meshkg("parse", "--schema")
    assert json.loads(run.stdout) == published


def test_stats_counts_per_collection_and_class(study_dir: Path) -> None:
    run = meshkg("stats", str(study_dir), "seeds", "--json")
    assert run.returncode == 0, run.stderr
    data = json.loads(run.stdout)
    by_name = {c["name"]: c for c in data["collections"]}
    study = by_name["study"]
    assert (study["files"], study["sources"], study["quotes"]) == (7, 7, 25)
    assert study["codes"] == {"practice": 5, "pattern": 4, "force": 6, "decision": 2}
    assert study["unresolved"] == 1
    counted = ("relations", "impacts", "option_links", "options", "dependencies")
    assert tuple(study[k] for k in counted) == (18, 18, 4, 4, 3)
    assert study["classes"]["mk:ForceImpact"] == 18
    assert study["classes"]["mk:Interview"] == 2
    assert by_name["self-serve-platform"]["classes"]["mk:Source"] == 1  # the project's seed
    assert data["triples"] == sum(c["triples"] for c in data["collections"])
    text = meshkg("stats", str(study_dir)).stdout
    assert "mk:DecisionOption" in text
    assert "force relations (distinct)" in text


def test_version() -> None:
    run = meshkg("--version")
    assert run.returncode == 0
    assert run.stdout.startswith("meshkg ")
