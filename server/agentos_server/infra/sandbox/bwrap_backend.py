"""The bubblewrap backend: every run gets fresh namespaces, a read-only view of the system and rlimits.

Inside the sandbox a script sees:
  /usr (and the /bin, /lib... links into it) read-only, an /etc of its own (below), a private
  /proc and /dev, a private tmpfs /tmp, its workdir read-write at /workspace, its own source
  read-only under /sandbox, a loopback-only network, and nothing else of the host.

/etc: a directory made once when the backend starts, holding the passwd, group, hosts, hostname and
nsswitch.conf written for the sandbox and copies of the few host files interpreters and the C
library read (ETC_READ_ONLY), bound read-only as one mount. Binding each of those sixteen paths
on its own cost about 2 ms of every sandbox's start; the price is that a change to them on the host
(new CA certificates, say) reaches sandboxes when the server restarts. The directory is removed
when the backend goes away; one left by a process that was killed outright (its name carries the
process id) is removed by the next backend to start on the machine.

Fork bombs: RLIMIT_NPROC is applied *inside* the sandbox's user namespace (by prlimit, after bwrap
created it). Since Linux 5.14 the kernel counts that limit per user namespace, so a run is held
to max_processes of its own, whatever else the same uid runs on the host. Root is exempt from the
limit, so when the server runs as root bwrap is started under an unprivileged uid instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import glob
import os
import shutil
import signal
import subprocess
import tempfile
import weakref
from collections.abc import Mapping, Sequence
from pathlib import Path

from agentos_server.infra.sandbox.base import (
    DEFAULT_SANDBOX_GID,
    DEFAULT_SANDBOX_UID,
    SANDBOX_SCRIPT_DIR,
    SANDBOX_SHM,
    SANDBOX_TMP,
    SANDBOX_WORKDIR,
    OutputCallback,
    Runtime,
    SandboxLimits,
    SandboxResult,
    SandboxUnavailable,
    ScriptSpec,
    failed_to_start,
)
from agentos_server.infra.sandbox.rlimits import find_prlimit, prlimit_command
from agentos_server.infra.sandbox.runtimes import (
    HOST_INTERPRETERS,
    SCRIPT_FILENAMES,
    environment_problem,
    interpreter_command,
    missing_interpreters,
    script_environment,
)
from agentos_server.infra.sandbox.supervisor import SETPRIV_PATH, LocalLaunch, as_user_command, run_supervised
from agentos_server.infra.sandbox.workdir import hand_over, untraversable_ancestor, workdir_problem

# Pieces of /etc that interpreters and the C library read and that hold no secrets. Everything
# else of /etc (passwd with real accounts, shadow, ssh keys, application configs) stays out.
ETC_READ_ONLY = (
    "/etc/ld.so.cache",
    "/etc/ld.so.conf",
    "/etc/ld.so.conf.d",
    "/etc/alternatives",
    "/etc/ssl/certs",
    "/etc/ssl/openssl.cnf",
    "/etc/ca-certificates",
    "/etc/localtime",
    "/etc/timezone",
)
TOP_LEVEL_SYSTEM_DIRS = ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
SHM_MAX_BYTES = 64 * 1024 * 1024
PROBE_TIMEOUT_SECONDS = 10.0


class BwrapSandbox:
    name = "bwrap"
    secure = True

    def __init__(
        self,
        *,
        bwrap_path: str | None = None,
        sandbox_uid: int = DEFAULT_SANDBOX_UID,
        sandbox_gid: int = DEFAULT_SANDBOX_GID,
        interpreters: Mapping[Runtime, str] = HOST_INTERPRETERS,
    ) -> None:
        bwrap = shutil.which(bwrap_path or "bwrap")
        if bwrap is None:
            raise SandboxUnavailable(f"bubblewrap is not installed: no executable {bwrap_path or 'bwrap'!r}")
        prlimit = find_prlimit()
        if prlimit is None:
            raise SandboxUnavailable("util-linux prlimit is not installed at /usr/bin/prlimit")
        self._bwrap = bwrap
        self._prlimit = prlimit
        self._interpreters = dict(interpreters)
        self._missing_interpreters = missing_interpreters(interpreters)
        self._uid = sandbox_uid
        self._gid = sandbox_gid
        # Root is exempt from RLIMIT_NPROC, so as root bwrap is started as the sandbox uid instead.
        self._runs_as_other_uid = os.geteuid() == 0
        if self._runs_as_other_uid and not os.access(SETPRIV_PATH, os.X_OK):
            raise SandboxUnavailable(f"util-linux setpriv is not installed at {SETPRIV_PATH}")
        self._system_options = _system_mount_options()
        self._etc = _etc_directory(self._synthetic_etc())
        weakref.finalize(self, shutil.rmtree, self._etc, True)
        self._probe()

    async def run(
        self,
        spec: ScriptSpec,
        *,
        on_output: OutputCallback | None = None,
        cancel: asyncio.Event | None = None,
    ) -> SandboxResult:
        problem = (
            environment_problem(spec.env)
            or workdir_problem(spec.workdir)
            or self._interpreter_problem(spec.runtime)
            or self._reachability_problem(spec)
        )
        if problem is not None:
            return failed_to_start(problem)
        if self._runs_as_other_uid:
            await asyncio.to_thread(hand_over, spec.workdir, self._uid, self._gid)

        open_fds: list[int] = []
        try:
            status_read, status_write = os.pipe()
            open_fds += [status_read, status_write]
            os.set_blocking(status_read, False)
            data_fds: list[int] = []
            try:
                options = self._run_options(spec, status_write, data_fds)
            finally:
                open_fds += data_fds
            options_fd = _memfd("bwrap-options", _nul_separated(options))
            open_fds.append(options_fd)
            script_path = f"{SANDBOX_SCRIPT_DIR}/{SCRIPT_FILENAMES[spec.runtime]}"
            argv = [
                self._bwrap,
                # Options travel through a file descriptor so that environment values (which may be
                # the script's API keys) never show up in the host's process list.
                "--args",
                str(options_fd),
                "--",
                *prlimit_command(spec.limits, max_processes=spec.limits.max_processes, prlimit=self._prlimit),
                *interpreter_command(spec.runtime, self._interpreters[spec.runtime], script_path),
            ]
            launch = LocalLaunch(
                argv=argv,
                env={},
                cwd="/",
                pass_fds=[status_write, options_fd, *data_fds],
                user=self._uid if self._runs_as_other_uid else None,
                group=self._gid if self._runs_as_other_uid else None,
            )
            result = await run_supervised(
                launch,
                stdin=spec.stdin,
                limits=spec.limits,
                on_output=on_output,
                cancel=cancel,
                kill_tree=_kill_process_group,
            )
            return _with_setup_failure(result, _read_available(status_read))
        finally:
            for fd in open_fds:
                with contextlib.suppress(OSError):
                    os.close(fd)

    def _interpreter_problem(self, runtime: Runtime) -> str | None:
        if runtime not in self._interpreters:
            return f"unknown runtime {runtime!r}"
        if runtime in self._missing_interpreters:
            missing = self._missing_interpreters[runtime]
            return f"the {runtime} runtime is not available: {missing} is not installed"
        return None

    def _reachability_problem(self, spec: ScriptSpec) -> str | None:
        if not self._runs_as_other_uid:
            return None
        blocked = untraversable_ancestor(spec.workdir, self._uid, self._gid)
        if blocked is None:
            return None
        return (
            f"workdir {spec.workdir} is not reachable by the sandbox uid {self._uid}: {blocked} does not "
            "let it search (execute bit); keep run directories under a directory that uid can traverse"
        )

    def _namespace_options(self) -> list[str]:
        return [
            "--unshare-all",  # pid, net (loopback only), ipc, uts, cgroup
            "--unshare-user",
            "--disable-userns",  # no nested user namespaces, the usual first step of kernel exploits
            "--uid",
            str(self._uid),
            "--gid",
            str(self._gid),
            "--hostname",
            "sandbox",
            "--die-with-parent",
            "--new-session",  # no controlling terminal to push keystrokes into (TIOCSTI)
        ]

    def _run_options(self, spec: ScriptSpec, status_fd: int, data_fds: list[int]) -> list[str]:
        """bwrap options for one run; the descriptors of the files they copy in are added to data_fds."""
        limits = spec.limits
        script = f"{SANDBOX_SCRIPT_DIR}/{SCRIPT_FILENAMES[spec.runtime]}"
        script_fd = _memfd(os.path.basename(script), spec.source.encode())
        data_fds.append(script_fd)
        environment: list[str] = ["--clearenv"]
        for name, value in script_environment(spec.env, home=SANDBOX_TMP).items():
            environment += ["--setenv", name, value]
        options = [
            *self._namespace_options(),
            *environment,
            *self._system_options,
            "--ro-bind",
            str(self._etc),
            "/etc",
            "--perms",
            "0444",
            "--ro-bind-data",
            str(script_fd),
            script,
            *_scratch_options(limits),
            "--bind",
            str(spec.workdir),
            SANDBOX_WORKDIR,
            "--remount-ro",
            "/",
            "--chdir",
            SANDBOX_WORKDIR,
            "--json-status-fd",
            str(status_fd),
        ]
        return options

    def _synthetic_etc(self) -> dict[str, bytes]:
        # Written for the sandbox instead of bound from the host: the host's passwd and hosts name
        # real accounts and machines, and nsswitch may point at services (systemd, ldap) not there.
        user = "nobody" if self._uid == DEFAULT_SANDBOX_UID else "sandbox"
        group = "nogroup" if self._gid == DEFAULT_SANDBOX_GID else "sandbox"
        return {
            "/etc/passwd": (
                f"root:x:0:0:root:/root:/usr/sbin/nologin\n{user}:x:{self._uid}:{self._gid}::/tmp:/usr/sbin/nologin\n"
            ).encode(),
            "/etc/group": f"root:x:0:\n{group}:x:{self._gid}:\n".encode(),
            "/etc/hosts": b"127.0.0.1\tlocalhost sandbox\n::1\tlocalhost ip6-localhost\n",
            "/etc/hostname": b"sandbox\n",
            "/etc/nsswitch.conf": b"passwd: files\ngroup: files\nshadow: files\nhosts: files\n",
        }

    def _probe(self) -> None:
        """Start one empty sandbox, so that a host where bwrap cannot work is found at start-up."""
        options = [*self._namespace_options(), "--clearenv", *self._system_options, "--proc", "/proc"]
        options_fd = _memfd("bwrap-probe", _nul_separated(options))
        as_user = as_user_command(self._uid, self._gid) if self._runs_as_other_uid else []
        try:
            completed = subprocess.run(
                [*as_user, self._bwrap, "--args", str(options_fd), "--", "/usr/bin/true"],
                pass_fds=(options_fd,),
                env={},
                cwd="/",
                capture_output=True,
                timeout=PROBE_TIMEOUT_SECONDS,
                check=False,
            )
        except (OSError, subprocess.SubprocessError) as exc:
            raise SandboxUnavailable(f"bubblewrap at {self._bwrap} cannot start: {exc}") from exc
        finally:
            os.close(options_fd)
        if completed.returncode != 0:
            reason = (
                completed.stderr.decode(errors="replace").strip() or f"exit status {completed.returncode}"
            )
            raise SandboxUnavailable(
                f"bubblewrap at {self._bwrap} cannot create a sandbox on this host ({reason}); "
                "it needs unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1, "
                "and on Ubuntu an AppArmor profile that allows bwrap to use them)"
            )


def _system_mount_options() -> list[str]:
    options = ["--ro-bind", "/usr", "/usr"]
    for top in TOP_LEVEL_SYSTEM_DIRS:
        if os.path.islink(top):
            options += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            options += ["--ro-bind", top, top]
    return options


_ETC_PREFIX = "agentos-sandbox-etc-"


def _etc_directory(synthetic: Mapping[str, bytes]) -> Path:
    """The sandbox's /etc: the synthetic files and copies of the host's harmless ones."""
    sweep_orphaned_etc_directories()
    root = Path(tempfile.mkdtemp(prefix=f"{_ETC_PREFIX}{os.getpid()}-"))
    try:
        for source in (*ETC_READ_ONLY, *sorted(glob.glob("/etc/python3*"))):
            target = root / os.path.relpath(source, "/etc")
            target.parent.mkdir(parents=True, exist_ok=True)
            if os.path.islink(source):
                os.symlink(os.readlink(source), target)
            elif os.path.isdir(source):
                shutil.copytree(source, target, symlinks=True)
            elif os.path.isfile(source):
                shutil.copyfile(source, target)
        for path, content in synthetic.items():
            (root / os.path.relpath(path, "/etc")).write_bytes(content)
        # Readable, never writable, by the sandbox's uid. Symbolic links are left alone: chmod
        # would follow them to the host's files.
        for directory, _, files in os.walk(root):
            os.chmod(directory, 0o755)  # noqa: S103  (world-readable is the point)
            for name in files:
                path = os.path.join(directory, name)
                if not os.path.islink(path):
                    os.chmod(path, 0o444)
    except BaseException:
        shutil.rmtree(root, ignore_errors=True)
        raise
    return root


def sweep_orphaned_etc_directories(parent: str | None = None) -> list[Path]:
    """Removes the /etc directories of backends whose process no longer exists (killed before
    it could clean up), among those this user owns; returns what it removed. A process id that
    was reused by now keeps its directory until the next sweep after that process ends."""
    removed = []
    for path in Path(parent or tempfile.gettempdir()).glob(f"{_ETC_PREFIX}*-*"):
        owner = path.name.removeprefix(_ETC_PREFIX).split("-", 1)[0]
        if not owner.isdigit() or int(owner) == os.getpid() or _process_exists(int(owner)):
            continue
        with contextlib.suppress(OSError):
            if path.is_dir() and not path.is_symlink() and path.stat().st_uid == os.geteuid():
                shutil.rmtree(path)
                removed.append(path)
    return removed


def _process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _scratch_options(limits: SandboxLimits) -> list[str]:
    # tmpfs lives in the host's memory, so its size is bounded by the script's memory budget;
    # bwrap's /dev is itself a tmpfs without a size, so it is made read-only after /dev/shm is mounted.
    return [
        "--proc",
        "/proc",
        "--dev",
        "/dev",
        "--size",
        str(min(SHM_MAX_BYTES, limits.memory_bytes)),
        "--tmpfs",
        SANDBOX_SHM,
        "--remount-ro",
        "/dev",
        "--size",
        str(limits.memory_bytes),
        "--tmpfs",
        SANDBOX_TMP,
    ]


def _kill_process_group(pid: int) -> None:
    # The group holds bwrap and the sandbox's init (PID 1 of its namespace); when that init dies
    # the kernel kills every process in the namespace, including ones that called setsid().
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def _with_setup_failure(result: SandboxResult, status_json: bytes) -> SandboxResult:
    # bwrap reports {"exit-code": N} on its status descriptor only once the command has run; a
    # plain exit without it means bwrap itself failed (bad mount, no user namespace...).
    if result.outcome != "exited" or b'"exit-code"' in status_json:
        return result
    reason = result.stderr.decode(errors="replace").strip() or f"bwrap exit status {result.exit_code}"
    return dataclasses.replace(
        result,
        outcome="failed_to_start",
        exit_code=None,
        detail=f"bubblewrap could not set up the sandbox: {reason}",
    )


def _memfd(name: str, content: bytes) -> int:
    fd = os.memfd_create(name, os.MFD_CLOEXEC)
    try:
        view = memoryview(content)
        while view:
            view = view[os.write(fd, view) :]
        os.lseek(fd, 0, os.SEEK_SET)
    except BaseException:
        os.close(fd)
        raise
    return fd


def _nul_separated(arguments: Sequence[str]) -> bytes:
    return b"".join(argument.encode() + b"\0" for argument in arguments)


def _read_available(fd: int) -> bytes:
    chunks: list[bytes] = []
    while True:
        try:
            chunk = os.read(fd, 65536)
        except BlockingIOError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)
