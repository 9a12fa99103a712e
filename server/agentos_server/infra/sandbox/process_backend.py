"""The process backend: the script runs as a plain child of the server, with rlimits and nothing else.

It shares the host's filesystem, network and user with the server. It exists for development on
machines without bubblewrap or Docker, and for trusted scripts; it is never chosen automatically.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import signal
import tempfile
from collections.abc import Mapping
from pathlib import Path

from agentos_server.infra.sandbox.base import (
    OutputCallback,
    Runtime,
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
from agentos_server.infra.sandbox.supervisor import LocalLaunch, run_supervised
from agentos_server.infra.sandbox.workdir import workdir_problem

logger = logging.getLogger("agentos.sandbox")


class ProcessSandbox:
    name = "process"
    secure = False

    def __init__(self, *, interpreters: Mapping[Runtime, str] = HOST_INTERPRETERS) -> None:
        prlimit = find_prlimit()
        if prlimit is None:
            raise SandboxUnavailable("util-linux prlimit is not installed at /usr/bin/prlimit")
        self._prlimit = prlimit
        self._interpreters = dict(interpreters)
        self._missing_interpreters = missing_interpreters(interpreters)
        logger.warning(
            "INSECURE sandbox backend 'process' in use: scripts run as uid %d with the server's "
            "filesystem and network, limited only by rlimits. Use it for trusted scripts only.",
            os.geteuid(),
        )

    async def run(
        self,
        spec: ScriptSpec,
        *,
        on_output: OutputCallback | None = None,
        cancel: asyncio.Event | None = None,
    ) -> SandboxResult:
        problem = environment_problem(spec.env) or workdir_problem(spec.workdir)
        missing = self._missing_interpreters.get(spec.runtime)
        if problem is None and missing is not None:
            problem = f"the {spec.runtime} runtime is not available: {missing} is not installed"
        if problem is not None:
            return failed_to_start(problem)

        # The script and a throw-away HOME live outside the workdir, so the caller's directory
        # holds only what the script itself writes; the 0700 directory keeps other users out.
        private_dir = Path(tempfile.mkdtemp(prefix="agentos-sandbox-"))
        try:
            script_path = private_dir / SCRIPT_FILENAMES[spec.runtime]
            script_path.write_text(spec.source, encoding="utf-8")
            home = private_dir / "home"
            home.mkdir()
            launch = LocalLaunch(
                argv=[
                    *prlimit_command(
                        spec.limits,
                        max_processes=_process_budget(spec.limits.max_processes),
                        prlimit=self._prlimit,
                    ),
                    *interpreter_command(spec.runtime, self._interpreters[spec.runtime], str(script_path)),
                ],
                env=script_environment(spec.env, home=str(home)),
                cwd=str(spec.workdir),
            )
            return await run_supervised(
                launch,
                stdin=spec.stdin,
                limits=spec.limits,
                on_output=on_output,
                cancel=cancel,
                kill_tree=_kill_tree,
            )
        finally:
            await asyncio.to_thread(shutil.rmtree, private_dir, True)


def _process_budget(max_processes: int) -> int:
    """RLIMIT_NPROC value that leaves a bare process `max_processes` more tasks than its uid has now.

    Outside a user namespace the kernel counts every task (threads included) of the uid against the
    limit, the server's own among them, so the plain number would stop a script from forking at all
    under a busy server. Root is exempt from the limit entirely: as root it contains nothing.
    """
    return _tasks_of_uid(os.getuid()) + max_processes


def _tasks_of_uid(uid: int) -> int:
    tasks = 0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            status = Path(entry.path, "status").read_text()
        except OSError:
            continue  # gone meanwhile
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        real_uid = int(fields.get("Uid", "-1").split()[0])
        if real_uid == uid:
            tasks += int(fields.get("Threads", "1").strip())
    return tasks


def _kill_tree(pid: int) -> None:
    """SIGKILL the script's process group and every descendant that left the group while it ran.

    A descendant that left the group *and* lost its parent (double fork + setsid) is out of reach:
    nothing links it to the run any more. That is one of the reasons this backend is insecure.
    """
    strays = [child for child in _descendants(pid) if _process_group(child) != pid]
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
    for child in strays:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(child, signal.SIGKILL)


def _descendants(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        parent = _stat_field(int(entry.name), 1)
        if parent is not None:
            children.setdefault(parent, []).append(int(entry.name))
    found: list[int] = []
    frontier = [root]
    while frontier:
        current = frontier.pop()
        for child in children.get(current, []):
            found.append(child)
            frontier.append(child)
    return found


def _process_group(pid: int) -> int | None:
    return _stat_field(pid, 2)


def _stat_field(pid: int, index: int) -> int | None:
    """Field `index` after the command name in /proc/PID/stat: 1 is the parent pid, 2 the group."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name is in parentheses and may itself contain spaces and parentheses.
    return int(stat.rsplit(")", 1)[1].split()[index])
