"""The `agentos` command: serve, worker, migrate, run, and operator tasks."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time

from agentos_server.config import ConfigError, Settings, load_settings
from agentos_server.infra.logs import configure_logging


async def _serve(settings: Settings) -> None:
    from agentos_server.app import AgentOSServer, Runtime

    runtime = await Runtime.open(settings)
    try:
        server = AgentOSServer(runtime)
        await server.start()
        await server.serve_until_signalled()
    finally:
        await runtime.close()


async def _worker(settings: Settings) -> None:
    import signal

    from agentos_server.app import Runtime

    runtime = await Runtime.open(settings)
    try:
        pool = runtime.execution.worker_pool()
        await pool.start()
        stopping = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stopping.set)
        await stopping.wait()
        # Runs still going after the grace period are left to other workers, which take them over
        # once this worker's lease on them expires.
        await pool.stop(settings.shutdown_grace_seconds)
    finally:
        await runtime.close()


def _migrate(settings: Settings) -> None:
    from agentos_server.infra import migrate

    url = settings.effective_database_url
    migrate.upgrade(url)
    print(f"database at schema revision {migrate.current_revision(url)}")


async def _create_operator(settings: Settings, agent_id: str, display_name: str) -> None:
    from agentos_server.app import Runtime
    from agentos_server.domain.agents import AgentDraft

    runtime = await Runtime.open(settings)
    try:
        created = await runtime.agents.create(agent_id, AgentDraft(display_name=display_name), operator=True)
    finally:
        await runtime.close()
    print(f"created operator agents/{created.agent.id}")
    print(f"api key (shown once): {created.api_key}")


async def _rotate_master_key(settings: Settings) -> int:
    from agentos_server.app import Runtime

    runtime = await Runtime.open(settings)
    try:
        report = await runtime.proxy.provider_keys.rotate()
    finally:
        await runtime.close()
    primary = runtime.proxy.provider_keys.box
    print(
        f"re-sealed {report.resealed} provider key(s) under master key "
        f"{primary.primary if primary else '?'}; {report.already_current} already were"
    )
    for name in report.unreadable:
        print(
            f"cannot open {name}: its master key is not configured, or the row was altered", file=sys.stderr
        )
    return 1 if report.unreadable else 0


def _generate_master_key() -> None:
    from agentos_server.infra.secretbox import generate_master_key

    key_id = "k" + time.strftime("%Y%m%d")
    print(f"{key_id}:{generate_master_key()}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="agentos", description="AgentOS server and tools")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("serve", help="run the gRPC server (AGENTOS_GRPC_ADDR, default 127.0.0.1:50051)")
    commands.add_parser(
        "worker", help="execute daemon runs from the Redis queue (needs AGENTOS_REDIS_URL and the database)"
    )
    commands.add_parser("migrate", help="bring the database schema up to date")
    run = commands.add_parser(
        "run", help="publish (or update) a daemon from a YAML file and run it on a server, with its live log"
    )
    run.add_argument("file", help="the daemon definition (YAML)")
    run.add_argument(
        "--input", action="append", default=[], metavar="NAME=VALUE", help="an input value (repeatable)"
    )
    run.add_argument("--server", default="", help="host:port of the server (default: AGENTOS_GRPC_ADDR)")
    run.add_argument("--api-key", default="", help="API key of the agent (default: AGENTOS_API_KEY)")
    run.add_argument("--daemon-id", default="", help="daemon id to publish as (default: from the file name)")
    operator = commands.add_parser("create-operator", help="register an agent with the operator role")
    operator.add_argument("agent_id")
    operator.add_argument("--display-name", default="Operator")
    commands.add_parser(
        "generate-master-key",
        help="print a new master key entry (id:base64) to put first in AGENTOS_MASTER_KEYS",
    )
    commands.add_parser(
        "rotate-master-key",
        help="re-seal every stored provider key under the first (primary) key of AGENTOS_MASTER_KEYS",
    )
    args = parser.parse_args(argv)

    if args.command == "run":
        # A client of a (possibly remote) server: it needs none of the server's own settings.
        from agentos_server.run_client import run_file

        return run_file(
            args.file, args.input, server=args.server, api_key=args.api_key, daemon_id=args.daemon_id
        )

    if args.command == "generate-master-key":
        _generate_master_key()
        return 0
    try:
        settings = load_settings()
    except ConfigError as error:
        print(f"configuration error: {error}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level, settings.log_format)

    from agentos_server.app import SchemaOutOfDate
    from agentos_server.domain.errors import DomainError

    try:
        if args.command == "serve":
            asyncio.run(_serve(settings))
        elif args.command == "worker":
            if not settings.redis_url:
                print(
                    "agentos worker takes runs from the Redis queue: set AGENTOS_REDIS_URL (without Redis, "
                    "agentos serve executes runs itself)",
                    file=sys.stderr,
                )
                return 2
            asyncio.run(_worker(settings))
        elif args.command == "migrate":
            _migrate(settings)
        elif args.command == "create-operator":
            asyncio.run(_create_operator(settings, args.agent_id, args.display_name))
        elif args.command == "rotate-master-key":
            return asyncio.run(_rotate_master_key(settings))
    except SchemaOutOfDate as error:
        print(str(error), file=sys.stderr)
        return 1
    except ConfigError as error:
        print(f"configuration error: {error}", file=sys.stderr)
        return 2
    except DomainError as error:
        print(f"{error.reason}: {error.message}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
