"""A process executing runs is killed (SIGKILL) in the middle of a run; another one takes the run
over and finishes it, or, once the run has used its attempts, fails it with the reason.

With Redis (the PostgreSQL backend) the executors are `agentos worker` processes claiming runs
from the Redis stream, and the server answering the API executes nothing itself; a run is taken
over by the next worker, and a second kill, with one attempt left, fails the run. Without Redis
(SQLite) the executor is the `agentos serve` process, restarted after the kill; the takeover is the
same code, so there only the first half runs (each process start costs seconds).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest

from agentos.execution.v1 import execution_pb2 as ex
from agentos.execution.v1 import execution_pb2_grpc
from agentos.payment.v1 import payment_pb2_grpc
from agentos.registry.v1 import registry_pb2_grpc

from runkit import FINAL, events, get, logs, publish, stage, start, wait_for
from testkit import BACKEND, Backend, create_agent, free_port, provision_backend, start_server

LEASE_SECONDS = "1.5"
# A number no other process on the machine sleeps for, to find the sandboxed script in /proc.
SLEEP = 6173

RESUMABLE = f"""
limits: {{max_credits: 45}}
stages:
  - name: Prepare
    runtime: bash
    script: echo prepared > state.txt; echo prepared
  - name: Work
    runtime: bash
    script: |
      if [ -f started ]; then echo "resumed after $(cat state.txt)"; exit 0; fi
      touch started; echo started; sleep {SLEEP}
"""

ALWAYS_SLOW = f"""
limits: {{max_credits: 45}}
stages:
  - name: Prepare
    runtime: bash
    script: echo prepared
  - name: Work
    runtime: bash
    script: echo started; sleep {SLEEP}
"""


class Remote:
    """Stubs of a server in another process, shaped like testkit.ServerHandle for runkit."""

    def __init__(self, address: str) -> None:
        self.address = address
        self.channel = grpc.insecure_channel(address)
        grpc.channel_ready_future(self.channel).result(timeout=60)
        self.registry = registry_pb2_grpc.RegistryServiceStub(self.channel)
        self.execution = execution_pb2_grpc.ExecutionServiceStub(self.channel)
        self.payment = payment_pb2_grpc.PaymentServiceStub(self.channel)

    def close(self) -> None:
        self.channel.close()


class Cluster:
    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self.processes: list[subprocess.Popen[bytes]] = []
        self.port = free_port()
        self.with_redis = bool(backend.redis_url)

    def spawn(self, **env: str) -> subprocess.Popen[bytes]:
        """An executor: `agentos worker` with Redis, `agentos serve` (on a fixed port) without."""
        variables = {k: v for k, v in os.environ.items() if not k.startswith("AGENTOS_")}
        variables |= {
            "AGENTOS_DATABASE_URL": self.backend.database_url,
            "AGENTOS_REDIS_URL": self.backend.redis_url,
            "AGENTOS_REDIS_PREFIX": self.backend.redis_prefix,
            "AGENTOS_DATA_DIR": str(self.backend.data_dir),
            "AGENTOS_GRPC_ADDR": f"127.0.0.1:{self.port}",
            "AGENTOS_WORKER_LEASE_SECONDS": LEASE_SECONDS,
            "AGENTOS_LOG_LEVEL": "WARNING",
            "AGENTOS_LOG_FORMAT": "text",
            **env,
        }
        command = "worker" if self.with_redis else "serve"
        process = subprocess.Popen([str(Path(sys.executable).parent / "agentos"), command], env=variables)
        self.processes.append(process)
        return process

    def stop_all(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.kill()
                process.wait(10)


@pytest.fixture
def cluster() -> Iterator[tuple[Cluster, Any]]:
    if BACKEND == "postgres":
        # The API server executes nothing; only the worker processes do.
        api = start_server(serve_workers=False, worker_lease_seconds=float(LEASE_SECONDS))
        found = Cluster(api.backend)
        try:
            yield found, api
        finally:
            found.stop_all()
            api.stop()
    else:
        backend = provision_backend()
        found = Cluster(backend)
        try:
            yield found, None
        finally:
            found.stop_all()
            backend.close()


def sandboxed_sleepers() -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        try:
            command = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if command[:2] == [b"sleep", str(SLEEP).encode()]:
            found.append(int(entry.name))
    return found


def wait_until(condition: Any, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.05)


def cancel_and_close(api: Any, agent: Any, name: str) -> None:
    api.execution.CancelExecution(ex.CancelExecutionRequest(name=name), metadata=agent.auth)
    assert get(api, agent, name).state == ex.EXECUTION_STATE_CANCELLED
    api.close()


def wait_for_log(api: Any, agent: Any, name: str, text: str) -> int:
    """Follows the run until a log line `text` and returns its sequence."""
    for event in events(api, agent, name, timeout=60):
        if event.WhichOneof("payload") == "log" and event.log.text == text:
            return int(event.sequence)
    raise AssertionError(f"{name} ended without logging {text!r}")


def test_a_killed_executor_s_run_is_taken_over_or_failed_with_a_reason(cluster: tuple[Cluster, Any]) -> None:
    nodes, api_server = cluster
    first = nodes.spawn(AGENTOS_WORKER_CONCURRENCY="2")
    api = api_server or Remote(f"127.0.0.1:{nodes.port}")
    agent = create_agent(api)
    resumable = start(api, agent, publish(api, agent, RESUMABLE))
    slow = start(api, agent, publish(api, agent, ALWAYS_SLOW))
    wait_for_log(api, agent, resumable.name, "started")
    wait_for_log(api, agent, slow.name, "started")
    killed_worker = get(api, agent, resumable.name).worker

    first.kill()
    first.wait(10)
    # bwrap dies with its parent, and the sandbox's processes with it.
    wait_until(lambda: not sandboxed_sleepers(), timeout=10)
    if api_server is None:
        api.close()
    nodes.spawn(AGENTOS_WORKER_CONCURRENCY="2")
    api = api_server or Remote(f"127.0.0.1:{nodes.port}")

    # The resumable run is taken over and completes: the finished stage is kept, the interrupted
    # one runs again in the same working directory, and the events say so.
    done = wait_for(api, agent, resumable.name, FINAL, timeout=60)
    assert done.state == ex.EXECUTION_STATE_SUCCEEDED, done.error
    assert done.attempts == 2
    assert done.worker != killed_worker
    assert stage(done, "Work").attempts == 2
    assert stage(done, "Prepare").attempts == 1
    seen = list(events(api, agent, resumable.name))
    assert [e.sequence for e in seen] == list(range(1, len(seen) + 1))
    started = [(e.stage_started.stage, e.stage_started.attempt) for e in seen if e.stage_started.stage]
    assert started == [("Prepare", 1), ("Work", 1), ("Work", 2)]
    takeover = [line for line in logs(seen, "") if "takes the run over" in line]
    assert len(takeover) == 1
    assert killed_worker in takeover[0]
    assert "stage 'Work' runs again" in takeover[0]
    assert logs(seen, "Work")[-1] == "resumed after prepared"
    assert [e.state_changed.state for e in seen if e.WhichOneof("payload") == "state_changed"] == [
        ex.EXECUTION_STATE_QUEUED,
        ex.EXECUTION_STATE_RUNNING,
        ex.EXECUTION_STATE_SUCCEEDED,
    ]

    if not nodes.with_redis:
        cancel_and_close(api, agent, slow.name)
        return

    # The slow run was taken over too and is running its stage again; kill that executor as well,
    # and let one that allows two claims per run find it: the run fails, saying why.
    wait_until(lambda: get(api, agent, slow.name).attempts == 2 and bool(sandboxed_sleepers()))
    second_worker = get(api, agent, slow.name).worker
    nodes.processes[-1].kill()
    nodes.processes[-1].wait(10)
    if api_server is None:
        api.close()
    nodes.spawn(AGENTOS_RUN_MAX_ATTEMPTS="2")
    api = api_server or Remote(f"127.0.0.1:{nodes.port}")
    failed = wait_for(api, agent, slow.name, FINAL, timeout=60)
    assert failed.state == ex.EXECUTION_STATE_FAILED
    assert failed.error == (
        f"the workers running this run stopped 2 times (the last was {second_worker}); "
        "it has used its 2 attempts"
    )
    work = stage(failed, "Work")
    assert work.state == ex.STAGE_STATE_FAILED
    assert work.error == "its worker stopped while it ran, and the run is not tried again"
    assert stage(failed, "Prepare").state == ex.STAGE_STATE_SUCCEEDED
    final = list(events(api, agent, slow.name))
    assert [e.sequence for e in final] == list(range(1, len(final) + 1))
    assert final[-1].state_changed.error == failed.error
    # Charged once, for what ran, when it ended.
    assert 0 < failed.total_cost.credits <= 45
    if api_server is None:
        api.close()
