"""Where seeds live on disk: files, the collections they form, and collection metadata.

A folder holding seed files (``.md`` or ``.txt``) is one collection, named after the folder;
folders inside are collections of their own, so both ``seeds/`` and ``seeds/<study>`` work. Two
folders with the same name are the same study (the user's notes beside a shared corpus) and are
read as one collection. A ``collection.toml`` beside the notes gives the study's title and
description.
"""

from __future__ import annotations

import hashlib
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from app.model import Diagnostic, Severity

SEED_SUFFIXES = (".md", ".txt")
METADATA_FILE = "collection.toml"
_NOT_SEEDS = {"readme.md", "changelog.md", "license.md", "notice.md"}


@dataclass(frozen=True, slots=True)
class SeedFile:
    """A seed to read: ``display`` is the path as the user will recognise it."""

    path: Path
    display: str
    name: str
    collection: str


@dataclass(slots=True)
class CollectionFiles:
    """The seed files of one collection and what its metadata file says."""

    name: str
    files: list[SeedFile] = field(default_factory=list)
    title: str | None = None
    description: str | None = None
    folders: list[Path] = field(default_factory=list)


def display_path(path: Path) -> str:
    """Relative to the working directory when inside it, so messages stay short."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def is_seed(path: Path) -> bool:
    name = path.name.lower()
    return (
        path.suffix.lower() in SEED_SUFFIXES and name not in _NOT_SEEDS and not name.startswith(".")
    )


def discover(paths: list[Path]) -> tuple[list[CollectionFiles], list[Diagnostic]]:
    """Find the collections under ``paths``; a missing path is a finding, not an exception."""
    found: list[Diagnostic] = []
    collections: dict[str, CollectionFiles] = {}
    seen: set[Path] = set()

    cwd = Path.cwd().resolve()

    def add(file: Path, folder: Path, real_folder: Path) -> None:
        # one resolve per folder, not per file: discovering 10 000 notes takes milliseconds
        linked = file.is_symlink()
        real = file.resolve() if linked else real_folder / file.name
        if real in seen:
            return
        seen.add(real)
        name = real_folder.name or "seeds"
        coll = collections.get(name)
        if coll is None:
            coll = collections[name] = CollectionFiles(name)
        if real_folder not in coll.folders:
            coll.folders.append(real_folder)
            _read_metadata(coll, folder, found)
        try:
            shown = str(real.relative_to(cwd))
        except ValueError:
            shown = str(file)
        coll.files.append(SeedFile(file, shown, file.name, name))

    for path in paths:
        if not path.exists():
            found.append(
                Diagnostic(Severity.ERROR, "missing-path", str(path), 0, "no such file or folder")
            )
        elif path.is_file():
            add(path, path.parent, path.parent.resolve())
        else:
            for folder, dirs, files in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                here = Path(folder)
                real_here = here.resolve()
                for fname in sorted(files):
                    candidate = here / fname
                    if is_seed(candidate):
                        add(candidate, here, real_here)
    return sorted(collections.values(), key=lambda c: c.name), found


def _read_metadata(coll: CollectionFiles, folder: Path, found: list[Diagnostic]) -> None:
    meta = folder / METADATA_FILE
    if not meta.is_file():
        return
    shown = display_path(meta)
    try:
        data = tomllib.loads(meta.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as err:
        found.append(Diagnostic(Severity.ERROR, "unreadable-file", shown, 0, str(err)))
        return
    except tomllib.TOMLDecodeError as err:
        at = re.search(r"line (\d+)", str(err))  # Python 3.11 has no err.lineno yet
        line = int(at.group(1)) if at else 0
        found.append(Diagnostic(Severity.ERROR, "bad-metadata", shown, line, str(err)))
        return
    for key in ("title", "description"):
        value = data.get(key)
        if value is None:
            continue
        if not isinstance(value, str):
            found.append(
                Diagnostic(Severity.ERROR, "bad-metadata", shown, 0, f"{key} must be a string")
            )
        elif getattr(coll, key) is None:
            setattr(coll, key, value.strip())


def read_bytes(seed: SeedFile) -> tuple[bytes | None, Diagnostic | None]:
    try:
        return seed.path.read_bytes(), None
    except OSError as err:
        reason = err.strerror or type(err).__name__
        return None, Diagnostic(Severity.ERROR, "unreadable-file", seed.display, 0, reason)


def fingerprint(found: list[CollectionFiles], *settings: str) -> str:
    """A content hash of the seeds (names, bytes, metadata) and of ``settings``.

    Two runs over unchanged seeds with the same settings get the same key, so a stored
    snapshot can be reused; any edit, added or removed note changes it.
    """
    digest = hashlib.sha256()
    for part in settings:
        digest.update(part.encode("utf-8", "surrogatepass") + b"\0")
    for coll in found:
        digest.update(b"collection\0" + coll.name.encode("utf-8", "surrogatepass") + b"\0")
        for text in (coll.title, coll.description):
            digest.update((text or "").encode("utf-8", "surrogatepass") + b"\0")
        for seed in sorted(coll.files, key=lambda s: (s.name, s.display)):
            content = _content_hash(seed)
            digest.update(f"{seed.name}\0{content}\0".encode("utf-8", "surrogatepass"))
    return digest.hexdigest()[:32]


def _content_hash(seed: SeedFile) -> str:
    data, problem = read_bytes(seed)
    return hashlib.sha256(data).hexdigest() if data is not None else f"!{problem}"
