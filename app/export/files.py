"""Where a study's artefacts go: ``DIR/<collection>/…``, UTF-8, the same bytes every run."""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

from app.export.catalogue import catalogue
from app.export.latex import force_table, overview_table, sources_table
from app.export.plantuml import diagrams
from app.export.study import Evidence, Study, read_study
from app.store.seam import GraphReader


def artefacts(study: Study, title: str, by_url: Collection[str] = ()) -> dict[str, str]:
    """Every artefact of one study, by file name."""
    return {
        "catalogue.md": catalogue(study, title),
        "sources_table.tex": sources_table(study, by_url),
        "force_table.tex": force_table(study),
        "overview_table.tex": overview_table(study),
        **diagrams(study),
    }


def write_study(
    reader: GraphReader,
    graph: str,
    title: str,
    folder: Path,
    *,
    by_url: Collection[str] = (),
    evidence: Evidence = Evidence.CODE,
) -> list[Path]:
    """Write one study's artefacts into ``folder``; the paths written."""
    study = read_study(reader, graph, evidence)
    written = []
    for name, text in artefacts(study, title, by_url).items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode("utf-8"))
        written.append(path)
    return written
