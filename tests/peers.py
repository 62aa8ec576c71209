"""SPARQL servers the tests (and benchmarks) start on 127.0.0.1 over throwaway folders:
Oxigraph's server (PyPI ``oxigraph``) and Virtuoso 7 (Debian ``virtuoso-opensource-7-bin``)."""

from __future__ import annotations

import contextlib
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.server import free_port

OXIGRAPH = shutil.which("oxigraph") or str(Path(sys.executable).parent / "oxigraph")


class Oxigraph:
    """Oxigraph's server on a free loopback port, over a data folder that outlives restarts."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [OXIGRAPH, "serve", "--location", str(self.folder), "--bind", f"127.0.0.1:{self.port}"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(self.url + "/query", params={"query": "ASK {}"}).status_code == 200:
                    return
            time.sleep(0.1)
        raise RuntimeError("oxigraph did not start")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None


VIRTUOSO = shutil.which("virtuoso-t")
ISQL = shutil.which("isql-vt")

_VIRTUOSO_INI = """[Database]
DatabaseFile = {d}/virtuoso.db
ErrorLogFile = {d}/virtuoso.log
LockFile = {d}/virtuoso.lck
TransactionFile = {d}/virtuoso.trx
xa_persistent_file = {d}/virtuoso.pxa
ErrorLogLevel = 7
FileExtend = 200
MaxCheckpointRemap = 2000
Striping = 0
TempStorage = TempDatabase

[TempDatabase]
DatabaseFile = {d}/virtuoso-temp.db
TransactionFile = {d}/virtuoso-temp.trx
MaxCheckpointRemap = 2000
Striping = 0

[Parameters]
ServerPort = 127.0.0.1:{sql}
NumberOfBuffers = 10000
MaxDirtyBuffers = 6000
DirsAllowed = ., {d}
CheckpointInterval = 60

[HTTPServer]
ServerPort = 127.0.0.1:{http}
ServerRoot = {d}
MaxClientConnections = 8
ServerThreads = 8
EnabledDavVSP = 0

[SPARQL]
ResultSetMaxRows = {max_rows}
MaxQueryExecutionTime = 60
"""


class Virtuoso(Oxigraph):
    """Virtuoso 7 (Debian's ``virtuoso-opensource-7-bin``) over a throwaway folder: its
    SPARQL endpoint at ``/sparql``, updates granted to the endpoint's user."""

    def __init__(self, folder: Path, max_rows: int = 1_000_000) -> None:
        super().__init__(folder)
        self.max_rows = max_rows
        self.sql = free_port()
        self.url = f"http://127.0.0.1:{self.port}/sparql"

    def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        ini = self.folder / "virtuoso.ini"
        ini.write_text(
            _VIRTUOSO_INI.format(
                d=self.folder, sql=self.sql, http=self.port, max_rows=self.max_rows
            )
        )
        assert VIRTUOSO is not None
        self.proc = subprocess.Popen(
            [VIRTUOSO, "+configfile", str(ini), "+foreground"],
            cwd=self.folder,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(self.url, params={"query": "ASK {}"}).status_code == 200:
                    break
            time.sleep(0.2)
        else:
            raise RuntimeError("virtuoso did not start")
        assert ISQL is not None
        subprocess.run(
            [ISQL, str(self.sql), "dba", "dba", 'exec=GRANT SPARQL_UPDATE TO "SPARQL";'],
            check=True,
            capture_output=True,
            timeout=60,
        )
