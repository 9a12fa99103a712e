"""The Docker backend: one throw-away container per script, for hosts that run a Docker engine.

The container specification is a pure function of the script (`build_container_spec`), so what a
container is allowed to do can be read, reviewed and tested without an engine. The engine must be
on the same host as the server: the workdir and the script reach the container as bind mounts.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agentos_server.infra.sandbox.base import (
    DEFAULT_SANDBOX_GID,
    DEFAULT_SANDBOX_UID,
    SANDBOX_SCRIPT_DIR,
    SANDBOX_TMP,
    SANDBOX_WORKDIR,
    OutputCallback,
    Runtime,
    SandboxResult,
    SandboxUnavailable,
    ScriptSpec,
    StreamName,
    failed_to_start,
)
from agentos_server.infra.sandbox.output import CappedStream
from agentos_server.infra.sandbox.runtimes import (
    SCRIPT_FILENAMES,
    environment_problem,
    interpreter_command,
    script_environment,
)
from agentos_server.infra.sandbox.supervisor import (
    KILL_GRACE_SECONDS,
    Stop,
    describe_exit_status,
    elapsed_ms,
    make_result,
)
from agentos_server.infra.sandbox.workdir import hand_over, workdir_problem

# Interpreters are looked up on the image's PATH: official images keep them in /usr/local/bin.
CONTAINER_INTERPRETERS: Mapping[Runtime, str] = {"python": "python3", "node": "node", "bash": "bash"}
STDIN_FILENAME = "stdin"
SHM_MAX_BYTES = 64 * 1024 * 1024
CONTAINER_LABEL = "agentos.sandbox"
ENGINE_TIMEOUT_SECONDS = 30
# Chunks in flight between the thread reading the engine's stream and the event loop; bounds the
# memory a fast-printing container can make the server hold before the cap check sees it.
OUTPUT_CHUNKS_IN_FLIGHT = 16


@dataclass(frozen=True)
class ContainerSpec:
    """Arguments for docker-py's low-level API: create_container(image, command, **create_kwargs,
    host_config=create_host_config(**host_config_kwargs))."""

    image: str
    command: list[str]
    create_kwargs: dict[str, Any]
    host_config_kwargs: dict[str, Any]


def build_container_spec(
    spec: ScriptSpec,
    *,
    image: str,
    script_dir: Path,
    cpus: float = 1.0,
    uid: int = DEFAULT_SANDBOX_UID,
    gid: int = DEFAULT_SANDBOX_GID,
) -> ContainerSpec:
    """The container that runs `spec`, given a host directory holding the script and its stdin."""
    from docker.types import LogConfig, Ulimit

    limits = spec.limits
    script_path = f"{SANDBOX_SCRIPT_DIR}/{SCRIPT_FILENAMES[spec.runtime]}"
    cpu_seconds = max(1, limits.cpu_seconds)
    command = [
        # The engine has no "stdin from a file"; a shell redirect does it without keeping an attach
        # socket open for writing. "$@" passes the interpreter and script through unquoted.
        "/bin/sh",
        "-c",
        f'exec "$@" < {SANDBOX_SCRIPT_DIR}/{STDIN_FILENAME}',
        "agentos-sandbox",
        *interpreter_command(spec.runtime, CONTAINER_INTERPRETERS[spec.runtime], script_path),
    ]
    create_kwargs: dict[str, Any] = {
        "user": f"{uid}:{gid}",
        "environment": script_environment(spec.env, home=SANDBOX_TMP),
        "working_dir": SANDBOX_WORKDIR,
        "hostname": "sandbox",
        "network_disabled": True,
        "labels": {CONTAINER_LABEL: "1"},
    }
    host_config_kwargs: dict[str, Any] = {
        "network_mode": "none",
        "read_only": True,
        "tmpfs": {SANDBOX_TMP: f"rw,nosuid,nodev,size={limits.memory_bytes}"},
        "shm_size": min(SHM_MAX_BYTES, limits.memory_bytes),
        "mem_limit": limits.memory_bytes,
        "memswap_limit": limits.memory_bytes,  # equal to mem_limit: no swap on top
        "pids_limit": limits.max_processes,
        "nano_cpus": int(cpus * 1_000_000_000),
        "cap_drop": ["ALL"],
        "security_opt": ["no-new-privileges:true"],
        "ipc_mode": "private",
        "ulimits": [
            Ulimit(name="cpu", soft=cpu_seconds, hard=cpu_seconds + 1),
            Ulimit(name="fsize", soft=limits.max_file_bytes, hard=limits.max_file_bytes),
            Ulimit(name="core", soft=0, hard=0),
        ],
        "binds": {
            str(spec.workdir): {"bind": SANDBOX_WORKDIR, "mode": "rw"},
            str(script_dir): {"bind": SANDBOX_SCRIPT_DIR, "mode": "ro"},
        },
        # A real init as PID 1 reaps the zombies of a fork bomb and forwards the kill.
        "init": True,
        # Output reaches the server through the attach stream only; the engine must not also
        # write a 100 MB print loop to its log files on disk.
        "log_config": LogConfig(type="none"),
        # When the host runs short of memory, the container goes before the server does.
        "oom_score_adj": 1000,
        # Removed by the backend once the exit code is read; with auto-remove the engine could
        # delete the container before its exit code was collected.
        "auto_remove": False,
    }
    return ContainerSpec(
        image=image, command=command, create_kwargs=create_kwargs, host_config_kwargs=host_config_kwargs
    )


class DockerSandbox:
    name = "docker"
    secure = True

    def __init__(
        self,
        *,
        images: Mapping[Runtime, str],
        base_url: str | None = None,
        cpus: float = 1.0,
        container_uid: int = DEFAULT_SANDBOX_UID,
        container_gid: int = DEFAULT_SANDBOX_GID,
    ) -> None:
        try:
            import docker
        except ImportError as exc:
            raise SandboxUnavailable("the docker Python SDK is not installed") from exc
        where = (
            base_url or os.environ.get("DOCKER_HOST") or "the default socket (unix:///var/run/docker.sock)"
        )
        try:
            if base_url is not None:
                client = docker.DockerClient(base_url=base_url, timeout=ENGINE_TIMEOUT_SECONDS)
            else:
                client = docker.from_env(timeout=ENGINE_TIMEOUT_SECONDS)
            client.ping()
        except (docker.errors.DockerException, OSError) as exc:
            raise SandboxUnavailable(f"no Docker engine reachable at {where}: {exc}") from exc
        self._api: Any = client.api
        self._images = dict(images)
        self._cpus = cpus
        self._uid = container_uid
        self._gid = container_gid

    async def run(
        self,
        spec: ScriptSpec,
        *,
        on_output: OutputCallback | None = None,
        cancel: asyncio.Event | None = None,
    ) -> SandboxResult:
        problem = environment_problem(spec.env) or workdir_problem(spec.workdir)
        if problem is not None:
            return failed_to_start(problem)
        started = time.monotonic()
        private_dir = Path(tempfile.mkdtemp(prefix="agentos-docker-"))
        container_id: str | None = None
        try:
            script_dir = await asyncio.to_thread(self._prepare_files, spec, private_dir)
            container = build_container_spec(
                spec,
                image=self._images[spec.runtime],
                script_dir=script_dir,
                cpus=self._cpus,
                uid=self._uid,
                gid=self._gid,
            )
            try:
                container_id = await asyncio.to_thread(self._create, container)
            except Exception as exc:
                return failed_to_start(_creation_problem(container.image, exc), elapsed_ms(started))
            return await self._supervise(container_id, spec, on_output, cancel, started)
        finally:
            if container_id is not None:
                await asyncio.to_thread(self._remove, container_id)
            await asyncio.to_thread(shutil.rmtree, private_dir, True)

    def _prepare_files(self, spec: ScriptSpec, private_dir: Path) -> Path:
        # The private directory (0700) keeps other host users out; the mounted one inside must be
        # readable by the container's uid.
        script_dir = private_dir / "sandbox"
        script_dir.mkdir(mode=0o755)
        script_dir.chmod(0o755)
        script = script_dir / SCRIPT_FILENAMES[spec.runtime]
        script.write_text(spec.source, encoding="utf-8")
        stdin = script_dir / STDIN_FILENAME
        stdin.write_bytes(spec.stdin)
        for path in (script, stdin):
            path.chmod(0o444)
        if os.geteuid() == 0:
            hand_over(spec.workdir, self._uid, self._gid)
        return script_dir

    def _create(self, container: ContainerSpec) -> str:
        host_config = self._api.create_host_config(**container.host_config_kwargs)
        created = self._api.create_container(
            container.image, container.command, host_config=host_config, **container.create_kwargs
        )
        return str(created["Id"])

    def _remove(self, container_id: str) -> None:
        from docker.errors import DockerException

        with contextlib.suppress(DockerException, OSError):
            self._api.remove_container(container_id, force=True)

    async def _supervise(
        self,
        container_id: str,
        spec: ScriptSpec,
        on_output: OutputCallback | None,
        cancel: asyncio.Event | None,
        started: float,
    ) -> SandboxResult:
        limits = spec.limits
        streams = {
            "stdout": CappedStream("stdout", limits.max_output_bytes, on_output),
            "stderr": CappedStream("stderr", limits.max_output_bytes, on_output),
        }
        relay = _OutputRelay(asyncio.get_running_loop())
        # Attach before start, so that not a byte of early output is missed.
        output = await asyncio.to_thread(
            self._api.attach, container_id, stdout=True, stderr=True, stream=True, demux=True, logs=False
        )
        relay.start(output)
        cancel_waiter = asyncio.create_task(cancel.wait()) if cancel is not None else None
        try:
            await asyncio.to_thread(self._api.start, container_id)
            stop = await _relay_until_stop(relay, streams, started + limits.wall_clock_seconds, cancel_waiter)
            if stop is not Stop.EXITED:
                await asyncio.to_thread(self._kill, container_id)
            status, oom_killed = await asyncio.to_thread(self._exit_status, container_id)
        finally:
            relay.abandon()
            if cancel_waiter is not None:
                cancel_waiter.cancel()
        return make_result(
            stop,
            status=status,
            exited_on_its_own=stop is Stop.EXITED,
            stdout=streams["stdout"],
            stderr=streams["stderr"],
            limits=limits,
            duration_ms=elapsed_ms(started),
            exit_detail=(
                f"killed by the memory limit of {limits.memory_bytes} bytes"
                if oom_killed
                else describe_exit_status(status, limits)
                if status is not None
                else ""
            ),
        )

    def _kill(self, container_id: str) -> None:
        from docker.errors import DockerException

        with contextlib.suppress(DockerException, OSError):
            self._api.kill(container_id)

    def _exit_status(self, container_id: str) -> tuple[int | None, bool]:
        from docker.errors import DockerException

        try:
            waited = self._api.wait(container_id, timeout=KILL_GRACE_SECONDS)
            state = self._api.inspect_container(container_id)["State"]
        except (DockerException, OSError):
            return None, False
        return int(waited["StatusCode"]), bool(state.get("OOMKilled"))


async def _relay_until_stop(
    relay: _OutputRelay,
    streams: Mapping[str, CappedStream],
    deadline: float,
    cancel_waiter: asyncio.Task[bool] | None,
) -> Stop:
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return Stop.TIMED_OUT
        if cancel_waiter is not None and cancel_waiter.done():
            return Stop.CANCELLED
        next_chunk = asyncio.create_task(relay.queue.get())
        waiters: set[asyncio.Future[Any]] = {next_chunk}
        if cancel_waiter is not None:
            waiters.add(cancel_waiter)
        await asyncio.wait(waiters, timeout=remaining, return_when=asyncio.FIRST_COMPLETED)
        if not next_chunk.done():
            next_chunk.cancel()
            continue
        item = next_chunk.result()
        relay.consumed()
        if item is None:
            return Stop.EXITED  # the engine closes the stream when the container's process ends
        name, chunk = item
        stream = streams[name]
        await stream.feed(chunk)
        if stream.overflowed:
            return Stop.OUTPUT_LIMIT


class _OutputRelay:
    """Carries the engine's blocking output stream from a thread onto the event loop, with backpressure."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.queue: asyncio.Queue[tuple[StreamName, bytes] | None] = asyncio.Queue()
        self._loop = loop
        self._slots = threading.Semaphore(OUTPUT_CHUNKS_IN_FLIGHT)
        self._abandoned = threading.Event()

    def start(self, output: Iterable[tuple[bytes | None, bytes | None]]) -> None:
        threading.Thread(
            target=self._forward, args=(output,), name="agentos-sandbox-docker-output", daemon=True
        ).start()

    def consumed(self) -> None:
        self._slots.release()

    def abandon(self) -> None:
        self._abandoned.set()

    def _post(self, item: tuple[StreamName, bytes] | None) -> bool:
        while not self._slots.acquire(timeout=0.5):
            if self._abandoned.is_set():
                return False
        with contextlib.suppress(RuntimeError):  # the loop is already closed
            self._loop.call_soon_threadsafe(self.queue.put_nowait, item)
        return True

    def _forward(self, output: Iterable[tuple[bytes | None, bytes | None]]) -> None:
        try:
            for stdout, stderr in output:
                if self._abandoned.is_set():
                    return
                if stdout and not self._post(("stdout", stdout)):
                    return
                if stderr and not self._post(("stderr", stderr)):
                    return
        except Exception:  # noqa: S110 - the connection dropped; the stream ends like an exit does
            pass
        finally:
            if not self._abandoned.is_set():
                self._post(None)
            close = getattr(output, "close", None)
            if callable(close):
                with contextlib.suppress(Exception):
                    close()


def _creation_problem(image: str, exc: Exception) -> str:
    from docker.errors import ImageNotFound

    if isinstance(exc, ImageNotFound):
        return f"image {image} is not present on the Docker host; pull it first (docker pull {image})"
    return f"the Docker engine refused to create the container: {exc}"
