"""Hostile scripts against the bwrap backend: each test is an escape or exhaustion attempt that must fail.

Where it makes the proof stronger, the same attempt is first shown to succeed without the sandbox
(the process backend), so a test cannot pass merely because the attack was written wrongly.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from agentos_server.infra.sandbox import Sandbox, SandboxLimits, SandboxResult, ScriptSpec, StreamName

RunScript = Callable[..., SandboxResult]
REPOSITORY = Path(__file__).resolve().parents[2]

CONNECT_SCRIPT = """
import json, socket, sys
results = {}
for label, host, port in json.loads(sys.stdin.read()):
    try:
        with socket.create_connection((host, port), timeout=2):
            results[label] = "connected"
    except OSError as exc:
        results[label] = f"failed: {exc}"
try:
    socket.getaddrinfo("example.com", 443)
    results["dns"] = "resolved"
except OSError as exc:
    results["dns"] = f"failed: {exc}"
print(json.dumps(results))
"""


def test_network_is_unreachable_both_host_loopback_and_outside(
    bwrap_sandbox: Sandbox, process_sandbox: Sandbox, run_script: RunScript, workdir: Path
) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        targets = [
            ("host_loopback", "127.0.0.1", port),
            ("outside", "1.1.1.1", 443),
            ("outside_dns", "8.8.8.8", 53),
        ]
        spec = ScriptSpec(
            runtime="python", source=CONNECT_SCRIPT, workdir=workdir, stdin=json.dumps(targets).encode()
        )

        control = json.loads(run_script(process_sandbox, spec).stdout)
        assert control["host_loopback"] == "connected", "the listener must be reachable without a sandbox"
        listener.accept()[0].close()

        sandboxed = run_script(bwrap_sandbox, spec)
        assert sandboxed.outcome == "exited", sandboxed
        results = json.loads(sandboxed.stdout)
        assert all(value.startswith("failed") for value in results.values()), results
        listener.setblocking(False)
        with pytest.raises(BlockingIOError):
            listener.accept()  # nothing arrived from the sandbox


def test_nothing_outside_the_workdir_can_be_written_and_host_tmp_is_not_shared(
    bwrap_sandbox: Sandbox, run_script: RunScript, workdir: Path
) -> None:
    token = secrets.token_hex(8)
    host_tmp_visible = Path(tempfile.gettempdir(), f"agentos-visible-{token}")
    host_tmp_visible.write_text("host file")
    host_tmp_target = Path(tempfile.gettempdir(), f"agentos-escape-{token}")
    targets = {
        "usr": "/usr/agentos-escape",
        "usr_bin": "/usr/bin/agentos-escape",
        "etc": "/etc/agentos-escape",
        "etc_passwd": "/etc/passwd",
        "root_dir": "/agentos-escape",
        "dot_dot": "/workspace/../agentos-escape",
        "dev": "/dev/agentos-escape",
        "proc_sys": "/proc/sys/kernel/hostname",
        "sandbox_script": "/sandbox/main.py",
        "host_root_home": "/root/agentos-escape",
        "host_workdir_path": str(workdir / "agentos-escape"),
        "tmp": str(host_tmp_target),
        "workdir": "/workspace/inside.txt",
    }
    source = f"""
import json, os
results = {{}}
for label, path in json.loads({json.dumps(json.dumps(targets))}).items():
    try:
        with open(path, "a") as f:
            f.write("escaped")
        results[label] = "written"
    except OSError as exc:
        results[label] = f"failed: {{exc.strerror}}"
results["host_tmp_file_visible"] = os.path.exists({str(host_tmp_visible)!r})
print(json.dumps(results))
"""
    try:
        result = run_script(bwrap_sandbox, ScriptSpec(runtime="python", source=source, workdir=workdir))
        assert result.outcome == "exited", result
        results = json.loads(result.stdout)
        assert results.pop("workdir") == "written"
        assert (workdir / "inside.txt").read_text() == "escaped"
        # /tmp inside is a private tmpfs: writing there works and vanishes with the sandbox.
        assert results.pop("tmp") == "written"
        assert not host_tmp_target.exists()
        assert results.pop("host_tmp_file_visible") is False
        assert all(value.startswith("failed") for value in results.values()), results
        assert not Path("/usr/agentos-escape").exists()
        assert not Path("/etc/agentos-escape").exists()
        assert not Path("/agentos-escape").exists()
    finally:
        host_tmp_visible.unlink()
        host_tmp_target.unlink(missing_ok=True)


def test_no_server_secret_environment_or_private_file_is_visible(
    bwrap_sandbox: Sandbox, run_script: RunScript, workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = f"server-secret-{secrets.token_hex(12)}"
    monkeypatch.setenv("AGENTOS_TEST_SERVER_SECRET", secret)
    probes = {
        "root_home": "/root",
        "repository": str(REPOSITORY),
        "repository_pyproject": str(REPOSITORY / "pyproject.toml"),
        "host_work": "/work",
        "shadow": "/etc/shadow",
        "ssl_private": "/etc/ssl/private",
        "home": "/home",
        "host_workdir_path": str(workdir),
    }
    source = f"""
import json, os
probes = json.loads({json.dumps(json.dumps(probes))})
report = {{"env": dict(os.environ), "exists": {{}}, "proc": []}}
for label, path in probes.items():
    report["exists"][label] = os.path.exists(path)
for pid in filter(str.isdigit, os.listdir("/proc")):
    for name in ("environ", "cmdline"):
        try:
            report["proc"].append(open(f"/proc/{{pid}}/{{name}}", "rb").read().decode("latin-1"))
        except OSError:
            pass
print(json.dumps(report))
"""
    result = run_script(bwrap_sandbox, ScriptSpec(runtime="python", source=source, workdir=workdir))
    assert result.outcome == "exited", result
    assert secret.encode() not in result.stdout
    report = json.loads(result.stdout)
    assert "AGENTOS_TEST_SERVER_SECRET" not in report["env"]
    assert report["exists"] == dict.fromkeys(probes, False)
    assert not any(secret in text for text in report["proc"])


def test_environment_given_to_a_script_does_not_show_in_the_host_process_list(
    bwrap_sandbox: Sandbox, workdir: Path
) -> None:
    api_key = f"script-api-key-{secrets.token_hex(12)}"
    spec = ScriptSpec(
        runtime="bash", source='echo "${#API_KEY}"; sleep 1', workdir=workdir, env={"API_KEY": api_key}
    )

    async def scenario() -> tuple[SandboxResult, list[str]]:
        run = asyncio.create_task(bwrap_sandbox.run(spec))
        await asyncio.sleep(0.5)
        command_lines = [
            entry.joinpath("cmdline").read_bytes().decode(errors="replace")
            for entry in Path("/proc").iterdir()
            if entry.name.isdigit() and _readable(entry / "cmdline")
        ]
        return await run, command_lines

    result, command_lines = asyncio.run(scenario())
    assert result.stdout == f"{len(api_key)}\n".encode()
    assert any("bwrap" in line for line in command_lines), "the sandbox was not running during the scan"
    assert not any(api_key in line for line in command_lines)


def test_a_fork_bomb_is_held_to_the_process_limit(
    bwrap_sandbox: Sandbox, run_script: RunScript, workdir: Path
) -> None:
    limits = SandboxLimits(max_processes=32, wall_clock_seconds=10)
    source = """
import os, time
forked = 0
try:
    for _ in range(5000):
        if os.fork() == 0:
            time.sleep(5)
            os._exit(0)
        forked += 1
except OSError as exc:
    print(f"fork refused after {forked}: {exc.strerror}")
"""
    result = run_script(
        bwrap_sandbox, ScriptSpec(runtime="python", source=source, workdir=workdir, limits=limits)
    )
    assert result.outcome == "exited", result
    forked = int(result.stdout.split()[3].rstrip(b":"))
    # The count includes the sandbox's init and the script itself.
    assert forked <= 32 - 2
    assert b"Resource temporarily unavailable" in result.stdout


# The classic bomb, then a sleep that keeps the sandbox alive while the bomb churns (otherwise the
# script exits at once and the sandbox's end kills the bomb before it has grown).
FORK_BOMB = ":(){ :|:& };:\nsleep 30\n"


def test_a_classic_shell_fork_bomb_ends_with_the_run_and_leaves_the_host_as_it_was(
    bwrap_sandbox: Sandbox, run_script: RunScript, workdir: Path
) -> None:
    limits = SandboxLimits(max_processes=32, wall_clock_seconds=3)
    earlier_sandboxes = {namespace for namespace, _ in _sandboxed_processes()}

    def processes_of_this_run() -> list[tuple[str, int]]:
        return [(ns, pid) for ns, pid in _sandboxed_processes() if ns not in earlier_sandboxes]

    with _sample(lambda: len(processes_of_this_run())) as samples:
        started = time.monotonic()
        result = run_script(
            bwrap_sandbox, ScriptSpec(runtime="bash", source=FORK_BOMB, workdir=workdir, limits=limits)
        )
        elapsed = time.monotonic() - started
    # Whichever comes first: the wall clock, or the stderr cap filled with "fork: retry" messages.
    assert result.outcome in {"timed_out", "output_limit"}, result
    assert b"fork: retry: Resource temporarily unavailable" in result.stderr
    assert elapsed < limits.wall_clock_seconds + 1.0
    # The bomb did grow to the limit (the sandbox's init included), and never past it.
    assert limits.max_processes - 8 <= max(samples) <= limits.max_processes, max(samples)
    # What may remain for a moment is the sandbox's init while the kernel dismantles its namespaces.
    assert _wait_until(lambda: all(pid == 1 for _, pid in processes_of_this_run())), processes_of_this_run()


def test_a_memory_bomb_fails_inside_its_limit(
    bwrap_sandbox: Sandbox, run_script: RunScript, workdir: Path
) -> None:
    limits = SandboxLimits(memory_bytes=256 * 1024 * 1024)
    source = "hoard = []\nwhile True:\n    hoard.append(bytearray(16 * 1024 * 1024))\n"
    result = run_script(
        bwrap_sandbox, ScriptSpec(runtime="python", source=source, workdir=workdir, limits=limits)
    )
    assert result.outcome == "exited"
    assert result.exit_code != 0
    assert b"MemoryError" in result.stderr
    assert result.duration_ms < 5000


def test_shared_memory_cannot_get_around_the_memory_limit(
    bwrap_sandbox: Sandbox, run_script: RunScript, workdir: Path
) -> None:
    # RLIMIT_DATA ignores MAP_SHARED mappings; the address-space limit is what stops this one.
    limits = SandboxLimits(memory_bytes=256 * 1024 * 1024)
    source = (
        "import mmap\ntry:\n    m = mmap.mmap(-1, 4 << 30)\n    m[-1] = 1\n    print('mapped')\n"
        "except OSError as exc:\n    print('refused:', exc.strerror)\n"
    )
    result = run_script(
        bwrap_sandbox, ScriptSpec(runtime="python", source=source, workdir=workdir, limits=limits)
    )
    assert result.stdout == b"refused: Cannot allocate memory\n", result


def test_a_node_memory_bomb_fails_inside_its_limit(
    bwrap_sandbox: Sandbox, run_script: RunScript, workdir: Path
) -> None:
    limits = SandboxLimits(memory_bytes=256 * 1024 * 1024)
    source = "const hoard = [];\nfor (;;) hoard.push(Buffer.alloc(16 * 1024 * 1024, 1));\n"
    result = run_script(
        bwrap_sandbox, ScriptSpec(runtime="node", source=source, workdir=workdir, limits=limits)
    )
    assert result.outcome == "exited", result
    assert result.exit_code != 0
    assert result.duration_ms < 5000


def test_tmp_inside_is_bounded_by_the_memory_limit(
    bwrap_sandbox: Sandbox, run_script: RunScript, workdir: Path
) -> None:
    limits = SandboxLimits(memory_bytes=64 * 1024 * 1024)
    source = (
        "for i in $(seq 20); do head -c 8388608 /dev/zero > /tmp/fill-$i || break; done\n"
        "cat /tmp/fill-* | wc -c\n"
    )
    result = run_script(
        bwrap_sandbox, ScriptSpec(runtime="bash", source=source, workdir=workdir, limits=limits)
    )
    assert b"No space left on device" in result.stderr
    assert int(result.stdout) <= 64 * 1024 * 1024


def test_cancel_kills_the_whole_tree_even_processes_that_left_the_session(
    bwrap_sandbox: Sandbox, workdir: Path
) -> None:
    source = "sleep 313 &\nsetsid sleep 312 > /dev/null 2>&1 < /dev/null &\necho ready\nwait\n"

    async def scenario() -> SandboxResult:
        cancel = asyncio.Event()

        async def on_output(stream: StreamName, chunk: bytes) -> None:
            if b"ready" in chunk:
                cancel.set()

        spec = ScriptSpec(runtime="bash", source=source, workdir=workdir)
        return await bwrap_sandbox.run(spec, on_output=on_output, cancel=cancel)

    started = time.monotonic()
    result = asyncio.run(scenario())
    assert result.outcome == "cancelled", result
    assert time.monotonic() - started < 2.0
    assert not _wait_until_gone("sleep 313")
    assert not _wait_until_gone("sleep 312")


def test_background_processes_do_not_outlive_a_normal_exit(
    bwrap_sandbox: Sandbox, run_script: RunScript, workdir: Path
) -> None:
    source = (
        "setsid sleep 311 > /dev/null 2>&1 < /dev/null &\nnohup sleep 310 > /dev/null 2>&1 &\necho done\n"
    )
    result = run_script(bwrap_sandbox, ScriptSpec(runtime="bash", source=source, workdir=workdir))
    assert (result.outcome, result.exit_code, result.stdout) == ("exited", 0, b"done\n")
    assert not _wait_until_gone("sleep 311")
    assert not _wait_until_gone("sleep 310")


def test_no_nested_user_namespace_can_be_created(
    bwrap_sandbox: Sandbox, run_script: RunScript, workdir: Path
) -> None:
    result = run_script(
        bwrap_sandbox, ScriptSpec(runtime="bash", source="unshare --user true", workdir=workdir)
    )
    assert result.exit_code != 0
    assert b"unshare failed" in result.stderr


@pytest.mark.skipif(os.geteuid() != 0, reason="only a root server hands scripts to another uid")
def test_a_workdir_the_sandbox_uid_cannot_reach_fails_to_start_with_the_reason(
    bwrap_sandbox: Sandbox, run_script: RunScript
) -> None:
    private = Path(tempfile.mkdtemp(prefix="agentos-private-"))  # mode 0700, owned by root
    try:
        (private / "work").mkdir()
        result = run_script(
            bwrap_sandbox, ScriptSpec(runtime="bash", source="true", workdir=private / "work")
        )
        assert result.outcome == "failed_to_start"
        assert f"{private} does not let it search" in result.detail
    finally:
        shutil.rmtree(private)


def _readable(path: Path) -> bool:
    try:
        path.read_bytes()
    except OSError:
        return False
    return True


def _sandboxed_processes() -> list[tuple[str, int]]:
    """(PID namespace, pid inside it) of every live process in a PID namespace other than ours."""
    own_namespace = os.readlink("/proc/self/ns/pid")
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            namespace = os.readlink(f"/proc/{entry.name}/ns/pid")
            status = Path(f"/proc/{entry.name}/status").read_text()
        except OSError:
            continue  # gone, or a zombie
        if namespace != own_namespace:
            nspids = next(line for line in status.splitlines() if line.startswith("NSpid:")).split()
            found.append((namespace, int(nspids[-1])))
    return found


@contextmanager
def _sample(measure: Callable[[], int]) -> Iterator[list[int]]:
    samples: list[int] = [measure()]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            samples.append(measure())
            time.sleep(0.01)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        yield samples
    finally:
        done.set()
        sampler.join()


def _wait_until(condition: Callable[[], bool], timeout: float = 3.0) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def _wait_until_gone(command_line: str, timeout: float = 2.0) -> list[int]:
    deadline = time.monotonic() + timeout
    while True:
        running = [
            int(entry.name)
            for entry in Path("/proc").iterdir()
            if entry.name.isdigit() and _command_line(entry) == command_line
        ]
        if not running or time.monotonic() > deadline:
            return running
        time.sleep(0.05)


def _command_line(process: Path) -> str:
    try:
        return process.joinpath("cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""
