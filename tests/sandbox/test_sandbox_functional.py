"""What every local backend (bwrap and process) must do for ordinary scripts, and its limits."""

from __future__ import annotations

import asyncio
import json
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import pytest

from agentos_server.infra.sandbox import (
    Runtime,
    Sandbox,
    SandboxLimits,
    SandboxResult,
    ScriptSpec,
    StreamName,
)

RunScript = Callable[..., SandboxResult]

# Each script echoes its stdin and an env var, and appends to a file in the workdir that the second
# run must find: the workdir is what a daemon's stages share.
HELLO_SCRIPTS: dict[Runtime, str] = {
    "python": """
import os, sys
name = sys.stdin.read().strip()
with open("stages.txt", "a") as f:
    f.write("python\\n")
print(f"hello {name} from {os.environ['GREETING_SOURCE']}")
print(open("stages.txt").read().count("python"), "python runs so far")
""",
    "node": """
const fs = require("fs");
const name = fs.readFileSync(0, "utf8").trim();
fs.appendFileSync("stages.txt", "node\\n");
console.log(`hello ${name} from ${process.env.GREETING_SOURCE}`);
const runs = fs.readFileSync("stages.txt", "utf8").split("\\n").filter((l) => l === "node").length;
console.log(`${runs} node runs so far`);
""",
    "bash": """
read -r name
echo bash >> stages.txt
echo "hello $name from $GREETING_SOURCE"
echo "$(grep -c '^bash$' stages.txt) bash runs so far"
""",
}


@pytest.mark.parametrize("runtime", ["python", "node", "bash"])
def test_hello_world_sees_stdin_env_and_a_workdir_kept_across_runs(
    sandbox: Sandbox, run_script: RunScript, workdir: Path, runtime: Runtime
) -> None:
    spec = ScriptSpec(
        runtime=runtime,
        source=HELLO_SCRIPTS[runtime],
        workdir=workdir,
        stdin=b"agent\n",
        env={"GREETING_SOURCE": "the test"},
    )
    first = run_script(sandbox, spec)
    assert (first.outcome, first.exit_code, first.stderr) == ("exited", 0, b"")
    assert first.stdout.decode().splitlines() == ["hello agent from the test", f"1 {runtime} runs so far"]

    second = run_script(sandbox, spec)
    assert second.outcome == "exited", second
    assert second.stdout.decode().splitlines()[-1] == f"2 {runtime} runs so far"
    assert (workdir / "stages.txt").read_text() == f"{runtime}\n{runtime}\n"


def test_exit_code_and_stderr_are_reported_apart_from_stdout(
    sandbox: Sandbox, run_script: RunScript, workdir: Path
) -> None:
    source = "echo to-out; echo to-err >&2; exit 7"
    result = run_script(sandbox, ScriptSpec(runtime="bash", source=source, workdir=workdir))
    assert (result.outcome, result.exit_code) == ("exited", 7)
    assert (result.stdout, result.stderr) == (b"to-out\n", b"to-err\n")
    assert not result.stdout_truncated
    assert not result.stderr_truncated


def test_output_is_delivered_while_the_script_still_runs(
    sandbox: Sandbox, run_script: RunScript, workdir: Path
) -> None:
    arrivals: list[tuple[float, StreamName, bytes]] = []

    async def on_output(stream: StreamName, chunk: bytes) -> None:
        arrivals.append((time.monotonic(), stream, chunk))

    source = "import sys, time\nprint('first')\ntime.sleep(1.0)\nprint('second', file=sys.stderr)\n"
    started = time.monotonic()
    result = run_script(
        sandbox, ScriptSpec(runtime="python", source=source, workdir=workdir), on_output=on_output
    )
    finished = time.monotonic()

    assert result.outcome == "exited", result
    first_arrival = next(t for t, stream, chunk in arrivals if stream == "stdout" and b"first" in chunk)
    assert first_arrival - started < finished - started - 0.5, "stdout was held back until the end"
    assert b"".join(c for _, s, c in arrivals if s == "stdout") == result.stdout == b"first\n"
    assert b"".join(c for _, s, c in arrivals if s == "stderr") == result.stderr == b"second\n"


def test_the_script_sees_only_the_given_environment(
    sandbox: Sandbox, run_script: RunScript, workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AGENTOS_SERVER_ONLY", "must-not-leak")
    source = "import json, os\nprint(json.dumps({'env': dict(os.environ), 'cwd': os.getcwd()}))"
    result = run_script(
        sandbox, ScriptSpec(runtime="python", source=source, workdir=workdir, env={"ONE": "1"})
    )
    seen = json.loads(result.stdout)
    environment = seen["env"]
    # bwrap exports PWD after changing directory, as a shell would; it only names the workdir.
    assert environment.pop("PWD", seen["cwd"]) == seen["cwd"]
    assert set(environment) == {"PATH", "HOME", "LANG", "ONE"}
    assert environment["ONE"] == "1"


def test_the_given_environment_may_override_the_defaults(
    sandbox: Sandbox, run_script: RunScript, workdir: Path
) -> None:
    source = 'echo "$LANG"'
    result = run_script(
        sandbox, ScriptSpec(runtime="bash", source=source, workdir=workdir, env={"LANG": "C"})
    )
    assert result.stdout == b"C\n"


def test_an_endless_loop_is_killed_at_the_wall_clock_limit(
    sandbox: Sandbox, run_script: RunScript, workdir: Path
) -> None:
    limits = SandboxLimits(wall_clock_seconds=1.5)
    started = time.monotonic()
    result = run_script(
        sandbox, ScriptSpec(runtime="python", source="while True: pass", workdir=workdir, limits=limits)
    )
    elapsed = time.monotonic() - started
    assert (result.outcome, result.exit_code) == ("timed_out", None)
    assert result.detail == "killed after 1.5 s wall clock"
    assert 1.5 <= elapsed < 2.5
    assert 1500 <= result.duration_ms < 2500


def test_cpu_time_is_limited_separately_from_wall_clock(
    sandbox: Sandbox, run_script: RunScript, workdir: Path
) -> None:
    limits = SandboxLimits(wall_clock_seconds=10, cpu_seconds=1)
    result = run_script(
        sandbox, ScriptSpec(runtime="python", source="while True: pass", workdir=workdir, limits=limits)
    )
    assert (result.outcome, result.exit_code) == ("exited", 128 + 24), result  # 24 = SIGXCPU
    assert "CPU time limit" in result.detail
    assert result.duration_ms < 4000


def test_a_file_cannot_grow_past_the_file_size_limit(
    sandbox: Sandbox, run_script: RunScript, workdir: Path
) -> None:
    limits = SandboxLimits(max_file_bytes=1024 * 1024)
    source = "open('big.bin', 'wb').write(b'x' * (2 * 1024 * 1024))"
    result = run_script(sandbox, ScriptSpec(runtime="python", source=source, workdir=workdir, limits=limits))
    assert result.exit_code != 0
    assert b"File too large" in result.stderr
    assert (workdir / "big.bin").stat().st_size <= 1024 * 1024


def test_100_mb_of_output_is_cut_at_the_cap_quickly_and_without_being_buffered(
    sandbox: Sandbox, run_script: RunScript, workdir: Path
) -> None:
    delivered = 0

    async def on_output(stream: StreamName, chunk: bytes) -> None:
        nonlocal delivered
        delivered += len(chunk)

    source = (
        "import sys\nblock = b'x' * (1 << 20)\nfor _ in range(100):\n    sys.stdout.buffer.write(block)\n"
    )
    cap = SandboxLimits().max_output_bytes
    tracemalloc.start()
    try:
        result = run_script(
            sandbox, ScriptSpec(runtime="python", source=source, workdir=workdir), on_output=on_output
        )
        _, peak_python_allocations = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert (result.outcome, result.exit_code) == ("output_limit", None), result
    assert result.stdout == b"x" * cap
    assert result.stdout_truncated
    assert not result.stderr_truncated
    assert delivered == cap
    assert result.duration_ms < 5000
    # What the server held at most: the capped result and a few read chunks, not 100 MB.
    assert peak_python_allocations < 8 * cap


def test_stderr_has_its_own_cap(sandbox: Sandbox, run_script: RunScript, workdir: Path) -> None:
    limits = SandboxLimits(max_output_bytes=1000)
    source = "echo fine; head -c 5000 /dev/zero >&2; sleep 5"
    result = run_script(sandbox, ScriptSpec(runtime="bash", source=source, workdir=workdir, limits=limits))
    assert result.outcome == "output_limit"
    assert (result.stdout, len(result.stderr)) == (b"fine\n", 1000)
    assert result.stderr_truncated
    assert not result.stdout_truncated
    assert result.detail == "stderr exceeded 1000 bytes; killed"


def test_cancel_stops_a_running_script_promptly(sandbox: Sandbox, workdir: Path) -> None:
    source = "sleep 316 &\necho ready\nwait\n"

    async def scenario() -> tuple[float, SandboxResult]:
        cancel = asyncio.Event()

        async def on_output(stream: StreamName, chunk: bytes) -> None:
            if b"ready" in chunk:
                cancel.set()

        run = asyncio.create_task(
            sandbox.run(
                ScriptSpec(runtime="bash", source=source, workdir=workdir), on_output=on_output, cancel=cancel
            )
        )
        await cancel.wait()
        cancelled_at = time.monotonic()
        result = await run
        return time.monotonic() - cancelled_at, result

    latency, result = asyncio.run(scenario())
    assert result.outcome == "cancelled", result
    assert result.exit_code is None
    assert latency < 1.0
    assert not _wait_until_gone("sleep 316")


def test_an_error_in_the_output_callback_aborts_the_run_and_kills_the_script(
    sandbox: Sandbox, workdir: Path
) -> None:
    class ConsumerGone(Exception):
        pass

    async def on_output(stream: StreamName, chunk: bytes) -> None:
        raise ConsumerGone

    source = "echo started; sleep 315"
    spec = ScriptSpec(runtime="bash", source=source, workdir=workdir)
    with pytest.raises(ConsumerGone):
        asyncio.run(sandbox.run(spec, on_output=on_output))
    assert not _wait_until_gone("sleep 315")


def test_cancelling_the_run_coroutine_kills_the_script(sandbox: Sandbox, workdir: Path) -> None:
    async def scenario() -> None:
        spec = ScriptSpec(runtime="bash", source="echo started; sleep 314", workdir=workdir)
        run = asyncio.create_task(sandbox.run(spec))
        await asyncio.sleep(0.5)
        run.cancel()
        with pytest.raises(asyncio.CancelledError):
            await run

    asyncio.run(scenario())
    assert not _wait_until_gone("sleep 314")


def test_bad_environment_names_fail_to_start(sandbox: Sandbox, run_script: RunScript, workdir: Path) -> None:
    result = run_script(sandbox, ScriptSpec(runtime="bash", source="true", workdir=workdir, env={"A=B": "x"}))
    assert (result.outcome, result.exit_code) == ("failed_to_start", None)
    assert "invalid environment variable name" in result.detail


def test_a_missing_workdir_fails_to_start(sandbox: Sandbox, run_script: RunScript, workdir: Path) -> None:
    result = run_script(sandbox, ScriptSpec(runtime="bash", source="true", workdir=workdir / "absent"))
    assert result.outcome == "failed_to_start"
    assert "does not exist" in result.detail


def _host_processes_running(command_line: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                arguments = (
                    (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
                )
            except OSError:
                continue
            if arguments == command_line:
                found.append(int(entry.name))
    return found


def _wait_until_gone(command_line: str, timeout: float = 2.0) -> list[int]:
    deadline = time.monotonic() + timeout
    while (running := _host_processes_running(command_line)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return running
