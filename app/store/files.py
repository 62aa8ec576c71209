"""Files written so that a reader sees either the old file or the whole new one."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

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
