"""The Docker backend without a Docker engine: its container specification, checked through the
SDK's own builders, its command line run for real under bwrap, and its refusal to start without
an engine. Running a container is not exercised here (see docs/sandbox.md)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import docker
import pytest
from docker.constants import DEFAULT_DOCKER_API_VERSION

from agentos_server.infra.sandbox import SandboxLimits, SandboxUnavailable, ScriptSpec, create_sandbox
from agentos_server.infra.sandbox.docker_backend import ContainerSpec, build_container_spec

MiB = 1024 * 1024


def _spec(workdir: Path, **overrides: object) -> ScriptSpec:
    fields: dict[str, object] = {
        "runtime": "python",
        "source": "print('hi')",
        "workdir": workdir,
        "env": {"API_TOKEN": "for-the-script"},
        "limits": SandboxLimits(
            memory_bytes=256 * MiB, max_processes=40, cpu_seconds=20, max_file_bytes=8 * MiB
        ),
    }
    fields.update(overrides)
    return ScriptSpec(**fields)  # type: ignore[arg-type]


def _as_sent_to_the_engine(container: ContainerSpec) -> dict[str, object]:
    """The JSON body docker-py would POST to /containers/create, built by docker-py itself."""
    api = docker.APIClient(base_url="unix:///nonexistent/docker.sock", version=DEFAULT_DOCKER_API_VERSION)
    host_config = api.create_host_config(**container.host_config_kwargs)
    config: dict[str, object] = api.create_container_config(
        container.image, container.command, host_config=host_config, **container.create_kwargs
    )
    return config


def test_the_container_has_no_network_no_privileges_and_hard_limits(tmp_path: Path) -> None:
    workdir = tmp_path / "work"
    script_dir = tmp_path / "sandbox"
    container = build_container_spec(
        _spec(workdir), image="python:3.11-slim", script_dir=script_dir, cpus=0.5, uid=65534, gid=65534
    )
    config = _as_sent_to_the_engine(container)
    host = config["HostConfig"]
    assert isinstance(host, dict)

    assert config["Image"] == "python:3.11-slim"
    assert config["NetworkDisabled"] is True
    assert host["NetworkMode"] == "none"
    assert config["User"] == "65534:65534"
    assert host["CapDrop"] == ["ALL"]
    assert "CapAdd" not in host
    assert host["SecurityOpt"] == ["no-new-privileges:true"]
    assert host.get("Privileged") in (None, False)
    assert host["ReadonlyRootfs"] is True
    assert host["Tmpfs"] == {"/tmp": f"rw,nosuid,nodev,size={256 * MiB}"}
    assert host["Memory"] == 256 * MiB
    assert host["MemorySwap"] == 256 * MiB
    assert host["PidsLimit"] == 40
    assert host["NanoCpus"] == 500_000_000
    assert host["Init"] is True
    assert host["LogConfig"] == {"Type": "none", "Config": {}}
    assert {(u["Name"], u["Soft"], u["Hard"]) for u in host["Ulimits"]} == {
        ("cpu", 20, 21),
        ("fsize", 8 * MiB, 8 * MiB),
        ("core", 0, 0),
    }
    assert sorted(host["Binds"]) == sorted([f"{workdir}:/workspace:rw", f"{script_dir}:/sandbox:ro"])
    assert config["WorkingDir"] == "/workspace"
    assert config["Labels"] == {"agentos.sandbox": "1"}


def test_the_container_environment_is_the_scripts_and_nothing_of_the_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AGENTOS_SERVER_SECRET", "server-only")
    container = build_container_spec(_spec(tmp_path), image="python:3.11-slim", script_dir=tmp_path / "s")
    config = _as_sent_to_the_engine(container)
    environment = config["Env"]
    assert isinstance(environment, list)
    assert sorted(environment) == sorted(
        ["PATH=/usr/local/bin:/usr/bin:/bin", "HOME=/tmp", "LANG=C.UTF-8", "API_TOKEN=for-the-script"]
    )


@pytest.mark.parametrize(
    ("runtime", "interpreter"), [("python", "python3"), ("node", "node"), ("bash", "bash")]
)
def test_each_runtime_runs_its_interpreter_on_the_mounted_script(
    tmp_path: Path, runtime: str, interpreter: str
) -> None:
    container = build_container_spec(_spec(tmp_path, runtime=runtime), image="any", script_dir=tmp_path / "s")
    assert container.command[:4] == ["/bin/sh", "-c", 'exec "$@" < /sandbox/stdin', "agentos-sandbox"]
    assert container.command[4] == interpreter
    assert container.command[-1].startswith("/sandbox/main.")


def test_the_container_command_line_really_feeds_stdin_and_runs_the_script(tmp_path: Path) -> None:
    """Runs the exact command the container would run, under bwrap with /sandbox mounted the same way."""
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        message = "bwrap is not installed, so the container command line could not be executed"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(f"!!! {message} (set CI=true to make this a failure) !!!")
    script_dir = tmp_path / "sandbox"
    script_dir.mkdir()
    (script_dir / "main.py").write_text("import sys\nprint('got', sys.stdin.read())\n")
    (script_dir / "stdin").write_bytes(b"the input")
    container = build_container_spec(_spec(tmp_path), image="any", script_dir=script_dir)
    system = ["--ro-bind", "/usr", "/usr", "--symlink", "usr/bin", "/bin", "--symlink", "usr/lib", "/lib"]
    system += ["--symlink", "usr/lib64", "/lib64", "--ro-bind-try", "/etc/ld.so.cache", "/etc/ld.so.cache"]
    completed = subprocess.run(
        [
            bwrap,
            *system,
            "--proc",
            "/proc",
            "--dev",
            "/dev",
            "--ro-bind",
            str(script_dir),
            "/sandbox",
            "--chdir",
            "/",
            "--",
            *container.command,
        ],
        env={"PATH": "/usr/local/bin:/usr/bin:/bin"},
        capture_output=True,
        check=False,
        timeout=10,
    )
    assert (completed.returncode, completed.stdout, completed.stderr) == (0, b"got the input\n", b"")


def test_without_a_docker_engine_the_backend_is_unavailable_and_says_why(tmp_path: Path) -> None:
    socket_path = tmp_path / "docker.sock"
    with pytest.raises(SandboxUnavailable, match=r"no Docker engine reachable at unix://.*docker\.sock"):
        create_sandbox("docker", docker_base_url=f"unix://{socket_path}")


def test_without_docker_host_the_default_socket_is_tried(monkeypatch: pytest.MonkeyPatch) -> None:
    if Path("/var/run/docker.sock").exists():
        pytest.skip("this host has a Docker socket; the no-engine path cannot be shown here")
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    with pytest.raises(SandboxUnavailable, match="no Docker engine reachable at the default socket"):
        create_sandbox("docker")
