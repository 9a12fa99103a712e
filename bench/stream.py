"""Events per second delivered to one StreamExecutionEvents subscriber, against a bare grpc.aio
server streaming the same messages.

A real `agentos serve` process (SQLite and in-process bus by default; PostgreSQL and Redis with
--postgres/--redis) runs a daemon whose Python script prints --lines lines as fast as it can; each
line is one log event. Two rates are measured for one subscriber using the synchronous generated
client:

* replay: the finished run's events streamed from sequence 0 (read from the database, converted to
  protobuf, sent through the server's call pipeline);
* live: the events of a fresh run of the same daemon, followed from its start while it runs (this
  one is bounded by how fast the run produces and persists them, so it is printed for information).

Baseline, in the same run and interleaved with the replays: a bare grpc.aio server in its own
process, implementing only StreamExecutionEvents, that streams exactly the same
StreamExecutionEventsResponse messages (read once from AgentOS, held in memory) to the same client.

    .venv/bin/python bench/stream.py [--lines 9000] [--rounds 5] [--postgres URL --redis URL]

Prints both rates and the ratio replay / bare; the target is >= 0.5.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
from _server import UNTHROTTLED, drop_postgres_database, free_port, fresh_postgres_database, start

from agentos.execution.v1 import execution_pb2 as ex
from agentos.execution.v1 import execution_pb2_grpc
from agentos.registry.v1 import registry_pb2 as reg
from agentos.registry.v1 import registry_pb2_grpc

PRINTER = """
limits: {{max_credits: 60}}
stages:
  - name: Print
    runtime: python
    timeout_seconds: 50
    script: |
      import sys
      line = "event payload " + "x" * 50
      out = sys.stdout
      for n in range({lines}):
          out.write(f"{{n:06d}} {{line}}\\n")
      out.flush()
"""
FINAL = {
    ex.EXECUTION_STATE_SUCCEEDED,
    ex.EXECUTION_STATE_FAILED,
    ex.EXECUTION_STATE_TIMED_OUT,
    ex.EXECUTION_STATE_CANCELLED,
}


# --- the bare baseline server (runs in its own process) ---------------------------------------


class BareExecution(execution_pb2_grpc.ExecutionServiceServicer):
    def __init__(self, messages: list[ex.StreamExecutionEventsResponse]) -> None:
        self._messages = messages

    async def StreamExecutionEvents(
        self, request: ex.StreamExecutionEventsRequest, context: Any
    ) -> AsyncIterator[ex.StreamExecutionEventsResponse]:
        for message in self._messages:
            yield message


def read_messages(path: Path) -> list[ex.StreamExecutionEventsResponse]:
    data = path.read_bytes()
    messages, offset = [], 0
    while offset < len(data):
        size = int.from_bytes(data[offset : offset + 4], "big")
        offset += 4
        messages.append(ex.StreamExecutionEventsResponse.FromString(data[offset : offset + size]))
        offset += size
    return messages


async def serve_bare(path: Path, port: int) -> None:
    server = grpc.aio.server()
    execution_pb2_grpc.add_ExecutionServiceServicer_to_server(BareExecution(read_messages(path)), server)
    server.add_insecure_port(f"127.0.0.1:{port}")
    await server.start()
    await server.wait_for_termination()


# --- the client --------------------------------------------------------------------------------


def stream_all(
    stub: execution_pb2_grpc.ExecutionServiceStub, name: str, auth: Any
) -> tuple[list[ex.StreamExecutionEventsResponse], float]:
    started = time.perf_counter()
    received = list(
        stub.StreamExecutionEvents(
            ex.StreamExecutionEventsRequest(execution=name), metadata=auth, timeout=120
        )
    )
    return received, time.perf_counter() - started


def follow_live(stub: execution_pb2_grpc.ExecutionServiceStub, daemon: str, auth: Any) -> tuple[int, float]:
    run = stub.StartRun(ex.StartRunRequest(daemon=daemon), metadata=auth).execution
    count, first, last = 0, 0.0, 0.0
    for response in stub.StreamExecutionEvents(
        ex.StreamExecutionEventsRequest(execution=run.name), metadata=auth, timeout=120
    ):
        now = time.perf_counter()
        if response.event.WhichOneof("payload") == "log":
            first = first or now
            last = now
            count += 1
        if (
            response.event.WhichOneof("payload") == "state_changed"
            and response.event.state_changed.state in FINAL
        ):
            break
    return count, last - first


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--lines", type=int, default=9000, help="log lines per run (at most 10000)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--postgres", default="", help="admin URL of a PostgreSQL server (a database is created)"
    )
    parser.add_argument("--redis", default="", help="redis:// URL (with --postgres)")
    parser.add_argument("--serve-bare", nargs=2, metavar=("FILE", "PORT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_bare:
        asyncio.run(serve_bare(Path(args.serve_bare[0]), int(args.serve_bare[1])))
        return

    database_url, database = "", ""
    if args.postgres:
        database_url, database = fresh_postgres_database(args.postgres)
    backend = (
        "PostgreSQL + Redis" if args.postgres and args.redis else "PostgreSQL" if args.postgres else "SQLite"
    )
    print(f"backend: {backend}; {args.lines} log lines per run; {args.rounds} rounds")
    # The free tier's burst limit (20 calls a second) would throttle the client, not measure AgentOS.
    server = start(database_url, args.redis, tiers=UNTHROTTLED)
    bare: subprocess.Popen[bytes] | None = None
    messages_file = Path(tempfile.mkstemp(prefix="agentos-bench-events-")[1])
    try:
        channel = grpc.insecure_channel(server.address)
        registry = registry_pb2_grpc.RegistryServiceStub(channel)
        execution = execution_pb2_grpc.ExecutionServiceStub(channel)
        created = registry.CreateAgent(
            reg.CreateAgentRequest(agent_id=f"bench-{os.getpid()}", agent=reg.Agent(display_name="bench"))
        )
        auth = (("authorization", f"Bearer {created.api_key}"),)
        daemon = registry.CreateDaemon(
            reg.CreateDaemonRequest(
                daemon_id=f"printer-{os.getpid()}",
                daemon=reg.Daemon(
                    display_name="printer",
                    version="1.0.0",
                    definition_yaml=PRINTER.format(lines=args.lines),
                    category=reg.CATEGORY_UTILITY,
                    pricing=reg.Pricing(model=reg.PRICING_MODEL_FREE),
                ),
            ),
            metadata=auth,
        ).daemon

        live_count, live_seconds = follow_live(execution, daemon.name, auth)
        finished = execution.ListExecutions(ex.ListExecutionsRequest(page_size=1), metadata=auth).executions[
            0
        ]
        reference, _ = stream_all(execution, finished.name, auth)
        sizes = [m.ByteSize() for m in reference]
        with messages_file.open("wb") as handle:
            for message in reference:
                body = message.SerializeToString()
                handle.write(len(body).to_bytes(4, "big") + body)

        port = free_port()
        bare = subprocess.Popen([sys.executable, __file__, "--serve-bare", str(messages_file), str(port)])
        bare_channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        grpc.channel_ready_future(bare_channel).result(timeout=30)
        bare_stub = execution_pb2_grpc.ExecutionServiceStub(bare_channel)

        agentos_rates, bare_rates = [], []
        for _ in range(args.rounds + 1):
            got, seconds = stream_all(bare_stub, finished.name, None)
            assert len(got) == len(reference)
            bare_rates.append(len(got) / seconds)
            got, seconds = stream_all(execution, finished.name, auth)
            assert got == reference, "the replay differs from the first one"
            agentos_rates.append(len(got) / seconds)
        # The first round warms both up.
        agentos_rates, bare_rates = agentos_rates[1:], bare_rates[1:]
        print(
            f"events per run: {len(reference)}; message size {min(sizes)}..{max(sizes)} bytes "
            f"(median {int(statistics.median(sizes))})"
        )
        print(f"bare grpc.aio server-streaming    {statistics.median(bare_rates):10,.0f} events/s")
        print(f"AgentOS replay to one subscriber  {statistics.median(agentos_rates):10,.0f} events/s")
        print(
            f"AgentOS live, while the run runs  {live_count / live_seconds if live_seconds else 0:10,.0f} "
            f"events/s ({live_count} log events in {live_seconds:.2f} s)"
        )
        ratio = statistics.median(agentos_rates) / statistics.median(bare_rates)
        print(f"ratio (replay / bare): {ratio:.2f}  (target >= 0.5)")
        bare_channel.close()
        channel.close()
    finally:
        if bare is not None:
            bare.terminate()
            bare.wait(10)
        messages_file.unlink(missing_ok=True)
        server.stop()
        if database:
            drop_postgres_database(args.postgres, database)


if __name__ == "__main__":
    main()
