"""Files written so that a reader sees either the old file or the whole new one."""

from __future__ import annotations

import gzip
import hashlib
import os
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

from app.rdf.formats import RdfFormat
from app.store.info import Dump

_UMASK = os.umask(0o022)  # read once, while only one thread runs, and put back at once
os.umask(_UMASK)


def atomic_write(path: Path, *parts: bytes) -> None:
    """Write ``parts`` to ``path`` so that readers see the old file or the whole new one.

    The file gets the mode any other new file gets (``mkstemp`` makes it owner-only), so a
    service running as another user than the build can read what the build wrote.
    """
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~_UMASK)
        with os.fdopen(fd, "wb") as handle:
            for part in parts:
                handle.write(part)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class Dumps:
    """Each dump of a store made once, on first request, by ``make(fmt, collection)``.

    A store serves one version and never changes, so the dump made first is the dump; requests
    asking for it meanwhile wait for that one instead of making their own.
    """

    def __init__(self, make: Callable[[RdfFormat, str | None], Dump]) -> None:
        self._make = make
        self._made: dict[tuple[str | None, str], Dump] = {}
        self._lock = threading.Lock()

    def get(self, fmt: RdfFormat, collection: str | None) -> Dump:
        key = (collection, fmt.name)
        with self._lock:
            found = self._made.get(key)
            if found is None:
                found = self._made[key] = self._make(fmt, collection)
            return found


def kept_dump(path: Path, etag_of: str, media_type: str, make: Callable[[], bytes]) -> Dump:
    """A dump at ``path`` with its gzip twin, written by ``make`` unless both are there (a
    snapshot never changes, so a file written once is the file); its strong ETag is made of
    ``etag_of`` (the snapshot's content key and the dump's name)."""
    gz = path.with_name(path.name + ".gz")
    if not (path.is_file() and gz.is_file()):
        data = make()
        atomic_write(path, data)
        atomic_write(gz, gzip.compress(data, compresslevel=6, mtime=0))
    digest = hashlib.sha256(etag_of.encode()).hexdigest()[:32]
    return Dump(path, gz, f'"{digest}"', media_type, path.stat().st_size)
