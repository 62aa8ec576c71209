"""Where seeds live on disk: files, the collections they form, and collection metadata.

A folder holding seed files (``.md`` or ``.txt``) is one collection, named after the folder;
the consolidated model's files (``.py``, read as text, never run) beside them or in a folder of
the same name elsewhere are the collection's model layer;
folders inside are collections of their own, so both ``seeds/`` and ``seeds/<study>`` work. Two
folders with the same name are the same study (the user's notes beside a shared corpus) and are
read as one collection. A ``collection.toml`` beside the notes gives the study's title and
description.

What the disk holds is not trusted either: a name made of control characters or undecodable bytes
is shown and used as cleaned text (with a finding), a symbolic link leading out of a folder the
user gave is refused, and only regular files of at most :data:`MAX_NOTE_BYTES` are read.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from app.model import (
    Diagnostic,
    Severity,
    clean_name,
    clean_text,
    replaced,
)

SEED_SUFFIXES = (".md", ".txt")
MODEL_SUFFIX = ".py"
METADATA_FILE = "collection.toml"
CURATION_FILE = "curation.toml"
MAX_NOTE_BYTES = 2 * 1024 * 1024
"""A seed file (or ``collection.toml``) larger than this many bytes is not read."""
_NOT_SEEDS = {"readme.md", "changelog.md", "license.md", "notice.md"}


@dataclass(frozen=True, slots=True)
class SeedFile:
    """A seed to read: ``display`` is the path as the user will recognise it.

    ``path`` is the file as the system names it; ``display``, ``name`` and ``collection`` are
    cleaned (see :func:`~app.model.clean_name`), since they reach reports and the graph.
    """

    path: Path
    display: str
    name: str
    collection: str


@dataclass(slots=True)
class CollectionFiles:
    """The seed files of one collection and what its metadata file says."""

    name: str
    files: list[SeedFile] = field(default_factory=list)
    models: list[SeedFile] = field(default_factory=list)  # the consolidated model's files
    curation: tuple[str, str] | None = None  # curation.toml beside the notes: (shown path, text)
    title: str | None = None
    description: str | None = None
    folders: list[Path] = field(default_factory=list)


def _real(path: Path) -> Path:
    """``path`` with its symbolic links resolved; unlike ``Path.resolve`` a loop never raises."""
    return Path(os.path.realpath(path))


def display_path(path: Path) -> str:
    """Relative to the working directory when inside it, so messages stay short; cleaned."""
    try:
        shown = str(_real(path).relative_to(_real(Path.cwd())))
    except ValueError:
        shown = str(path)
    return clean_name(shown)


def is_seed(path: Path) -> bool:
    name = path.name.lower()
    return (
        path.suffix.lower() in SEED_SUFFIXES and name not in _NOT_SEEDS and not name.startswith(".")
    )


_MODEL_NAME = re.compile(r"[^._][^/]*model\w*\.py")


def is_model_file(path: Path) -> bool:
    """A consolidated model's file: ``<study>_model.py``, ``sources_and_codes_model.py``,
    ``domain_model.py`` (any Python file whose name says it is a model); other Python files
    beside the notes (generators, helpers) are not part of a study."""
    return _MODEL_NAME.fullmatch(path.name) is not None


def _outside(link: Path, root: Path) -> bool:
    """A symbolic link whose target is not inside ``root`` (the folder the user gave)."""
    return link.is_symlink() and not _real(link).is_relative_to(root)


def _refused_link(link: Path, root: Path, what: str) -> Diagnostic:
    shown = str(Path(display_path(link.parent)) / clean_name(link.name))
    return Diagnostic(
        Severity.ERROR,
        "symlink-outside",
        shown,
        0,
        f"a symbolic link to a {what} outside {display_path(root)}; not read",
    )


def discover(paths: list[Path]) -> tuple[list[CollectionFiles], list[Diagnostic]]:
    """Find the collections under ``paths``; a missing path is a finding, not an exception.

    Inside a folder given, a symbolic link (to a note, a folder or ``collection.toml``) that
    leads outside that folder is refused with a finding: serving a folder must not serve what
    a link in it points to elsewhere. A file given by name is read wherever it is.
    """
    found: list[Diagnostic] = []
    collections: dict[str, CollectionFiles] = {}
    seen: set[Path] = set()
    folders_named: set[Path] = set()

    cwd = _real(Path.cwd())

    def name_folder(folder: Path, real_folder: Path) -> str:
        raw = real_folder.name or "seeds"
        name = clean_name(raw)
        if real_folder not in folders_named:
            folders_named.add(real_folder)
            raw_shown = str(folder)
            if clean_name(raw_shown) != raw_shown or name != raw:
                renamed = f"; the collection is named {name!r}" if name != raw else ""
                found.append(
                    Diagnostic(
                        Severity.WARNING,
                        "invalid-name",
                        display_path(folder),
                        0,
                        "the folder's path holds control characters or bytes that are not "
                        f"UTF-8; they are shown as U+FFFD{renamed}",
                    )
                )
        return name

    def add(file: Path, folder: Path, real_folder: Path, root: Path | None) -> None:
        # one resolve per folder, not per file: discovering 10 000 notes takes milliseconds
        linked = file.is_symlink()
        if linked and root is not None and _outside(file, root):
            found.append(_refused_link(file, root, "file"))
            return
        real = _real(file) if linked else real_folder / file.name
        if real in seen:
            return
        seen.add(real)
        name = name_folder(folder, real_folder)
        coll = collections.get(name)
        if coll is None:
            coll = collections[name] = CollectionFiles(name)
        if real_folder not in coll.folders:
            coll.folders.append(real_folder)
            _read_metadata(coll, folder, found, root or real_folder)
            _read_curation(coll, folder, found, root or real_folder)
        try:
            shown = clean_name(str(real.relative_to(cwd)))
        except ValueError:
            shown = clean_name(str(file))
        file_name = clean_name(file.name)
        if file_name != file.name:
            found.append(
                Diagnostic(
                    Severity.WARNING,
                    "invalid-name",
                    shown,
                    0,
                    "the file name holds control characters or bytes that are not UTF-8; "
                    f"read as {file_name!r}",
                )
            )
        seed = SeedFile(file, shown, file_name, name)
        (coll.models if is_model_file(file) else coll.files).append(seed)

    for path in paths:
        if not path.exists():
            found.append(
                Diagnostic(
                    Severity.ERROR,
                    "missing-path",
                    clean_name(str(path)),
                    0,
                    "no such file or folder",
                )
            )
        elif path.is_file():
            add(path, path.parent, _real(path.parent), None)
        else:
            root = _real(path)
            for folder, dirs, files in os.walk(path):
                here = Path(folder)
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for d in dirs:  # a linked folder is never walked; one leading out is reported
                    if _outside(here / d, root):
                        found.append(_refused_link(here / d, root, "folder"))
                real_here = _real(here)
                for fname in sorted(files):
                    candidate = here / fname
                    if is_seed(candidate) or is_model_file(candidate):
                        add(candidate, here, real_here, root)
    return sorted(collections.values(), key=lambda c: c.name), found


def _read_text(path: Path, found: list[Diagnostic], root: Path) -> tuple[str, str] | None:
    """A small UTF-8 file beside the notes (shown path, text); a problem is a finding."""
    if not path.is_file():
        return None
    if _outside(path, root):
        found.append(_refused_link(path, root, "file"))
        return None
    shown = display_path(path)
    data, problem = _read_capped(path, shown)
    if data is None:
        if problem is not None:
            found.append(problem)
        return None
    try:
        return shown, data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        found.append(Diagnostic(Severity.ERROR, "unreadable-file", shown, line, str(err)))
        return None


def _read_curation(
    coll: CollectionFiles, folder: Path, found: list[Diagnostic], root: Path
) -> None:
    """``curation.toml``: what a person decided about the study's codes and sources (read by
    :mod:`app.parse.curation`); the first one found for a collection counts."""
    if coll.curation is None:
        coll.curation = _read_text(folder / CURATION_FILE, found, root)


def _read_metadata(
    coll: CollectionFiles, folder: Path, found: list[Diagnostic], root: Path
) -> None:
    read = _read_text(folder / METADATA_FILE, found, root)
    if read is None:
        return
    shown, text = read
    try:
        # TOML itself refuses raw control characters (a finding with its line, below)
        values = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        at = re.search(r"line (\d+)", str(err))  # Python 3.11 has no err.lineno yet
        line = int(at.group(1)) if at else 0
        found.append(Diagnostic(Severity.ERROR, "bad-metadata", shown, line, str(err)))
        return
    for key in ("title", "description"):
        value = values.get(key)
        if value is None:
            continue
        if not isinstance(value, str):
            found.append(
                Diagnostic(Severity.ERROR, "bad-metadata", shown, 0, f"{key} must be a string")
            )
        elif getattr(coll, key) is None:
            # TOML escapes (``"\u0000"``) give characters the file itself did not hold
            value, kinds = clean_text(value.strip())
            found.extend(
                replaced(kind, shown, _key_line(text, key), f"in the {key}") for kind in kinds
            )
            setattr(coll, key, value)


def _key_line(text: str, key: str) -> int:
    """The line where a top-level ``key = …`` is written, or 0 when it cannot be told."""
    m = re.search(rf"""^[ \t]*(?:{key}|"{key}"|'{key}')[ \t]*=""", text, re.MULTILINE)
    return text.count("\n", 0, m.start()) + 1 if m else 0


def read_bytes(seed: SeedFile) -> tuple[bytes | None, Diagnostic | None]:
    """The bytes of a seed, or the finding that says why there are none."""
    return _read_capped(seed.path, seed.display)


def _read_capped(path: Path, shown: str) -> tuple[bytes | None, Diagnostic | None]:
    """Read a regular file of at most :data:`MAX_NOTE_BYTES`.

    Opened without blocking and checked on the open file: a FIFO or device named like a note
    must neither hang the build nor be read without end.
    """
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        with os.fdopen(fd, "rb") as handle:
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                return None, Diagnostic(
                    Severity.ERROR, "unreadable-file", shown, 0, "not a regular file"
                )
            data = handle.read(MAX_NOTE_BYTES + 1)
    except OSError as err:
        reason = err.strerror or type(err).__name__
        return None, Diagnostic(Severity.ERROR, "unreadable-file", shown, 0, reason)
    if len(data) > MAX_NOTE_BYTES:
        return None, Diagnostic(
            Severity.ERROR,
            "file-too-large",
            shown,
            1,
            f"the file is larger than {MAX_NOTE_BYTES:,} bytes; not read",
        )
    return data, None


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
        for text in (coll.title, coll.description, coll.curation[1] if coll.curation else ""):
            digest.update((text or "").encode("utf-8", "surrogatepass") + b"\0")
        for seed in sorted([*coll.files, *coll.models], key=lambda s: (s.name, s.display)):
            content = _content_hash(seed)
            digest.update(f"{seed.name}\0{content}\0".encode("utf-8", "surrogatepass"))
    return digest.hexdigest()[:32]


def _content_hash(seed: SeedFile) -> str:
    data, problem = read_bytes(seed)
    return hashlib.sha256(data).hexdigest() if data is not None else f"!{problem}"
