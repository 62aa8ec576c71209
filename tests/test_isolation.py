"""A worker isolated by ``app.sparql.isolation`` cannot reach the network, whatever a query says.

Every check runs in a real forked child (the guards cannot be undone, so never in the test
process) against real canaries on 127.0.0.1: an HTTP server that counts every connection it
accepts and a UDP socket standing in for a DNS server. The parent reads what the child saw
through a pipe and then checks the canaries counted nothing; a control child without the
guards does reach them, so the checks can fail. Every wait is bounded.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import http.server
import json
import os
import platform
import select
import shutil
import signal
import socket
import stat
import struct
import tempfile
import threading
import time
import traceback
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pyoxigraph as ox
import pytest

from app.sparql import isolation
from app.sparql.isolation import GUARDS, IsolationUnavailable, available, isolate
from tests.conftest import ROOT

"x".encode("idna")  # socket.getaddrinfo imports this codec lazily: import it while it can be read

WAIT = 30.0  # the bound on any wait for a child or a canary; never reached when all is well
EX = "http://example.org/"
ANSWER = json.dumps(
    {
        "head": {"vars": ["s", "p", "o"]},
        "results": {
            "bindings": [
                {
                    "s": {"type": "uri", "value": EX + "s"},
                    "p": {"type": "uri", "value": EX + "p"},
                    "o": {"type": "literal", "value": "reached"},
                }
            ]
        },
    }
).encode()


# -- canaries ------------------------------------------------------------------------------


class _Handler(http.server.BaseHTTPRequestHandler):
    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        self.send_response(200)
        self.send_header("Content-Type", "application/sparql-results+json")
        self.send_header("Content-Length", str(len(ANSWER)))
        self.end_headers()
        self.wfile.write(ANSWER)

    do_GET = do_POST = _answer  # noqa: N815 -- the names http.server calls

    def log_message(self, format: str, *args: Any) -> None:
        pass


class Canary(http.server.ThreadingHTTPServer):
    """A SPARQL endpoint on 127.0.0.1 that counts every connection it accepts."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.port: int = self.server_address[1]
        self.peers: list[int] = []  # the client port of each connection accepted
        self.sentinels: set[int] = set()
        self.accepted = threading.Condition()

    def get_request(self) -> tuple[socket.socket, Any]:
        request = super().get_request()
        with self.accepted:
            self.peers.append(request[1][1])
            self.accepted.notify_all()
        return request

    def hits(self) -> int:
        """The connections made to the canary so far, those still in the backlog included.

        A sentinel connection is made here and waited for: the backlog is first in, first out,
        so once the sentinel is accepted every connection made before it has been counted.
        """
        with socket.create_connection(("127.0.0.1", self.port), timeout=WAIT) as sentinel:
            port = sentinel.getsockname()[1]
            with self.accepted:
                self.sentinels.add(port)
                assert self.accepted.wait_for(lambda: port in self.peers, timeout=WAIT)
                return sum(peer not in self.sentinels for peer in self.peers)


@pytest.fixture
def canary() -> Iterator[Canary]:
    server = Canary()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=WAIT)


class DnsCanary:
    """A UDP socket on 127.0.0.1 in place of a DNS server; a datagram sent to loopback is
    queued here before ``sendto`` returns, so counting after the child is done is exact."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.setblocking(False)
        self.port: int = self.sock.getsockname()[1]

    def hits(self) -> int:
        count = 0
        with contextlib.suppress(BlockingIOError):
            while True:
                self.sock.recv(4096)
                count += 1
        return count


@pytest.fixture
def dns_canary() -> Iterator[DnsCanary]:
    canary = DnsCanary()
    try:
        yield canary
    finally:
        canary.sock.close()


def _dns_query(name: str) -> bytes:
    """A standard query for the A record of ``name`` (RFC 1035)."""
    labels = b"".join(bytes([len(x)]) + x.encode() for x in name.split("."))
    return (
        struct.pack("!6H", 0x4D4B, 0x0100, 1, 0, 0, 0) + labels + b"\0" + struct.pack("!2H", 1, 1)
    )


# -- stores --------------------------------------------------------------------------------


def _write_store(path: Path) -> None:
    store = ox.Store(str(path))
    store.add(ox.Quad(ox.NamedNode(EX + "a"), ox.NamedNode(EX + "b"), ox.Literal("on disk")))
    store.flush()
    del store


@pytest.fixture
def disk_store(tmp_path: Path) -> Path:
    """An on-disk store, written before any fork."""
    path = tmp_path / "store"
    _write_store(path)
    return path


@pytest.fixture
def readable_store() -> Iterator[Path]:
    """An on-disk store any user can read (``tmp_path`` is private to its owner)."""
    folder = Path(tempfile.mkdtemp(prefix="meshkg-isolation-"))
    try:
        _write_store(folder / "store")
        for path in [folder, *folder.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)
        yield folder / "store"
    finally:
        shutil.rmtree(folder, ignore_errors=True)


# -- children ------------------------------------------------------------------------------


def in_child(work: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Run ``work`` in a forked child and return its JSON-able answer (or its error)."""
    read, write = os.pipe()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "This process .* is multi-threaded", DeprecationWarning)
        pid = os.fork()
    if pid == 0:
        try:
            os.close(read)
            try:
                answer = work()
            except BaseException as err:
                answer = {"child error": f"{type(err).__name__}: {err}\n{traceback.format_exc()}"}
            out = memoryview(json.dumps(answer).encode())
            while out:
                out = out[os.write(write, out) :]
        finally:
            os._exit(0)
    os.close(write)
    data = bytearray()
    deadline = time.monotonic() + WAIT
    ended = False
    try:
        while not ended and (left := deadline - time.monotonic()) > 0:
            if select.select([read], [], [], left)[0]:
                chunk = os.read(read, 1 << 16)
                data += chunk
                ended = not chunk
    finally:
        os.close(read)
        if not ended:
            os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    assert ended, "the child did not answer in time"
    seen: dict[str, Any] = json.loads(data)
    assert "child error" not in seen, seen["child error"]
    return seen


def _connect(port: int) -> int | None:
    """A plain TCP connection to 127.0.0.1: None when it is made, else the errno."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.settimeout(WAIT)
            sock.connect(("127.0.0.1", port))
    except OSError as err:
        return err.errno
    return None


def _service(port: int, silent: bool) -> dict[str, Any]:
    """A real SERVICE query over an empty in-memory store: what it raised, what it bound."""
    keyword = "SERVICE SILENT" if silent else "SERVICE"
    query = f"SELECT * WHERE {{ {keyword} <http://127.0.0.1:{port}/sparql> {{ ?s ?p ?o }} }}"
    try:
        rows = list(ox.Store().query(query))  # type: ignore[arg-type]
    except (OSError, RuntimeError, ValueError) as err:
        return {"raised": f"{type(err).__name__}: {err}", "bound": 0}
    return {"raised": None, "bound": sum(term is not None for row in rows for term in row)}


def _dns(port: int) -> int | None:
    """A DNS query for ``localhost`` sent over UDP: None when it is sent, else the errno."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.sendto(_dns_query("localhost"), ("127.0.0.1", port))
    except OSError as err:
        return err.errno
    return None


def _files() -> list[str]:
    return [str(ROOT / "pyproject.toml"), str(ROOT / "app" / "api" / "isolation.py")]


def _readable(paths: list[str]) -> dict[str, int]:
    """The size of each file that can be read."""
    sizes = {}
    for path in paths:
        with contextlib.suppress(OSError):
            sizes[path] = len(Path(path).read_bytes())
    return sizes


def _ordinary_work(store_path: Path) -> dict[str, Any]:
    """What a worker must still do: query in memory and on disk, pipes, AF_UNIX pairs."""
    memory = ox.Store()
    memory.add(ox.Quad(ox.NamedNode(EX + "x"), ox.NamedNode(EX + "y"), ox.Literal("in memory")))
    on_disk = ox.Store.read_only(str(store_path))
    read, write = os.pipe()
    os.write(write, b"pipe")
    piped = os.read(read, 4)
    os.close(read)
    os.close(write)
    left, right = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    with left, right:
        left.sendall(b"pair")
        paired = right.recv(4)
    return {
        "memory": [s["o"].value for s in memory.query("SELECT ?o { ?s ?p ?o }")],  # type: ignore[union-attr]
        "disk": [s["o"].value for s in on_disk.query("SELECT ?o { ?s ?p ?o }")],  # type: ignore[union-attr]
        "pipe": piped.decode(),
        "socketpair": paired.decode(),
    }


def _network_attempts(canary: Canary, dns_canary: DnsCanary) -> dict[str, Any]:
    return {
        "connect": _connect(canary.port),
        "service": _service(canary.port, silent=False),
        "service silent": _service(canary.port, silent=True),
        "dns": _dns(dns_canary.port),
    }


def _namespaces() -> dict[str, str]:
    return {kind: os.readlink(f"/proc/self/ns/{kind}") for kind in ("net", "user")}


def _skip_unless(method: str) -> tuple[str, ...]:
    """The guards ``method`` applies here; skip the test when the kernel allows none."""
    reasons = available(refresh=True)
    if method == "auto":
        expected = tuple(g for g in GUARDS if reasons[g] is None)
        if not expected:
            pytest.skip(f"no guard applies here: {reasons}")
        return expected
    if reasons[method] is not None:
        pytest.skip(f"{method} is unavailable here: {reasons[method]}")
    return (method,)


# -- the guards ----------------------------------------------------------------------------


def test_control_without_isolation_reaches_the_canaries(
    canary: Canary, dns_canary: DnsCanary
) -> None:
    """The same attempts without the guards do get through: the checks below can fail."""
    seen = in_child(lambda: _network_attempts(canary, dns_canary))
    assert seen["connect"] is None
    assert seen["service"] == {"raised": None, "bound": 3}
    assert seen["service silent"] == {"raised": None, "bound": 3}
    assert seen["dns"] is None
    assert canary.hits() == 3
    assert dns_canary.hits() == 1


@pytest.mark.parametrize("method", ["netns", "seccomp", "auto"])
def test_isolated_worker_reaches_nothing_and_still_works(
    method: str, canary: Canary, dns_canary: DnsCanary, disk_store: Path
) -> None:
    expected = _skip_unless(method)
    files = _files()
    before = _readable(files)

    def work() -> dict[str, Any]:
        applied = isolate(method)
        return {
            "applied": applied,
            **_network_attempts(canary, dns_canary),
            **_ordinary_work(disk_store),
            "files": _readable(files),
        }

    seen = in_child(work)
    assert tuple(seen["applied"]) == expected
    # seccomp refuses the socket itself; in an empty namespace the socket has nowhere to go
    refused = errno.EPERM if "seccomp" in expected else errno.ENETUNREACH
    assert seen["connect"] == refused, errno.errorcode.get(seen["connect"])
    assert seen["dns"] == refused, errno.errorcode.get(seen["dns"])
    assert seen["service"]["raised"] is not None
    assert seen["service"]["bound"] == 0
    assert seen["service silent"]["bound"] == 0  # SILENT: one empty solution, nothing bound
    assert canary.hits() == 0
    assert dns_canary.hits() == 0
    assert seen["memory"] == ["in memory"]
    assert seen["disk"] == ["on disk"]
    assert (seen["pipe"], seen["socketpair"]) == ("pipe", "pair")
    assert seen["files"] == before


def test_seccomp_refuses_every_network_family_and_io_uring() -> None:
    _skip_unless("seccomp")

    def attempt(call: Callable[[], object]) -> int | None:
        try:
            result = call()
        except OSError as err:
            return err.errno
        with contextlib.suppress(AttributeError, OSError):
            result.close()  # type: ignore[attr-defined]
        return None

    def raw(number: int, *args: int) -> int | None:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.syscall.restype = ctypes.c_long
        result = libc.syscall(ctypes.c_long(number), *(ctypes.c_long(a) for a in args))
        if result >= 0:
            os.close(result)
            return None
        return ctypes.get_errno()

    def attempts() -> dict[str, int | None]:
        tried = {
            "AF_INET6 datagram": attempt(lambda: socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)),
            "AF_NETLINK": attempt(
                lambda: socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
            ),
            "socketpair AF_INET": attempt(lambda: socket.socketpair(socket.AF_INET)),
            "AF_UNIX": attempt(lambda: socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)),
            "socketpair AF_UNIX": attempt(lambda: socket.socketpair(socket.AF_UNIX)),
            # io_uring_setup(1, NULL): EFAULT unless refused before the kernel reads the NULL
            "io_uring_setup": raw(425, 1, 0),
        }
        arch = isolation.native_arch()
        if arch is not None and arch.x32:  # socket(AF_INET, SOCK_STREAM, 0) by the x32 ABI
            tried["x32 socket"] = raw(arch.socket | isolation.X32_SYSCALL_BIT, 2, 1, 0)
        return tried

    control = in_child(attempts)
    seen = in_child(lambda: {"applied": isolate("seccomp"), **attempts()})
    assert seen.pop("applied") == ["seccomp"]
    assert control["socketpair AF_INET"] == errno.EOPNOTSUPP  # refused otherwise, differently
    assert seen == {name: None if name == "socketpair AF_UNIX" else errno.EPERM for name in seen}


@pytest.mark.parametrize("method", ["netns", "auto"])
def test_netns_without_privilege_uses_a_user_namespace(
    method: str, canary: Canary, readable_store: Path
) -> None:
    """Unprivileged, netns falls back to a user namespace, which keeps file access."""
    root = os.geteuid() == 0
    files = [*_files(), str(readable_store / "CURRENT")]

    def work() -> dict[str, Any]:
        if root:  # become an ordinary user: no capability left, as on a CI runner
            os.setgroups([])
            os.setgid(65534)
            os.setuid(65534)
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(4, 1, 0, 0, 0)  # PR_SET_DUMPABLE, cleared by setuid: as an ordinary process
        ids, namespaces, readable = (os.getuid(), os.getgid()), _namespaces(), _readable(files)
        try:
            applied = isolate(method)
        except IsolationUnavailable as err:
            return {"unavailable": str(err)}
        if "netns" not in applied:
            return {"unavailable": f"auto applied {applied} only"}
        return {
            "applied": applied,
            "ids": [ids, [os.getuid(), os.getgid()]],
            "namespaces": [namespaces, _namespaces()],
            "files": [readable, _readable(files)],
            "connect": _connect(canary.port),
            **_ordinary_work(readable_store),
        }

    seen = in_child(work)
    if "unavailable" in seen:
        pytest.skip(f"no unprivileged user namespaces here: {seen['unavailable']}")
    assert seen["applied"][0] == "netns"
    before, after = seen["namespaces"]
    assert before["net"] != after["net"]
    if root:  # no CAP_SYS_ADMIN left: the user namespace was needed
        assert before["user"] != after["user"]
    assert seen["ids"][0] == seen["ids"][1]  # the process mapped its own ids
    readable_before, readable_after = seen["files"]
    assert str(readable_store / "CURRENT") in readable_before
    assert readable_after == readable_before
    refused = errno.EPERM if "seccomp" in seen["applied"] else errno.ENETUNREACH
    assert seen["connect"] == refused
    assert seen["disk"] == ["on disk"]
    assert (seen["pipe"], seen["socketpair"]) == ("pipe", "pair")
    assert canary.hits() == 0


def test_refused_netns_raises_and_auto_falls_back_to_seccomp(canary: Canary) -> None:
    _skip_unless("seccomp")

    def work() -> dict[str, Any]:
        # the kernel refuses every unshare, as without CAP_SYS_ADMIN nor user namespaces
        isolation._unshare = lambda flags: errno.EPERM
        namespaces = _namespaces()
        try:
            isolate("netns")
        except IsolationUnavailable as err:
            refused = {"guard": err.guard, "message": str(err)}
        else:
            refused = {}
        return {
            "refused": refused,
            "auto": isolate("auto"),
            "namespaces": [namespaces, _namespaces()],
            "connect": _connect(canary.port),
        }

    seen = in_child(work)
    assert seen["refused"]["guard"] == "netns"
    assert "netns isolation is unavailable" in seen["refused"]["message"]
    assert "unshare(CLONE_NEWNET) failed with EPERM" in seen["refused"]["message"]
    assert seen["auto"] == ["seccomp"]
    assert seen["namespaces"][0] == seen["namespaces"][1]
    assert seen["connect"] == errno.EPERM
    assert canary.hits() == 0


def test_no_user_namespace_for_a_process_reading_by_capability() -> None:
    """A user namespace would take CAP_DAC_OVERRIDE away over others' files: not tried."""
    tried: list[int] = []

    def work() -> dict[str, Any]:
        def unshare(flags: int) -> int:
            tried.append(flags)
            return errno.EPERM

        isolation._unshare = unshare
        isolation._file_capabilities = lambda: ("CAP_DAC_OVERRIDE",)
        try:
            isolate("netns")
        except IsolationUnavailable as err:
            return {"message": str(err), "tried": tried}
        return {"message": None, "tried": tried}

    seen = in_child(work)
    assert seen["tried"] == [isolation.CLONE_NEWNET]
    assert "CAP_DAC_OVERRIDE" in seen["message"]
    assert "EPERM" in seen["message"]


def test_unknown_architecture_has_no_seccomp(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(platform, "machine", lambda: "riscv64")
    assert isolation.native_arch() is None
    monkeypatch.undo()

    def work() -> dict[str, Any]:
        isolation.native_arch = lambda: None
        try:
            isolate("seccomp")
        except IsolationUnavailable as err:
            return {"message": str(err), "seccomp": Path("/proc/self/status").read_text()}
        return {"message": None}

    seen = in_child(work)
    assert "no filter for this architecture" in seen["message"]
    assert "Seccomp:\t0" in seen["seccomp"] or "Seccomp:" not in seen["seccomp"]


def test_available_leaves_the_caller_as_it_was(canary: Canary) -> None:
    status = Path("/proc/self/status").read_text().splitlines()
    seccomp = [line for line in status if line.startswith("Seccomp")]
    namespaces = _namespaces()
    reasons = available(refresh=True)
    assert set(reasons) == set(GUARDS)
    assert all(r is None or (isinstance(r, str) and r) for r in reasons.values())
    assert available() == reasons  # kept
    assert _namespaces() == namespaces
    status = Path("/proc/self/status").read_text().splitlines()
    assert [line for line in status if line.startswith("Seccomp")] == seccomp
    assert _connect(canary.port) is None
    assert canary.hits() == 1


def test_unknown_method_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown isolation method"):
        isolate("chroot")


# -- the filter itself ---------------------------------------------------------------------


def test_struct_layouts_match_the_kernel() -> None:
    assert ctypes.sizeof(isolation.SockFilter) == 8
    assert [getattr(isolation.SockFilter, f).offset for f in ("code", "jt", "jf", "k")] == [
        0,
        2,
        3,
        4,
    ]
    pointer = ctypes.sizeof(ctypes.c_void_p)
    assert isolation.SockFprog.filter.offset == pointer  # u16, padded to the pointer
    assert ctypes.sizeof(isolation.SockFprog) == 2 * pointer


def _run(prog: list[isolation.Instruction], nr: int, arch: int, arg0: int = 0) -> int:
    """A classic-BPF interpreter for the instructions the filter uses, over seccomp_data."""
    data = struct.pack("<iIQ6Q", nr, arch, 0, arg0, 0, 0, 0, 0, 0)
    acc, pc = 0, 0
    for _ in range(len(prog)):  # the program only jumps forward
        code, jt, jf, k = prog[pc]
        if code == isolation.BPF_LD_W_ABS:
            (acc,) = struct.unpack_from("<I", data, k)
            pc += 1
        elif code == isolation.BPF_JMP_JEQ_K:
            pc += 1 + (jt if acc == k else jf)
        elif code == isolation.BPF_JMP_JGE_K:
            pc += 1 + (jt if acc >= k else jf)
        elif code == isolation.BPF_RET_K:
            return k
        else:
            raise AssertionError(f"unexpected instruction {code:#x}")
    raise AssertionError("the program ran off its end")


@pytest.mark.parametrize("name", sorted(isolation.ARCHES))
def test_filter_decides_as_documented(name: str) -> None:
    arch = isolation.ARCHES[name]
    prog = isolation.program(arch)
    assert len(prog) < 256  # jump offsets are one byte
    allow, eperm = isolation.SECCOMP_RET_ALLOW, isolation.SECCOMP_RET_ERRNO | errno.EPERM
    native = arch.audit
    for family in (socket.AF_INET, socket.AF_INET6, socket.AF_NETLINK, socket.AF_PACKET, 0):
        assert _run(prog, arch.socket, native, family) == eperm
        assert _run(prog, arch.socketpair, native, family) == eperm
    assert _run(prog, arch.socket, native, socket.AF_UNIX) == eperm  # no path-named daemons
    assert _run(prog, arch.socketpair, native, socket.AF_UNIX) == allow
    assert _run(prog, arch.socketpair, native, socket.AF_UNIX | 1 << 32) == allow  # an int: 1
    for nr in isolation.IO_URING:
        assert _run(prog, nr, native) == eperm
    for nr in (0, 1, 57, 63, 64, 220, 435):  # read/write/fork/clone/...: everything else
        assert _run(prog, nr, native, socket.AF_INET) == allow
    others = {a.audit for a in isolation.ARCHES.values()} - {native} | {0x40000003}  # i386
    for other in others:
        assert _run(prog, 0, other) == eperm
        assert _run(prog, arch.socketpair, other, socket.AF_UNIX) == eperm
    x32 = _run(prog, arch.socketpair | isolation.X32_SYSCALL_BIT, native, socket.AF_UNIX)
    assert x32 == (eperm if arch.x32 else allow)


def test_syscall_numbers() -> None:
    x86, arm = isolation.ARCHES["x86_64"], isolation.ARCHES["aarch64"]
    assert (x86.socket, x86.socketpair, x86.seccomp, x86.audit) == (41, 53, 317, 0xC000003E)
    assert (arm.socket, arm.socketpair, arm.seccomp, arm.audit) == (198, 199, 277, 0xC00000B7)
    assert isolation.IO_URING[0] == 425
    here = isolation.native_arch()
    if here is not None and here.name == platform.machine():
        libc = ctypes.CDLL(None, use_errno=True)
        libc.syscall.restype = ctypes.c_long
        # the number really is socket(): socket(AF_UNIX, SOCK_STREAM, 0) gives a socket
        fd = libc.syscall(ctypes.c_long(here.socket), ctypes.c_long(1), ctypes.c_long(1), 0)
        assert fd >= 0
        assert stat.S_ISSOCK(os.fstat(fd).st_mode)
        os.close(fd)
