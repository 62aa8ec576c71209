"""Keep a query worker off the network, whatever the query text says.

Why: Oxigraph evaluates ``SERVICE <http://…>`` by fetching the IRI with its own HTTP client,
from inside the process that evaluates the query, and fetches the IRI of an update's ``LOAD``
the same way (pyoxigraph 0.5 does not dereference ``FROM``/``FROM NAMED`` IRIs, which only
select among the store's graphs; a later version or another engine might).
:mod:`app.sparql.check` refuses such queries by their text; that is one layer, and a parser
mismatch or a missed form would let a query through it.
This module is the second, independent layer: a worker process (forked by
:mod:`app.sparql.engine`) calls :func:`isolate` once, right after the fork, while it is
single-threaded and before it opens the store, and from then on the kernel refuses it any
network connection, whatever Oxigraph is asked to do.

Two guards, each enough on its own, applied together by ``auto`` (defence in depth):

``netns``
    ``unshare(CLONE_NEWNET)``: the process moves to a private network namespace whose only
    interface, ``lo``, is down, so every address, 127.0.0.1 included, is unreachable
    (``connect`` fails with ``ENETUNREACH``) and no DNS server can be reached. Needs
    ``CAP_SYS_ADMIN`` (root), or else unprivileged user namespaces: then the call is
    ``unshare(CLONE_NEWUSER | CLONE_NEWNET)``. A user namespace keeps the process's kernel
    user and group ids, which are what file permission checks use, so an ordinary user reads
    every file (the store, the project) and uses every pipe and ``AF_UNIX`` socket as before;
    the process writes its own one-id uid and gid maps (best effort) only so that ``getuid``
    and ``stat`` keep showing the same numbers. What a user namespace does take away is the
    capabilities of the outer namespace over files whose owner is not mapped in it: a process
    that reads files through ``CAP_DAC_OVERRIDE`` or ``CAP_DAC_READ_SEARCH`` (root without
    ``CAP_SYS_ADMIN``, as in a container) would lose access to files it could read before, so
    that variant is not used for such a process (mapping every id would take a helper process
    outside the namespace, as ``newuidmap`` does). Does not cover: ``AF_UNIX`` sockets named
    by a path (a local daemon, e.g. a name-service cache, is still reachable); sockets
    already open before :func:`isolate` (they stay in the namespace they were made in).

``seccomp``
    A seccomp-BPF filter (through ``prctl``/``seccomp()``, with ``PR_SET_NO_NEW_PRIVS``, no
    privilege needed) under which ``socket()`` fails with ``EPERM`` for every address family,
    ``AF_UNIX`` included (a name lookup could otherwise go through a local daemon such as a
    name-service cache, and its query leave the machine), ``socketpair()`` for every family
    but ``AF_UNIX``, and ``io_uring_setup``/``_enter``/``_register``
    fail with ``EPERM`` (io_uring can create and connect sockets without calling ``socket()``).
    DNS is covered too, as a lookup over the network needs a socket. The filter checks the
    architecture (x86_64, aarch64; elsewhere this guard is unavailable) and refuses every call
    of another ABI (the x32 ABI on x86_64 included); everything else is allowed. It holds for
    every thread (``SECCOMP_FILTER_FLAG_TSYNC``) and every child process, and cannot be removed.
    Does not cover: sockets already open before :func:`isolate` (the caller closes them);
    ``AF_UNIX`` socket pairs (with pipes, how workers talk).

Neither guard is a sandbox for arbitrary code (files stay readable, processes signallable):
they answer one threat, a query that makes Oxigraph open a network connection. Host names in
``/etc/hosts`` still resolve under both, as that is a file read, not a network lookup.

:func:`available` says which guards this machine allows and why not, without changing the
calling process (it probes in a short-lived forked child).
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import platform
import select
import signal
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

__all__ = ["GUARDS", "METHODS", "IsolationUnavailable", "available", "isolate"]

GUARDS: Final = ("netns", "seccomp")
"""Every guard, in the order ``auto`` applies them."""
METHODS: Final = ("auto", *GUARDS)


class IsolationUnavailable(Exception):
    """A guard cannot be applied in this process; ``reason`` says why (errno, privilege)."""

    def __init__(self, guard: str, reason: str) -> None:
        super().__init__(f"{guard} isolation is unavailable: {reason}")
        self.guard = guard
        self.reason = reason


# -- libc, resolved at import: a child forked from a threaded process should not dlopen ----

_Function = Callable[..., int]


def _libc_function(
    name: str, restype: type[ctypes.c_int] | type[ctypes.c_long]
) -> _Function | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        function = getattr(libc, name)
    except (OSError, AttributeError):
        return None
    function.restype = restype
    return function  # type: ignore[no-any-return]


_UNSHARE: Final = _libc_function("unshare", ctypes.c_int)
_PRCTL: Final = _libc_function("prctl", ctypes.c_int)
_SYSCALL: Final = _libc_function("syscall", ctypes.c_long)


def _errname(code: int) -> str:
    return f"{errno.errorcode.get(code, f'errno {code}')} ({os.strerror(code)})"


def _threads() -> int | None:
    """The number of threads of this process (Rust ones included), or None if unknown."""
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        return None


# -- netns ---------------------------------------------------------------------------------

CLONE_NEWUSER: Final = 0x10000000
CLONE_NEWNET: Final = 0x40000000

# the capabilities a user namespace takes away over files of unmapped owners, which a process
# may be relying on to read the store or the project (capabilities(7))
_FILE_CAPABILITIES: Final = {1: "CAP_DAC_OVERRIDE", 2: "CAP_DAC_READ_SEARCH"}


def _unshare(flags: int) -> int:
    """``unshare(flags)``: 0, or the errno."""
    if _UNSHARE is None:
        return errno.ENOSYS
    if _UNSHARE(ctypes.c_int(flags)) == 0:
        return 0
    return ctypes.get_errno() or errno.EPERM


def _file_capabilities() -> tuple[str, ...]:
    """The capabilities in ``_FILE_CAPABILITIES`` this process has in effect."""
    effective = None
    with contextlib.suppress(OSError, ValueError, IndexError):
        # bytes, no text codec: nothing to import lazily in a freshly forked child
        fd = os.open("/proc/self/status", os.O_RDONLY)
        try:
            status = os.read(fd, 1 << 16)
        finally:
            os.close(fd)
        for line in status.splitlines():
            if line.startswith(b"CapEff:"):
                effective = int(line.split()[1], 16)
    if effective is None:  # cannot tell: assume root has them, as it usually does
        return tuple(_FILE_CAPABILITIES.values()) if os.geteuid() == 0 else ()
    return tuple(name for bit, name in _FILE_CAPABILITIES.items() if effective >> bit & 1)


def _write(path: str, text: str) -> None:
    fd = os.open(path, os.O_WRONLY)
    try:
        os.write(fd, text.encode())
    finally:
        os.close(fd)


def _map_ids(uid: int, gid: int) -> None:
    """Map the ids the process had outside onto themselves inside its new user namespace.

    Best effort, and only cosmetic: permission checks use the kernel's ids, which a user
    namespace does not change, so an unmapped process (seen as uid 65534) reads what it did.
    """
    with contextlib.suppress(OSError):
        _write("/proc/self/uid_map", f"{uid} {uid} 1")
    with contextlib.suppress(OSError):
        _write("/proc/self/setgroups", "deny")  # required before an unprivileged gid_map
        _write("/proc/self/gid_map", f"{gid} {gid} 1")


def _apply_netns() -> None:
    if _UNSHARE is None:
        raise IsolationUnavailable("netns", "unshare() is not available (Linux only)")
    threads = _threads()
    if threads is not None and threads > 1:
        raise IsolationUnavailable(
            "netns",
            f"the process has {threads} threads and unshare() would move only the calling one "
            "to the new namespace; call isolate() right after fork, before any thread starts",
        )
    failed = _unshare(CLONE_NEWNET)
    if failed == 0:
        return
    first = f"unshare(CLONE_NEWNET) failed with {_errname(failed)}"
    if failed != errno.EPERM:
        raise IsolationUnavailable("netns", first)
    first += ": no CAP_SYS_ADMIN"
    kept = _file_capabilities()
    if kept:
        raise IsolationUnavailable(
            "netns",
            f"{first}, and a user namespace would take away {' and '.join(kept)}, which this "
            "process may need to read files it does not own; run it with CAP_SYS_ADMIN, or as "
            "an ordinary user",
        )
    uid, gid = os.geteuid(), os.getegid()
    failed = _unshare(CLONE_NEWUSER | CLONE_NEWNET)
    if failed != 0:
        raise IsolationUnavailable(
            "netns",
            f"{first}, and unshare(CLONE_NEWUSER | CLONE_NEWNET) with {_errname(failed)}: "
            "unprivileged user namespaces are disabled or restricted here",
        )
    _map_ids(uid, gid)


# -- seccomp -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Arch:
    """What the filter needs to know of an architecture (its native 64-bit little-endian ABI)."""

    name: str
    audit: int  # AUDIT_ARCH_*: EM_* | __AUDIT_ARCH_64BIT | __AUDIT_ARCH_LE
    socket: int
    socketpair: int
    seccomp: int  # the seccomp() system call
    x32: bool  # x86_64: numbers with __X32_SYSCALL_BIT are another ABI, refused


IO_URING: Final = (425, 426, 427)  # io_uring_setup, _enter, _register: the same on every arch
ARCHES: Final = {
    "x86_64": Arch("x86_64", 0xC000003E, 41, 53, 317, x32=True),
    "aarch64": Arch("aarch64", 0xC00000B7, 198, 199, 277, x32=False),
}
X32_SYSCALL_BIT: Final = 0x40000000

# linux/filter.h, linux/seccomp.h
BPF_LD_W_ABS: Final = 0x00 | 0x00 | 0x20  # BPF_LD | BPF_W | BPF_ABS
BPF_JMP_JEQ_K: Final = 0x05 | 0x10 | 0x00  # BPF_JMP | BPF_JEQ | BPF_K
BPF_JMP_JGE_K: Final = 0x05 | 0x30 | 0x00  # BPF_JMP | BPF_JGE | BPF_K
BPF_RET_K: Final = 0x06 | 0x00  # BPF_RET | BPF_K
SECCOMP_RET_ALLOW: Final = 0x7FFF0000
SECCOMP_RET_ERRNO: Final = 0x00050000
PR_SET_SECCOMP: Final = 22
PR_SET_NO_NEW_PRIVS: Final = 38
SECCOMP_MODE_FILTER: Final = 2
SECCOMP_SET_MODE_FILTER: Final = 0
SECCOMP_FILTER_FLAG_TSYNC: Final = 1
# struct seccomp_data { int nr; __u32 arch; __u64 instruction_pointer; __u64 args[6]; }
_NR, _ARCH, _ARG0_LOW = 0, 4, 16  # args[0]'s low 32 bits, on a little-endian machine
AF_UNIX: Final = 1


class SockFilter(ctypes.Structure):
    """``struct sock_filter``: one BPF instruction."""

    _fields_ = (
        ("code", ctypes.c_uint16),
        ("jt", ctypes.c_uint8),
        ("jf", ctypes.c_uint8),
        ("k", ctypes.c_uint32),
    )


class SockFprog(ctypes.Structure):
    """``struct sock_fprog``: the length and address of a BPF program."""

    _fields_ = (("len", ctypes.c_ushort), ("filter", ctypes.POINTER(SockFilter)))


Instruction = tuple[int, int, int, int]  # code, jt, jf, k


def program(arch: Arch) -> list[Instruction]:
    """The filter for ``arch``, as ``(code, jt, jf, k)`` instructions."""
    deny = (BPF_RET_K, 0, 0, SECCOMP_RET_ERRNO | errno.EPERM)
    allow = (BPF_RET_K, 0, 0, SECCOMP_RET_ALLOW)
    prog: list[Instruction] = [
        (BPF_LD_W_ABS, 0, 0, _ARCH),
        (BPF_JMP_JEQ_K, 1, 0, arch.audit),  # the native ABI: on; any other: refused
        deny,
        (BPF_LD_W_ABS, 0, 0, _NR),
    ]
    if arch.x32:
        prog += [(BPF_JMP_JGE_K, 0, 1, X32_SYSCALL_BIT), deny]
    # check i sits at i; then allow at n, deny at n + 1, the address-family check at n + 2
    checks = [(arch.socket, False), (arch.socketpair, True)] + [(nr, False) for nr in IO_URING]
    n = len(checks)
    for i, (nr, by_family) in enumerate(checks):
        target = n + 2 if by_family else n + 1
        prog.append((BPF_JMP_JEQ_K, target - (i + 1), 0, nr))
    prog += [
        allow,
        deny,
        (BPF_LD_W_ABS, 0, 0, _ARG0_LOW),  # the domain: an int, so its low 32 bits
        (BPF_JMP_JEQ_K, 0, 1, AF_UNIX),
        allow,
        deny,
    ]
    return prog


def native_arch() -> Arch | None:
    """The architecture of this process's ABI, if the filter knows it."""
    if ctypes.sizeof(ctypes.c_void_p) != 8 or sys.byteorder != "little":
        return None  # a 32-bit or big-endian process, even on a 64-bit kernel
    machine = platform.machine().lower()
    return ARCHES.get({"amd64": "x86_64", "arm64": "aarch64"}.get(machine, machine))


def _apply_seccomp() -> None:
    arch = native_arch()
    if arch is None:
        raise IsolationUnavailable(
            "seccomp",
            f"no filter for this architecture ({platform.machine()}, "
            f"{8 * ctypes.sizeof(ctypes.c_void_p)}-bit {sys.byteorder}-endian); "
            f"known: {', '.join(ARCHES)}",
        )
    if _PRCTL is None or _SYSCALL is None:
        raise IsolationUnavailable("seccomp", "prctl() is not available (Linux only)")
    instructions = program(arch)
    filters = (SockFilter * len(instructions))(*(SockFilter(*x) for x in instructions))
    fprog = SockFprog(len(instructions), ctypes.cast(filters, ctypes.POINTER(SockFilter)))
    zero = ctypes.c_ulong(0)
    if _PRCTL(ctypes.c_int(PR_SET_NO_NEW_PRIVS), ctypes.c_ulong(1), zero, zero, zero) != 0:
        failed = ctypes.get_errno()
        raise IsolationUnavailable(
            "seccomp", f"prctl(PR_SET_NO_NEW_PRIVS) failed with {_errname(failed)}"
        )
    done = _SYSCALL(
        ctypes.c_long(arch.seccomp),
        ctypes.c_long(SECCOMP_SET_MODE_FILTER),
        ctypes.c_long(SECCOMP_FILTER_FLAG_TSYNC),
        ctypes.byref(fprog),
    )
    if done == 0:
        return
    if done > 0:  # the id of a thread that could not take the filter
        raise IsolationUnavailable("seccomp", f"thread {done} could not be given the filter")
    failed = ctypes.get_errno()
    if failed not in {errno.ENOSYS, errno.EINVAL}:
        raise IsolationUnavailable("seccomp", f"seccomp() failed with {_errname(failed)}")
    # a kernel without seccomp() (before 3.17) or without TSYNC: the per-thread prctl, which
    # covers the process only while it has one thread
    threads = _threads()
    if threads != 1:
        raise IsolationUnavailable(
            "seccomp",
            f"seccomp() failed with {_errname(failed)} and the process has {threads} threads, "
            "which prctl(PR_SET_SECCOMP) would not all cover",
        )
    if (
        _PRCTL(
            ctypes.c_int(PR_SET_SECCOMP),
            ctypes.c_ulong(SECCOMP_MODE_FILTER),
            ctypes.byref(fprog),
            zero,
            zero,
        )
        != 0
    ):
        failed = ctypes.get_errno()
        raise IsolationUnavailable(
            "seccomp",
            f"prctl(PR_SET_SECCOMP) failed with {_errname(failed)} "
            "(a kernel without CONFIG_SECCOMP_FILTER?)",
        )


# -- the entry points ----------------------------------------------------------------------


def _apply(guard: str) -> None:
    # looked up at each call, so that tests can stand in for a refusing kernel
    if guard == "netns":
        _apply_netns()
    else:
        _apply_seccomp()


def isolate(method: str) -> tuple[str, ...]:
    """Cut this process off the network; the names of the guards applied.

    Call once in a freshly forked worker, while it is single-threaded, before it opens the
    store. ``"netns"`` or ``"seccomp"`` applies that guard or raises
    :class:`IsolationUnavailable`; ``"auto"`` applies every guard the kernel allows, and
    returns ``()`` when it allows none (the caller should say so loudly).
    """
    if method not in METHODS:
        raise ValueError(f"unknown isolation method {method!r}: one of {', '.join(METHODS)}")
    if method != "auto":
        _apply(method)
        return (method,)
    applied: list[str] = []
    for guard in GUARDS:
        with contextlib.suppress(IsolationUnavailable):
            _apply(guard)
            applied.append(guard)
    return tuple(applied)


_PROBED: dict[str, str | None] | None = None


def available(*, refresh: bool = False, timeout: float = 5.0) -> dict[str, str | None]:
    """Each guard, mapped to ``None`` if this process could apply it, else to why not.

    Probed once (``refresh`` probes again) in a forked child that applies the guards as
    ``isolate("auto")`` would and exits: the calling process is left as it was.
    """
    global _PROBED  # noqa: PLW0603 -- the machine's answer, kept for the process's life
    if _PROBED is None or refresh:
        _PROBED = _probe(timeout)
    return dict(_PROBED)


def _probe(timeout: float) -> dict[str, str | None]:
    if not hasattr(os, "fork") or not sys.platform.startswith("linux"):
        return dict.fromkeys(GUARDS, f"not supported on {sys.platform}")
    read, write = os.pipe()
    try:
        with warnings.catch_warnings():
            # Python 3.12+ warns of fork() in a threaded process; the child only makes system
            # calls and exits
            warnings.filterwarnings(
                "ignore", "This process .* is multi-threaded", DeprecationWarning
            )
            pid = os.fork()
    except OSError as err:
        os.close(read)
        os.close(write)
        return dict.fromkeys(GUARDS, f"cannot fork a probe: {err}")
    if pid == 0:  # the child: apply, report, exit, whatever happens
        try:
            os.close(read)
            lines = []
            for guard in GUARDS:
                try:
                    _apply(guard)
                    lines.append(f"{guard}\t")
                except IsolationUnavailable as err:
                    lines.append(f"{guard}\t{err.reason}")
                except Exception as err:
                    lines.append(f"{guard}\tthe probe failed: {type(err).__name__}: {err}")
            os.write(write, "\n".join(x.replace("\n", " ") for x in lines).encode() + b"\n")
        finally:
            os._exit(0)
    os.close(write)
    data = bytearray()
    deadline = time.monotonic() + timeout
    ended = False  # the child closed its end: it has written all and is exiting
    try:
        while not ended and (left := deadline - time.monotonic()) > 0:
            if select.select([read], [], [], left)[0]:
                chunk = os.read(read, 65536)
                data += chunk
                ended = not chunk
    finally:
        if not ended:  # stuck (it should not be): it must not outlive the wait
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        os.close(read)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)
    found: dict[str, str | None] = dict.fromkeys(GUARDS, "the probe gave no answer")
    for line in data.decode(errors="replace").splitlines():
        guard, _, reason = line.partition("\t")
        if guard in found:
            found[guard] = reason or None
    return found
