"""The sandbox contract: what a script run asks for, what it returns, and how a backend is chosen.

The domain layer codes against `Sandbox` and `create_sandbox`; which isolation technology runs the
script (bubblewrap, a Docker engine, or a bare subprocess) is a deployment decision.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol

Runtime = Literal["python", "node", "bash"]
StreamName = Literal["stdout", "stderr"]
Outcome = Literal["exited", "timed_out", "cancelled", "output_limit", "failed_to_start"]

RUNTIMES: tuple[Runtime, ...] = ("python", "node", "bash")

# Where the caller's workdir and the script appear inside the isolated backends (bwrap, docker).
SANDBOX_WORKDIR = "/workspace"
SANDBOX_SCRIPT_DIR = "/sandbox"
# The sandbox's own scratch space: a private, size-limited tmpfs, never the host's /tmp.
SANDBOX_TMP = "/tmp"  # noqa: S108
SANDBOX_SHM = "/dev/shm"  # noqa: S108

DEFAULT_DOCKER_IMAGES: Mapping[Runtime, str] = {
    "python": "python:3.11-slim",
    "node": "node:20-slim",
    "bash": "bash:5.2",
}

# The uid/gid scripts run as when the server itself is root: root is exempt from RLIMIT_NPROC,
# so a script running as uid 0 could fork without bound.
DEFAULT_SANDBOX_UID = 65534
DEFAULT_SANDBOX_GID = 65534


@dataclass(frozen=True)
class SandboxLimits:
    wall_clock_seconds: float = 30.0
    cpu_seconds: int = 30
    memory_bytes: int = 512 * 1024 * 1024
    max_processes: int = 64
    max_file_bytes: int = 64 * 1024 * 1024
    max_output_bytes: int = 1024 * 1024  # per stream; the rest is dropped and the result says truncated


@dataclass(frozen=True)
class ScriptSpec:
    runtime: Runtime
    source: str
    # Host directory, mounted read-write as the working directory inside; the caller keeps it
    # across the stages of one run.
    workdir: Path
    stdin: bytes = b""
    # The only environment the script sees, on top of a minimal PATH/HOME/LANG set by the backend.
    env: Mapping[str, str] = field(default_factory=dict)
    limits: SandboxLimits = SandboxLimits()


@dataclass(frozen=True)
class SandboxResult:
    exit_code: int | None  # None when the sandbox killed the script; 128+N when signal N ended it
    outcome: Outcome
    stdout: bytes  # at most limits.max_output_bytes
    stderr: bytes
    stdout_truncated: bool
    stderr_truncated: bool
    duration_ms: int
    detail: str = ""  # human-readable reason, e.g. "killed after 5.0 s wall clock"


OutputCallback = Callable[[StreamName, bytes], Awaitable[None]]


class Sandbox(Protocol):
    name: str  # "bwrap" | "docker" | "process"
    secure: bool

    async def run(
        self,
        spec: ScriptSpec,
        *,
        on_output: OutputCallback | None = None,
        cancel: asyncio.Event | None = None,
    ) -> SandboxResult: ...


class SandboxUnavailable(Exception):
    """The backend cannot run on this host (no bwrap, no Docker engine, process backend not allowed)."""


def failed_to_start(detail: str, duration_ms: int = 0) -> SandboxResult:
    return SandboxResult(
        exit_code=None,
        outcome="failed_to_start",
        stdout=b"",
        stderr=b"",
        stdout_truncated=False,
        stderr_truncated=False,
        duration_ms=duration_ms,
        detail=detail,
    )


def create_sandbox(
    kind: str = "auto",
    *,
    allow_insecure_process: bool = False,
    docker_image_python: str = DEFAULT_DOCKER_IMAGES["python"],
    docker_image_node: str = DEFAULT_DOCKER_IMAGES["node"],
    docker_image_bash: str = DEFAULT_DOCKER_IMAGES["bash"],
    docker_base_url: str | None = None,
    docker_cpus: float = 1.0,
    sandbox_uid: int = DEFAULT_SANDBOX_UID,
    sandbox_gid: int = DEFAULT_SANDBOX_GID,
    bwrap_path: str | None = None,
) -> Sandbox:
    """Build the sandbox backend `kind`: "auto", "bwrap", "docker" or "process".

    "auto" means bwrap, and nothing weaker: it never falls back to the insecure process backend on
    its own, because a silently unsandboxed server is worse than one that refuses to start.
    """
    # Imported here because every backend module imports this one.
    from agentos_server.infra.sandbox.bwrap_backend import BwrapSandbox
    from agentos_server.infra.sandbox.docker_backend import DockerSandbox
    from agentos_server.infra.sandbox.process_backend import ProcessSandbox

    if kind == "auto":
        try:
            return BwrapSandbox(bwrap_path=bwrap_path, sandbox_uid=sandbox_uid, sandbox_gid=sandbox_gid)
        except SandboxUnavailable as exc:
            raise SandboxUnavailable(
                f"{exc}. No secure sandbox backend works on this host. Install bubblewrap "
                "(Debian/Ubuntu package 'bubblewrap'), or choose kind='docker' with a reachable Docker "
                "engine. The unsandboxed process backend is never chosen automatically: enable it "
                "explicitly with kind='process', allow_insecure_process=True, and only for trusted scripts."
            ) from exc
    if kind == "bwrap":
        return BwrapSandbox(bwrap_path=bwrap_path, sandbox_uid=sandbox_uid, sandbox_gid=sandbox_gid)
    if kind == "docker":
        return DockerSandbox(
            images={"python": docker_image_python, "node": docker_image_node, "bash": docker_image_bash},
            base_url=docker_base_url,
            cpus=docker_cpus,
            container_uid=sandbox_uid,
            container_gid=sandbox_gid,
        )
    if kind == "process":
        if not allow_insecure_process:
            raise SandboxUnavailable(
                "the process backend runs scripts with the server's own filesystem, network and user; "
                "it is refused unless allow_insecure_process=True is passed explicitly"
            )
        return ProcessSandbox()
    raise ValueError(f"unknown sandbox kind {kind!r}; expected 'auto', 'bwrap', 'docker' or 'process'")
