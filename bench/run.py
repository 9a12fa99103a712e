"""End-to-end latency of a one-stage no-op script run, against a raw `bwrap ... true` spawn.

Measured by a client of a real `agentos serve` process (SQLite and in-process queue by default;
PostgreSQL and Redis with --postgres/--redis): StartRun, then StreamExecutionEvents until the run's
final event. In between the server holds the run's credits, queues it, a worker claims it, runs
`true` as a Bash script in the bwrap sandbox (prlimit and bash included), writes the stage's and
the run's events, and captures the charge.

Baseline, in the same process and interleaved with the runs: spawning bwrap with the isolation the
sandbox uses (every namespace, a new session, read-only /usr, fresh /proc, /dev and /tmp, the
working directory bound read-write, a cleared environment, as uid 65534 via setpriv when root)
running /usr/bin/true, and waiting for it.

    .venv/bin/python bench/run.py [--runs 40] [--postgres postgresql://postgres@127.0.0.1/postgres --redis redis://127.0.0.1:6379/0]

Prints both latencies (median, p90) and the ratio of the medians; the target is <= 2.0.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import grpc
from _server import UNTHROTTLED, BenchServer, drop_postgres_database, fresh_postgres_database, start

from agentos.execution.v1 import execution_pb2 as ex
from agentos.execution.v1 import execution_pb2_grpc
from agentos.registry.v1 import registry_pb2 as reg
from agentos.registry.v1 import registry_pb2_grpc

NOOP = """
limits: {max_credits: 2}
stages:
  - name: Noop
    runtime: bash
    script: 'true'
"""
FINAL = {
    ex.EXECUTION_STATE_SUCCEEDED,
    ex.EXECUTION_STATE_FAILED,
    ex.EXECUTION_STATE_TIMED_OUT,
    ex.EXECUTION_STATE_CANCELLED,
}


def raw_bwrap_command(workdir: Path) -> list[str]:
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        sys.exit("bwrap is not installed (make system-tools)")
    command = []
    if os.geteuid() == 0:
        command = ["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--"]
    command += [
        bwrap,
        "--unshare-all",
        "--unshare-user",
        "--die-with-parent",
        "--new-session",
        "--clearenv",
        "--ro-bind",
        "/usr",
        "/usr",
    ]
    for top in ("/bin", "/sbin", "/lib", "/lib32", "/lib64"):
        if os.path.islink(top):
            command += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            command += ["--ro-bind", top, top]
    command += ["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"]
    command += ["--bind", str(workdir), "/workspace", "--chdir", "/workspace", "--", "/usr/bin/true"]
    return command


def raw_spawn(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, env={}, cwd="/", check=True, start_new_session=True)
    return time.perf_counter() - started


def one_run(
    execution: execution_pb2_grpc.ExecutionServiceStub, auth: tuple[tuple[str, str]], daemon: str
) -> float:
    started = time.perf_counter()
    run = execution.StartRun(ex.StartRunRequest(daemon=daemon), metadata=auth).execution
    for response in execution.StreamExecutionEvents(
        ex.StreamExecutionEventsRequest(execution=run.name), metadata=auth, timeout=60
    ):
        event = response.event
        if event.WhichOneof("payload") == "state_changed" and event.state_changed.state in FINAL:
            if event.state_changed.state != ex.EXECUTION_STATE_SUCCEEDED:
                sys.exit(f"the run did not succeed: {event.state_changed.error}")
            break
    return time.perf_counter() - started


def describe(samples: list[float]) -> str:
    ordered = sorted(samples)
    p90 = ordered[int(0.9 * (len(ordered) - 1))]
    return f"median {statistics.median(ordered) * 1000:7.2f} ms   p90 {p90 * 1000:7.2f} ms"


def measure(server: BenchServer, runs: int, warmup: int) -> None:
    channel = grpc.insecure_channel(server.address)
    registry = registry_pb2_grpc.RegistryServiceStub(channel)
    execution = execution_pb2_grpc.ExecutionServiceStub(channel)
    created = registry.CreateAgent(
        reg.CreateAgentRequest(agent_id=f"bench-{os.getpid()}", agent=reg.Agent(display_name="bench"))
    )
    auth = (("authorization", f"Bearer {created.api_key}"),)
    daemon = registry.CreateDaemon(
        reg.CreateDaemonRequest(
            daemon_id=f"noop-{os.getpid()}",
            daemon=reg.Daemon(
                display_name="noop",
                version="1.0.0",
                definition_yaml=NOOP,
                category=reg.CATEGORY_UTILITY,
                pricing=reg.Pricing(model=reg.PRICING_MODEL_FREE),
            ),
        ),
        metadata=auth,
    ).daemon
    workdir = Path(tempfile.mkdtemp(prefix="agentos-bench-raw-"))
    workdir.chmod(0o777)
    command = raw_bwrap_command(workdir)
    agentos: list[float] = []
    raw: list[float] = []
    try:
        for index in range(warmup + runs):
            # Interleaved, so that both see the same machine state.
            run_time = one_run(execution, auth, daemon.name)
            raw_time = raw_spawn(command)
            if index >= warmup:
                agentos.append(run_time)
                raw.append(raw_time)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        channel.close()
    print(f"raw bwrap ... true spawn       {describe(raw)}")
    print(f"AgentOS one-stage no-op run   {describe(agentos)}")
    ratio = statistics.median(agentos) / statistics.median(raw)
    print(f"ratio (median run / median raw spawn): {ratio:.2f}  (target <= 2.0)")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument(
        "--postgres", default="", help="admin URL of a PostgreSQL server (a database is created)"
    )
    parser.add_argument("--redis", default="", help="redis:// URL (with --postgres)")
    args = parser.parse_args()

    database_url, database = "", ""
    if args.postgres:
        database_url, database = fresh_postgres_database(args.postgres)
    backend = (
        "PostgreSQL + Redis" if args.postgres and args.redis else "PostgreSQL" if args.postgres else "SQLite"
    )
    print(f"backend: {backend}; {args.runs} runs after {args.warmup} warm-up runs")
    # The free tier's burst limit (20 calls a second) would throttle the client, not measure AgentOS.
    server = start(database_url, args.redis, tiers=UNTHROTTLED)
    try:
        measure(server, args.runs, args.warmup)
    finally:
        server.stop()
        if database:
            drop_postgres_database(args.postgres, database)


if __name__ == "__main__":
    main()
