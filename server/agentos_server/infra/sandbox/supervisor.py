"""Runs one local process under a wall clock, output caps and cancellation, streaming its output.

Shared by the bwrap and process backends: both start a host process (bwrap, or the interpreter
behind prlimit) and differ only in how its whole tree is killed.

The process is started with `subprocess.Popen` and watched with the event loop's own readers
(pipes and a pidfd) instead of `asyncio.create_subprocess_exec`, for two reasons: the end of the
process is seen even while a grandchild still holds its pipes open, and the tree is killed while
the leader is still an unreaped zombie, so its pid (which is also the process group id) cannot
have been recycled by the time the group is signalled.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import os
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from agentos_server.infra.sandbox.base import (
    Outcome,
    OutputCallback,
    SandboxLimits,
    SandboxResult,
    failed_to_start,
)
from agentos_server.infra.sandbox.output import CappedStream

logger = logging.getLogger("agentos.sandbox")

READ_CHUNK_BYTES = 64 * 1024
# After SIGKILL a process is gone within milliseconds unless it is stuck in the kernel; this only
# bounds how long a result can be held up by one that is.
KILL_GRACE_SECONDS = 5.0
# How long the output of a process that has ended may keep arriving (its pipes hold at most a few
# hundred KiB) before readers are stopped. Only a descendant that escaped the kill can hold the
# pipes open longer, which the bwrap backend's PID namespace rules out.
DRAIN_GRACE_SECONDS = 2.0
EXIT_POLL_SECONDS = 0.05

KillTree = Callable[[int], None]  # given the leader's pid, SIGKILL everything the run started


SETPRIV_PATH = "/usr/bin/setpriv"


def as_user_command(user: int, group: int) -> list[str]:
    """The util-linux `setpriv` prefix that runs the command after it as user:group, no other groups.

    The switch happens in setpriv rather than through Popen(user=, group=): asking Popen to change
    ids makes CPython fork() instead of vfork(), and fork() runs the pthread_atfork handlers that
    grpc installs, whose child handler crashes (SIGSEGV) the child of a busy grpc server before it
    can exec. With no id change Popen uses vfork(), which runs no handlers.
    """
    return [SETPRIV_PATH, f"--reuid={user}", f"--regid={group}", "--clear-groups", "--"]


@dataclass(frozen=True)
class LocalLaunch:
    argv: Sequence[str]
    env: Mapping[str, str]
    cwd: str
    pass_fds: Sequence[int] = ()
    # Set only when the server is root and drops to an unprivileged uid for the sandbox.
    user: int | None = None
    group: int | None = None


class Stop(enum.Enum):
    """Why a run ended."""

    EXITED = enum.auto()
    TIMED_OUT = enum.auto()
    CANCELLED = enum.auto()
    OUTPUT_LIMIT = enum.auto()
    CALLBACK_FAILED = enum.auto()  # the caller's on_output raised; the run is aborted, not reported


_OUTCOMES: Mapping[Stop, Outcome] = {
    Stop.EXITED: "exited",
    Stop.TIMED_OUT: "timed_out",
    Stop.CANCELLED: "cancelled",
    Stop.OUTPUT_LIMIT: "output_limit",
}


def exit_status(returncode: int) -> int:
    """Shell convention: a process ended by signal N reports 128 + N (bwrap already does this)."""
    return 128 - returncode if returncode < 0 else returncode


def describe_exit_status(status: int, limits: SandboxLimits) -> str:
    if status <= 128:
        return ""
    try:
        sig = signal.Signals(status - 128)
    except ValueError:
        return ""
    if sig == signal.SIGXCPU:
        return f"ended by SIGXCPU: CPU time limit of {limits.cpu_seconds} s reached"
    if sig == signal.SIGXFSZ:
        return f"ended by SIGXFSZ: a file reached the size limit of {limits.max_file_bytes} bytes"
    if sig == signal.SIGKILL:
        return "ended by SIGKILL (CPU time hard limit, or the kernel's out-of-memory killer)"
    return f"ended by {sig.name}"


async def run_supervised(
    launch: LocalLaunch,
    *,
    stdin: bytes,
    limits: SandboxLimits,
    on_output: OutputCallback | None,
    cancel: asyncio.Event | None,
    kill_tree: KillTree,
) -> SandboxResult:
    started = time.monotonic()
    argv = list(launch.argv)
    if launch.user is not None:
        argv = [
            *as_user_command(launch.user, launch.group if launch.group is not None else launch.user),
            *argv,
        ]
    try:
        # Popen only forks and execs here; everything that waits is done through the event loop.
        proc = subprocess.Popen(  # noqa: ASYNC220
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=dict(launch.env),
            cwd=launch.cwd,
            start_new_session=True,
            close_fds=True,
            pass_fds=tuple(launch.pass_fds),
        )
    except (OSError, subprocess.SubprocessError) as exc:
        return failed_to_start(f"could not start {launch.argv[0]}: {exc}", elapsed_ms(started))
    supervision = _Supervision(proc, stdin=stdin, limits=limits, on_output=on_output, kill_tree=kill_tree)
    return await supervision.run(started, cancel)


def elapsed_ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


async def _fd_ready(fd: int, *, writable: bool = False) -> None:
    loop = asyncio.get_running_loop()
    ready: asyncio.Future[None] = loop.create_future()
    if writable:
        loop.add_writer(fd, _resolve, ready)
    else:
        loop.add_reader(fd, _resolve, ready)
    try:
        await ready
    finally:
        if writable:
            loop.remove_writer(fd)
        else:
            loop.remove_reader(fd)


class _Supervision:
    def __init__(
        self,
        proc: subprocess.Popen[bytes],
        *,
        stdin: bytes,
        limits: SandboxLimits,
        on_output: OutputCallback | None,
        kill_tree: KillTree,
    ) -> None:
        self.proc = proc
        self.limits = limits
        self.kill_tree = kill_tree
        self.stdin = stdin
        self.stdout = CappedStream("stdout", limits.max_output_bytes, on_output)
        self.stderr = CappedStream("stderr", limits.max_output_bytes, on_output)
        self.overflow = asyncio.Event()
        self.exited: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.exited_on_its_own = False
        self._pidfd: int | None = None

    async def run(self, started: float, cancel: asyncio.Event | None) -> SandboxResult:
        proc = self.proc
        assert proc.stdout is not None
        assert proc.stderr is not None
        background: list[asyncio.Task[Any]] = []
        pumps = [
            asyncio.create_task(self._pump(proc.stdout.fileno(), self.stdout)),
            asyncio.create_task(self._pump(proc.stderr.fileno(), self.stderr)),
        ]
        background += pumps
        background.append(asyncio.create_task(self._feed_stdin()))
        exit_poller = self._watch_exit()
        if exit_poller is not None:
            background.append(exit_poller)
        stop_signals: list[asyncio.Task[Any]] = [asyncio.create_task(self.overflow.wait())]
        cancel_waiter = asyncio.create_task(cancel.wait()) if cancel is not None else None
        if cancel_waiter is not None:
            stop_signals.append(cancel_waiter)
        background += stop_signals
        returncode: int | None = None
        try:
            stop = await self._wait_for_stop(started, pumps, stop_signals, cancel_waiter)
            self.exited_on_its_own = self.exited.done()
            # Even after a normal exit: whatever the script left running in the background goes too.
            self.kill_tree(proc.pid)
            returncode = await self._reap()
            if stop is not Stop.CALLBACK_FAILED:
                await asyncio.wait(pumps, timeout=DRAIN_GRACE_SECONDS)
            callback_error = _first_error(pumps)
            if callback_error is not None:
                raise callback_error
            if self.overflow.is_set():
                stop = Stop.OUTPUT_LIMIT
            return self._result(stop, returncode, elapsed_ms(started))
        finally:
            await self._clean_up(background, returncode)

    def _watch_exit(self) -> asyncio.Task[None] | None:
        """Resolve self.exited when the process ends; returns the polling task if one is needed."""
        try:
            self._pidfd = os.pidfd_open(self.proc.pid)
        except (AttributeError, OSError):
            # Kernels before 5.3 have no pidfd.
            return asyncio.create_task(self._poll_exit())
        asyncio.get_running_loop().add_reader(self._pidfd, _resolve, self.exited)
        return None

    async def _poll_exit(self) -> None:
        # WNOWAIT reports the exit without reaping, so the pid stays reserved until _reap.
        while True:
            try:
                info = os.waitid(  # noqa: ASYNC222 - WNOHANG: returns at once
                    os.P_PID, self.proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT
                )
            except ChildProcessError:
                break
            if info is not None:
                break
            await asyncio.sleep(EXIT_POLL_SECONDS)
        _resolve(self.exited)

    async def _wait_for_stop(
        self,
        started: float,
        pumps: list[asyncio.Task[None]],
        stop_signals: list[asyncio.Task[Any]],
        cancel_waiter: asyncio.Task[Any] | None,
    ) -> Stop:
        deadline = started + self.limits.wall_clock_seconds
        watched: set[asyncio.Future[Any]] = {self.exited, *pumps, *stop_signals}
        while True:
            if self.exited.done():
                return Stop.EXITED
            if self.overflow.is_set():
                return Stop.OUTPUT_LIMIT
            if _first_error(pumps) is not None:
                return Stop.CALLBACK_FAILED
            if cancel_waiter is not None and cancel_waiter.done():
                return Stop.CANCELLED
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return Stop.TIMED_OUT
            # A pump that reached end of file is no reason to stop: the process may still run.
            watched -= {pump for pump in pumps if pump.done()}
            await asyncio.wait(watched, timeout=remaining, return_when=asyncio.FIRST_COMPLETED)

    async def _reap(self) -> int | None:
        try:
            await asyncio.wait_for(asyncio.shield(self.exited), KILL_GRACE_SECONDS)
        except TimeoutError:
            logger.error(
                "sandboxed process %d survived SIGKILL for %.0f s", self.proc.pid, KILL_GRACE_SECONDS
            )
            return None
        return self.proc.wait()

    async def _pump(self, fd: int, stream: CappedStream) -> None:
        os.set_blocking(fd, False)
        while True:
            try:
                chunk = os.read(fd, READ_CHUNK_BYTES)
            except BlockingIOError:
                await _fd_ready(fd)
                continue
            if not chunk:
                return
            # Past the cap chunks are read and dropped: the script is about to be killed and must
            # not sit blocked on a full pipe meanwhile.
            await stream.feed(chunk)
            if stream.overflowed:
                self.overflow.set()

    async def _feed_stdin(self) -> None:
        pipe = self.proc.stdin
        assert pipe is not None
        fd = pipe.fileno()
        try:
            os.set_blocking(fd, False)
            pending = memoryview(self.stdin)
            while pending:
                try:
                    written = os.write(fd, pending[:READ_CHUNK_BYTES])
                except BlockingIOError:
                    await _fd_ready(fd, writable=True)
                    continue
                pending = pending[written:]
        except (BrokenPipeError, ConnectionResetError):
            pass  # the script stopped reading its input; that is its own business
        finally:
            # Closing is what gives the script end of file on stdin.
            with contextlib.suppress(OSError):
                pipe.close()

    async def _clean_up(self, tasks: Sequence[asyncio.Task[Any]], returncode: int | None) -> None:
        proc = self.proc
        loop = asyncio.get_running_loop()
        if returncode is None and proc.poll() is None:
            # Reached when run() itself is cancelled, or the caller's on_output raised.
            self.kill_tree(proc.pid)
            if proc.poll() is None:
                # Reap in a thread rather than block the event loop on a dying process.
                loop.run_in_executor(None, proc.wait)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._pidfd is not None:
            loop.remove_reader(self._pidfd)
            os.close(self._pidfd)
        for pipe in (proc.stdin, proc.stdout, proc.stderr):
            if pipe is not None:
                with contextlib.suppress(OSError):
                    pipe.close()

    def _result(self, stop: Stop, returncode: int | None, duration_ms: int) -> SandboxResult:
        return make_result(
            stop,
            status=exit_status(returncode) if returncode is not None else None,
            exited_on_its_own=self.exited_on_its_own,
            stdout=self.stdout,
            stderr=self.stderr,
            limits=self.limits,
            duration_ms=duration_ms,
        )


def make_result(
    stop: Stop,
    *,
    status: int | None,
    exited_on_its_own: bool,
    stdout: CappedStream,
    stderr: CappedStream,
    limits: SandboxLimits,
    duration_ms: int,
    exit_detail: str = "",
) -> SandboxResult:
    """The result of a run that ended for reason `stop` (any but CALLBACK_FAILED)."""
    exit_code: int | None = None
    if stop is Stop.EXITED:
        exit_code = status
        detail = exit_detail or (
            describe_exit_status(status, limits) if status is not None else "exit status unknown"
        )
    elif stop is Stop.OUTPUT_LIMIT:
        stream = stdout if stdout.overflowed else stderr
        if exited_on_its_own:
            exit_code = status
            detail = f"{stream.name} exceeded {stream.cap} bytes; the script had already exited"
        else:
            detail = f"{stream.name} exceeded {stream.cap} bytes; killed"
    elif stop is Stop.TIMED_OUT:
        detail = f"killed after {limits.wall_clock_seconds:.1f} s wall clock"
    else:
        detail = "cancelled by the caller; killed"
    return SandboxResult(
        exit_code=exit_code,
        outcome=_OUTCOMES[stop],
        stdout=stdout.data(),
        stderr=stderr.data(),
        stdout_truncated=stdout.overflowed,
        stderr_truncated=stderr.overflowed,
        duration_ms=duration_ms,
        detail=detail,
    )


def _first_error(tasks: Sequence[asyncio.Task[None]]) -> BaseException | None:
    for task in tasks:
        if task.done() and not task.cancelled():
            error = task.exception()
            if error is not None:
                return error
    return None
