"""The ``meshkg`` command: build, validate, parse and count graphs of seed notes.

A thin layer over :mod:`app.pipeline`: it turns arguments into settings, shows progress on a
terminal, and prints results for people (rich, coloured on a terminal) or machines (JSON,
Turtle). Usage errors (a missing path, an unknown format) are one line on stderr and exit 2;
``validate`` exits 1 when the graph has a Violation.
"""

from __future__ import annotations

import logging
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from app import __version__
from app.config import Settings
from app.model import Level
from app.rdf.formats import BY_EXTENSION, FORMATS, RdfFormat

if TYPE_CHECKING:
    from app.model import Collection
    from app.pipeline import Build
    from app.pipeline import Progress as ProgressHook
    from app.read.drift import Drift
    from app.seeds import SeedFile
    from app.validate import Finding, Report

# Commands import the stages they run when they run them: `meshkg serve` reopening a stored
# snapshot never loads rdflib or pyshacl, so it answers its first query in about a second.

cli = typer.Typer(
    name="meshkg",
    help="A knowledge graph of data-mesh practices, built from grounded-theory field notes.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
)
out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)  # one error, one line

Seeds = Annotated[
    list[Path],
    typer.Argument(
        help="Seed files or folders; a folder of notes is one collection (study).",
        show_default=False,
    ),
]
BaseIri = Annotated[
    str | None,
    typer.Option(
        "--base-iri", help="Prefix of data IRIs (env MESHKG_BASE_IRI).", show_default=False
    ),
]
SetAside = Annotated[
    bool,
    typer.Option(
        "--set-aside/--no-set-aside",
        help="Keep coding written inside ''' strings (marked as set aside).",
    ),
]
Workers = Annotated[
    int | None,
    typer.Option(
        "--workers", min=1, help="Processes to use (default: one per core).", show_default=False
    ),
]


class ReportFormat(StrEnum):
    text = "text"
    json = "json"
    turtle = "turtle"


def _fail(message: str) -> NoReturn:
    err.print(f"meshkg: error: {escape(message)}", style="red")
    raise typer.Exit(2)


def _settings(base_iri: str | None, set_aside: bool, workers: int | None) -> Settings:
    overrides: dict[str, object] = {"include_set_aside": set_aside}
    if base_iri is not None:
        overrides["base_iri"] = base_iri
    if workers is not None:
        overrides["workers"] = workers
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        _fail(f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}")


def _check_paths(seeds: list[Path]) -> None:
    for path in seeds:
        if not path.exists():
            _fail(f"no such file or folder: {path}")
        if path.is_dir() and not _readable_dir(path):
            _fail(f"cannot read folder: {path}")


def _readable_dir(path: Path) -> bool:
    try:
        next(path.iterdir(), None)
    except OSError:
        return False
    return True


@contextmanager
def _progress(enabled: bool) -> Iterator[ProgressHook | None]:
    """A progress bar on a terminal; nothing when piped, so output stays clean."""
    if not enabled or not err.is_terminal:
        yield None
        return
    bar = Progress(
        TextColumn("reading"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    )
    task = bar.add_task("seeds", total=None)

    def hook(seed: SeedFile, done: int, total: int) -> None:
        bar.update(task, completed=done, total=total, description=seed.display)

    with bar:
        yield hook


def _build(seeds: list[Path], settings: Settings) -> Build:
    from app.pipeline import build

    _check_paths(seeds)
    with _progress(True) as hook:
        return build(seeds, settings, progress=hook)


StorePath = Annotated[
    Path | None,
    typer.Option(
        "--store",
        help="Folder of stored snapshots: keep the graph there, reused while seeds are unchanged.",
        show_default=False,
    ),
]
ServeStore = Annotated[
    str | None,
    typer.Option(
        "--store",
        help="Folder of stored snapshots (kept there, reused while seeds are unchanged), or the "
        "URL of a SPARQL server a build was published to (--publish): served from there.",
        show_default=False,
    ),
]


def _is_url(text: str) -> bool:
    return text.startswith(("http://", "https://"))


@cli.command("build")
def build_command(
    seeds: Seeds,
    output: Annotated[
        Path | None,
        typer.Option(
            "-o", "--output", help="Output file; '-' writes to stdout.", show_default=False
        ),
    ] = None,
    fmt: Annotated[
        str | None,
        typer.Option(
            "--format",
            "-f",
            help="One of "
            + ", ".join(f.extension.lstrip(".") for f in FORMATS)
            + " (default: from the output's extension).",
            show_default=False,
        ),
    ] = None,
    store_path: StorePath = None,
    publish_url: Annotated[
        str | None,
        typer.Option(
            "--publish",
            help="URL of a SPARQL 1.1 server (Oxigraph's layout: /query, /update, /store): "
            "publish the graph there, switching readers in one step (credentials: "
            "MESHKG_STORE_USER, MESHKG_STORE_PASSWORD).",
            show_default=False,
        ),
    ] = None,
    base_iri: BaseIri = None,
    set_aside: SetAside = True,
    workers: Workers = None,
) -> None:
    """Build the graph of SEEDS and write it (.ttl .nt .jsonld .rdf .trig .nq), store it, or
    publish it to a SPARQL server."""
    from app.pipeline import publish, store

    if output is None and store_path is None and publish_url is None:
        _fail(
            "give an output file (-o FILE), a snapshot folder (--store PATH) or a server "
            "(--publish URL)"
        )
    if publish_url is not None and not _is_url(publish_url):
        _fail(f"--publish: {publish_url!r} is not an http(s) URL")
    rdf_format = _output_format(output, fmt) if output is not None else None
    settings = _settings(base_iri, set_aside, workers)
    built = _build(seeds, settings)
    if publish_url is not None:
        from app.store.sparql_http import RemoteRefused, RemoteUnavailable

        try:
            published = publish(built, publish_url)
        except (RemoteUnavailable, RemoteRefused, RuntimeError) as exc:
            _fail(f"publishing to {publish_url} failed, readers keep what they had: {exc}")
    snap = published if publish_url is not None and store_path is None else store(built, store_path)
    if store_path is not None:  # kept in the snapshot, so a service reopening it answers at once
        from app.read.lookup import tables

        started = time.perf_counter()
        tables(snap)
        built.timings["api tables"] = time.perf_counter() - started
    if output is not None and rdf_format is not None:
        data = snap.serialize(rdf_format)
        if str(output) == "-":
            sys.stdout.buffer.write(data)
            sys.stdout.flush()
        else:
            try:
                output.write_bytes(data)
            except OSError as exc:
                _fail(f"cannot write {output}: {exc.strerror or exc}")
    corpus = built.corpus
    notes = sum(len(c.notes) for c in corpus.collections)
    errors = sum(1 for d in corpus.all_diagnostics() if d.severity == "error")
    seconds = sum(built.timings.values())
    targets = [str(t) for t in (output, store_path, publish_url) if t is not None and str(t) != "-"]
    err.print(
        f"built {snap.info.triples:,} triples from {notes} seed file(s) in "
        f"{len(corpus.collections)} collection(s) in {seconds:.2f} s"
        + (f" -> {escape(', '.join(targets))}" if targets else "")
    )
    if errors:
        err.print(f"{errors} reading error(s); run `meshkg validate` for details", style="yellow")


def _output_format(output: Path, fmt: str | None) -> RdfFormat:
    names = {f.name: f for f in FORMATS} | {f.extension.lstrip("."): f for f in FORMATS}
    if fmt is not None:
        if fmt.lower().lstrip(".") not in names:
            _fail(f"unknown format {fmt!r}; use one of {', '.join(sorted(names))}")
        return names[fmt.lower().lstrip(".")]
    if str(output) == "-":
        return BY_EXTENSION[".ttl"]
    suffix = output.suffix.lower()
    if suffix not in BY_EXTENSION:
        _fail(
            f"cannot tell the format of {output}; use one of {', '.join(BY_EXTENSION)} or --format"
        )
    return BY_EXTENSION[suffix]


_STYLE = {Level.VIOLATION: "bold red", Level.WARNING: "yellow", Level.INFO: "cyan"}


@cli.command("validate")
def validate_command(
    seeds: Seeds,
    report_format: Annotated[
        ReportFormat, typer.Option("--format", help="text for people, json or turtle for tools.")
    ] = ReportFormat.text,
    level: Annotated[
        Level, typer.Option("--level", help="Show findings of this level and worse.")
    ] = Level.INFO,
    base_iri: BaseIri = None,
    set_aside: SetAside = True,
    workers: Workers = None,
) -> None:
    """Check SEEDS with the SHACL shapes and the reader; exit 1 on any Violation."""
    from app.pipeline import check

    settings = _settings(base_iri, set_aside, workers)
    built = _build(seeds, settings)
    if any(c.model is not None for c in built.corpus.collections):
        paths = {f"{c.name}/{n.name}": n.file for c in built.corpus.collections for n in c.notes}
        paths |= {
            f"{c.name}/{f.name}": f.file
            for c in built.corpus.collections
            for f in (c.model.files if c.model else [])
        }
        for drifted in _drifts(built, settings):
            built.corpus.diagnostics.extend(drifted.diagnostics(paths))
    report = check(built)
    levels = list(Level)
    shown = [f for f in report.findings if levels.index(f.level) <= levels.index(level)]
    if report_format is ReportFormat.json:
        out.print_json(data=_report_json(report, shown))
    elif report_format is ReportFormat.turtle:
        sys.stdout.write(report.graph.serialize(format="turtle"))
    else:
        _print_report(report, shown, settings.base_iri)
    if not report.conforms:
        raise typer.Exit(1)


def _report_json(report: Report, shown: list[Finding]) -> dict[str, object]:
    return {
        "conforms": report.conforms,
        "counts": {lv.value: report.count(lv) for lv in Level},
        "findings": [
            {
                "level": f.level.value,
                "code": f.code,
                "file": f.file,
                "line": f.line,
                "message": f.message,
                "focus": f.focus,
                "path": f.path,
                "value": f.value,
                "shape": f.shape,
                "component": f.component,
                "origin": f.origin,
            }
            for f in shown
        ],
    }


def _print_report(report: Report, shown: list[Finding], base: str) -> None:
    by_file: dict[str, list[Finding]] = defaultdict(list)
    for f in shown:
        by_file[f.file or "(no file)"].append(f)
    for file, findings in by_file.items():
        out.print(f"[bold]{escape(file)}[/bold]")
        for f in findings:
            where = f"{f.line:>5}" if f.line else "    -"
            value = (
                f.value
                if f.value
                and f.component != "sh:SPARQLConstraintComponent"
                and f.value not in f.message
                else None
            )
            extra = f" [dim]({escape(value.removeprefix(base))})[/dim]" if value else ""
            out.print(
                f"  {where}  [{_STYLE[f.level]}]{f.level.value:<9}[/{_STYLE[f.level]}] "
                f"[dim]{f.code}[/dim]  {escape(f.message)}{extra}"
            )
    summary = ", ".join(f"{report.count(lv)} {lv.value}(s)" for lv in Level)
    verdict = (
        "[green]conforms[/green]" if report.conforms else "[bold red]does not conform[/bold red]"
    )
    out.print(f"{summary} in {len(by_file)} file(s): {verdict}")


def _with_models(built: Build) -> list[Collection]:
    studies = [c for c in built.corpus.collections if c.model is not None]
    if not studies:
        _fail("no collection has a consolidated model: give the folder of its *_model.py files")
    return studies


def _drifts(built: Build, settings: Settings) -> list[Drift]:
    """The drift of every study with a model layer, read from its graph."""
    from app.iris import Minter
    from app.pipeline import store
    from app.read.drift import drift

    studies = _with_models(built)
    snapshot = store(built)
    try:
        return [
            drift(snapshot, Minter(settings.base_iri, c.name, str).collection, c.name)
            for c in studies
        ]
    finally:
        snapshot.close()


class DriftFormat(StrEnum):
    text = "text"
    json = "json"
    csv = "csv"


@cli.command("drift")
def drift_command(
    seeds: Seeds,
    drift_format: Annotated[
        DriftFormat, typer.Option("--format", help="text for people, json or csv for tools.")
    ] = DriftFormat.text,
    base_iri: BaseIri = None,
    set_aside: SetAside = True,
) -> None:
    """Compare each study's notes with its consolidated model: every statement one layer
    makes that the other does not, or makes otherwise, with file:line on both sides."""
    import csv

    settings = _settings(base_iri, set_aside, None)
    drifts = _drifts(_build(seeds, settings), settings)
    if drift_format is DriftFormat.json:
        out.print_json(data=[d.body() for d in drifts])
        return
    if drift_format is DriftFormat.csv:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(["collection", "kind", "subject", "notes", "model", "notes_at", "model_at"])
        for d in drifts:
            for x in d.differences:
                writer.writerow(
                    [
                        d.collection,
                        x.kind,
                        x.subject,
                        x.notes if x.notes is not None else "",
                        x.model if x.model is not None else "",
                        " ".join(x.notes_at),
                        " ".join(x.model_at),
                    ]
                )
        return
    for d in drifts:
        out.print(f"[bold]{escape(d.collection)}[/bold]")
        for x in d.differences:
            notes = x.notes if x.notes is not None else "—"
            model = x.model if x.model is not None else "—"
            where = " ".join([*x.notes_at[:2], *x.model_at[:2]])
            out.print(
                f"  {x.kind:<10} {escape(x.subject)}: notes {escape(notes)} / model "
                f"{escape(model)}  [dim]{escape(where)}[/dim]"
            )
        out.print("  summary (notes only / model only / differ):")
        for kind, n in d.summary().items():
            out.print(f"    {kind:<10} {n['notes_only']:>5} {n['model_only']:>5} {n['differ']:>5}")


@cli.command("export")
def export_command(
    seeds: Seeds,
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Folder to write into, one folder per study.")
    ],
    by_url: Annotated[
        list[str] | None,
        typer.Option(
            "--link-by-url",
            help="A source (by id) whose table link goes to its URL, not its tiny URL; repeat.",
        ),
    ] = None,
    evidence: Annotated[
        str,
        typer.Option(
            "--evidence",
            help="code: the model's code lists (the study's own); statement: the notes.",
        ),
    ] = "code",
    qdpx: Annotated[
        bool,
        typer.Option(
            "--qdpx",
            help="Also write OUTPUT/<collection>/<collection>.qdpx, a REFI-QDA project, for "
            "every collection (with or without a model).",
        ),
    ] = False,
    base_iri: BaseIri = None,
    set_aside: SetAside = True,
) -> None:
    """Write each study's decision catalogue and LaTeX tables, from its graph: for every
    collection with a consolidated model, OUTPUT/<collection>/catalogue.md, sources_table.tex,
    force_table.tex, overview_table.tex; with --qdpx, every collection's REFI-QDA project too."""
    from app.export.files import write_study
    from app.export.qdpx import write_qdpx
    from app.export.study import Evidence
    from app.iris import Minter
    from app.pipeline import store

    if evidence not in {e.value for e in Evidence}:
        _fail(f"unknown --evidence {evidence!r}; use code or statement")
    settings = _settings(base_iri, set_aside, None)
    built = _build(seeds, settings)
    if not qdpx:
        _with_models(built)  # the study artefacts need a model
    snapshot = store(built)
    try:
        for coll in built.corpus.collections:
            if coll.model is None and not qdpx:
                continue
            graph = Minter(settings.base_iri, coll.name, str).collection
            try:
                written = []
                if coll.model is not None:
                    written = write_study(
                        snapshot,
                        graph,
                        coll.title or coll.name,
                        output / coll.name,
                        by_url=set(by_url or ()),
                        evidence=Evidence(evidence),
                    )
                if qdpx:
                    written.append(
                        write_qdpx(snapshot, graph, coll.name, output / coll.name, coll.title)
                    )
            except OSError as err:
                _fail(f"cannot write into {output}: {err.strerror or err}")
            for path in written:
                out.print(f"wrote {escape(str(path))}")
    finally:
        snapshot.close()


@cli.command("suggest")
def suggest_command(
    seeds: Seeds,
    base_iri: BaseIri = None,
    set_aside: SetAside = True,
) -> None:
    """Propose lines for each study's curation.toml: typo twins to alias and codes two studies
    share, with the evidence for each. Nothing changes until a person copies a line there."""
    from app.suggest import suggest

    settings = _settings(base_iri, set_aside, None)
    found = suggest(_build(seeds, settings).corpus)
    if not found:
        out.print("no suggestions")
        return
    current: tuple[str, str] | None = None
    for s in found:
        if (s.collection, s.table) != current:
            current = (s.collection, s.table)
            out.print(f"\n# {escape(s.collection)}/curation.toml\n[{s.table}]")
        for line in s.evidence:
            out.print(f"# {escape(line)}")
        out.print(escape(s.line))


@cli.command("parse")
def parse_command(
    seeds: Annotated[
        list[Path] | None, typer.Argument(show_default=False, help="Seed files or folders.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the extraction as JSON.")] = False,
    schema: Annotated[
        bool, typer.Option("--schema", help="Print the JSON Schema of --json and exit.")
    ] = False,
    set_aside: SetAside = True,
    workers: Workers = None,
) -> None:
    """Show what the reader extracts from SEEDS (sources, codes, relations, diagnostics)."""
    from app.extraction import extraction, json_schema
    from app.pipeline import read

    if schema:
        out.print_json(data=json_schema())
        return
    if not seeds:
        _fail("give at least one seed file or folder")
    _check_paths(seeds)
    settings = _settings(None, set_aside, workers)
    with _progress(True) as hook:
        corpus = read(seeds, settings, progress=hook)
    doc = extraction(corpus)
    if as_json:
        sys.stdout.write(doc.model_dump_json(by_alias=True, indent=2) + "\n")
        return
    for coll in doc.collections:
        table = Table(title=f"{coll.name}: {len(coll.sources)} sources", title_justify="left")
        for column in (
            "source",
            "file",
            "quotes",
            "open codes",
            "defined",
            "referenced",
            "relations",
            "options",
        ):
            table.add_column(column, justify="left" if column in ("source", "file") else "right")
        for s in coll.sources:
            table.add_row(
                s.id,
                escape(s.file),
                str(len(s.quotes)),
                str(len(s.open_codes)),
                str(len(s.definitions)),
                str(len(s.references)),
                str(len(s.relations)),
                str(len(s.options)),
            )
        out.print(table)
    problems = Counter(d.severity for d in doc.diagnostics)
    out.print(
        ", ".join(f"{problems.get(sev, 0)} {sev}(s)" for sev in ("error", "warning", "info"))
        + " from the reader; `meshkg validate` shows them"
    )


@cli.command("stats")
def stats_command(
    seeds: Seeds,
    as_json: Annotated[bool, typer.Option("--json", help="Print the counts as JSON.")] = False,
    base_iri: BaseIri = None,
    set_aside: SetAside = True,
    workers: Workers = None,
) -> None:
    """Count what SEEDS hold, per collection, and the triples per class of their graph."""
    from app.pipeline import store
    from app.stats import counts

    settings = _settings(base_iri, set_aside, workers)
    built = _build(seeds, settings)
    snap = store(built)
    rows = counts(built.corpus, snap)
    if as_json:
        out.print_json(
            data={
                "collections": [asdict(r) for r in rows],
                "triples": snap.info.triples,
                "timings": {k: round(v, 4) for k, v in built.timings.items()},
            }
        )
        return
    table = Table(title="per collection", title_justify="left")
    table.add_column("")
    for r in rows:
        table.add_column(r.name, justify="right")
    lines: list[tuple[str, list[str]]] = [
        ("seed files", [str(r.files) for r in rows]),
        ("sources", [str(r.sources) for r in rows]),
        ("skipped (templates)", [str(r.skipped) for r in rows]),
        ("quotes", [str(r.quotes) for r in rows]),
        ("open-code lines", [str(r.open_codes) for r in rows]),
        *[
            (f"{k}s", [str(r.codes[k]) for r in rows])
            for k in ("practice", "pattern", "force", "decision")
        ],
        ("unresolved codes", [str(r.unresolved) for r in rows]),
        ("force relations (distinct)", [f"{r.relations} ({r.impacts})" for r in rows]),
        ("option links (distinct)", [f"{r.option_links} ({r.options})" for r in rows]),
        ("dependencies", [str(r.dependencies) for r in rows]),
        (
            "reader errors/warnings/infos",
            ["/".join(str(v) for v in r.diagnostics.values()) for r in rows],
        ),
        ("triples", [f"{r.triples:,}" for r in rows]),
    ]
    for label, values in lines:
        table.add_row(label, *values)
    out.print(table)
    classes = sorted({c for r in rows for c in r.classes})
    ctable = Table(title="instances per class (rdf:type triples)", title_justify="left")
    ctable.add_column("class")
    for r in rows:
        ctable.add_column(r.name, justify="right")
    for c in classes:
        ctable.add_row(c, *[str(r.classes.get(c, 0)) for r in rows])
    out.print(ctable)
    out.print(f"{snap.info.triples:,} triples in all")


@cli.command("serve")
def serve_command(
    seeds: Annotated[
        list[Path] | None,
        typer.Argument(help="Seed files or folders (default: seeds).", show_default=False),
    ] = None,
    store: ServeStore = None,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port (0: any free port).")] = 8000,
    query_timeout: Annotated[
        float | None,
        typer.Option(
            "--query-timeout",
            help="Seconds a SPARQL query may run (default 10).",
            show_default=False,
        ),
    ] = None,
    result_limit: Annotated[
        int | None,
        typer.Option(
            "--result-limit",
            help="Rows a SPARQL result may hold (default 10000).",
            show_default=False,
        ),
    ] = None,
    query_workers: Annotated[
        int | None,
        typer.Option(
            "--query-workers",
            min=1,
            help="Query processes (default: cores, at least 2).",
            show_default=False,
        ),
    ] = None,
    memory_quads: Annotated[
        int | None,
        typer.Option(
            "--memory-quads",
            help="Serve a stored snapshot of up to this many quads from memory, a larger one "
            "from disk (default 1000000; 0: always from disk).",
            show_default=False,
        ),
    ] = None,
    cache_mb: Annotated[
        int | None,
        typer.Option(
            "--cache-mb",
            help="Megabytes of answers kept for repeated GET requests (default 64; 0: none).",
            show_default=False,
        ),
    ] = None,
    query_kb: Annotated[
        int | None,
        typer.Option(
            "--query-kb",
            help="Kilobytes a SPARQL request may send, as query string or body (default 1024).",
            show_default=False,
        ),
    ] = None,
    query_mb: Annotated[
        int | None,
        typer.Option(
            "--query-mb",
            help="Megabytes a query worker may grow by for one query (default 1024).",
            show_default=False,
        ),
    ] = None,
    answer_mb: Annotated[
        int | None,
        typer.Option(
            "--answer-mb",
            help="Megabytes a SPARQL answer may hold; a longer one is cut (default 16).",
            show_default=False,
        ),
    ] = None,
    head_kb: Annotated[
        int | None,
        typer.Option(
            "--head-kb",
            help="Kilobytes of a request's line and headers (default 64).",
            show_default=False,
        ),
    ] = None,
    max_headers: Annotated[
        int | None,
        typer.Option(
            "--max-headers",
            help="Header fields a request may have (default 100).",
            show_default=False,
        ),
    ] = None,
    read_timeout: Annotated[
        float | None,
        typer.Option(
            "--read-timeout",
            help="Seconds a request's head, and then its body, may take to arrive (default 10).",
            show_default=False,
        ),
    ] = None,
    max_connections: Annotated[
        int | None,
        typer.Option(
            "--max-connections", help="Open connections (default 512).", show_default=False
        ),
    ] = None,
    client_queries: Annotated[
        int | None,
        typer.Option(
            "--client-queries",
            help="SPARQL queries one client may have running at once (default: half the "
            "query workers, at least 1).",
            show_default=False,
        ),
    ] = None,
    trusted_hosts: Annotated[
        str | None,
        typer.Option(
            "--trusted-hosts",
            help="Comma-separated Host names the service writes absolute URLs for; others get "
            "root-relative links (default localhost,127.0.0.1,[::1)].",
            show_default=False,
        ),
    ] = None,
    access_log: Annotated[
        str | None,
        typer.Option(
            "--access-log",
            help="Structured access log: - (stderr), a file, or off (default -).",
            show_default=False,
        ),
    ] = None,
    worker_isolation: Annotated[
        str | None,
        typer.Option(
            "--worker-isolation",
            help="How query workers are kept off the network: auto, netns or seccomp "
            "(default auto).",
            show_default=False,
        ),
    ] = None,
    watch: Annotated[
        bool,
        typer.Option(
            "--watch",
            help="Rebuild when notes change, are added or removed (SIGHUP always rebuilds).",
        ),
    ] = False,
    base_iri: BaseIri = None,
    set_aside: SetAside = True,
    workers: Workers = None,
) -> None:
    """Serve the graph of SEEDS: SPARQL, JSON API, linked data and dumps (read-only)."""
    from app.api.app import create_app
    from app.api.server import run

    seeds = seeds or [Path("seeds")]
    settings = _settings(base_iri, set_aside, workers)
    overrides = {
        k: v
        for k, v in {
            "query_timeout": query_timeout,
            "result_limit": result_limit,
            "query_workers": query_workers,
            "memory_quads": memory_quads,
            "cache_mb": cache_mb,
            "query_kb": query_kb,
            "query_mb": query_mb,
            "answer_mb": answer_mb,
            "head_kb": head_kb,
            "max_headers": max_headers,
            "read_timeout": read_timeout,
            "max_connections": max_connections,
            "client_queries": client_queries,
            "trusted_hosts": trusted_hosts,
            "access_log": access_log,
            "worker_isolation": worker_isolation,
        }.items()
        if v is not None
    }
    if overrides:
        try:
            settings = Settings(**(settings.model_dump() | overrides))
        except ValidationError as exc:
            first = exc.errors()[0]
            _fail(f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}")
    logging.basicConfig(format="meshkg: %(message)s", level=logging.WARNING)
    if store is not None and _is_url(store):
        _serve_remote(store, settings, host, port)
        return
    store_path = Path(store) if store is not None else None
    _check_paths(seeds)
    from app.pipeline import to_serve

    with _progress(True) as hook:
        snapshot, how = to_serve(seeds, settings, store_path, progress=hook)
    served = snapshot

    def ready(bound_host: str, bound_port: int) -> None:
        shown = f"[{bound_host}]" if ":" in bound_host else bound_host
        err.print(
            f"{how}: {served.info.triples:,} triples in {len(served.info.collections)} "
            f"collection(s); serving on http://{shown}:{bound_port}/ (Ctrl-C stops)"
        )

    app = create_app(snapshot, settings, seeds=seeds, store_path=store_path, watch=watch)
    run(app, settings, host, port, on_ready=ready, on_refusal=app.state.observer.refused)


def _serve_remote(url: str, settings: Settings, host: str, port: int) -> None:
    """Serve the version published at ``url``: nothing is read from the seeds."""
    from app.api.app import create_app, newer_remote, remote_store
    from app.api.server import run
    from app.store.remote import NotPublished
    from app.store.sparql_http import RemoteRefused, RemoteUnavailable

    try:
        remote = remote_store(url, settings)
    except (NotPublished, RemoteUnavailable, RemoteRefused) as exc:
        _fail(str(exc))

    def ready(bound_host: str, bound_port: int) -> None:
        shown = f"[{bound_host}]" if ":" in bound_host else bound_host
        err.print(
            f"served from {url}: {remote.info.triples:,} triples in "
            f"{len(remote.info.collections)} collection(s); serving on "
            f"http://{shown}:{bound_port}/ (Ctrl-C stops)"
        )

    app = create_app(remote, settings, follow=newer_remote(url, settings))
    run(app, settings, host, port, on_ready=ready, on_refusal=app.state.observer.refused)


def _version(value: bool) -> None:
    if value:
        out.print(f"meshkg {__version__}")
        raise typer.Exit()


@cli.callback()
def main(
    version: Annotated[
        bool | None,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Show the version and exit."
        ),
    ] = None,
) -> None:
    """meshkg: which practices address which forces, says who, with what evidence."""


if __name__ == "__main__":  # pragma: no cover
    cli()
