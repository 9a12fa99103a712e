"""The server around the services: health, reflection, placeholders, metrics, graceful shutdown."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from agentos.payment.v1 import payment_pb2
from agentos_server.app import SERVICE_NAMES

from testkit import ServerHandle, failure, free_port, start_server


def test_health_reports_each_service(server: ServerHandle) -> None:
    stub = health_pb2_grpc.HealthStub(server.channel)
    for name in ("", *SERVICE_NAMES):
        status = stub.Check(health_pb2.HealthCheckRequest(service=name)).status
        assert status == health_pb2.HealthCheckResponse.SERVING, name


def test_reflection_lists_every_service(server: ServerHandle) -> None:
    stub = reflection_pb2_grpc.ServerReflectionStub(server.channel)
    responses = stub.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(list_services="")]))
    names = {s.name for r in responses for s in r.list_services_response.service}
    assert set(SERVICE_NAMES) <= names
    assert "grpc.health.v1.Health" in names


def test_unimplemented_rpcs_say_why(server: ServerHandle) -> None:
    found = failure(lambda: server.payment.GetX402Supported(payment_pb2.GetX402SupportedRequest()))
    assert found.code == grpc.StatusCode.UNIMPLEMENTED
    assert "not implemented yet" in found.message
    assert "x402" in found.message
    assert found.reason == "NOT_IMPLEMENTED"


def test_metrics_endpoint_counts_rpcs() -> None:
    port = free_port()
    handle = start_server(metrics_addr=f"127.0.0.1:{port}")
    try:
        with pytest.raises(grpc.RpcError):
            handle.payment.GetX402Supported(payment_pb2.GetX402SupportedRequest())
        wanted = (
            'agentos_rpc_total{code="UNIMPLEMENTED",'
            'method="/agentos.payment.v1.PaymentService/GetX402Supported"}'
        )
        # The server counts a call after its answer has left, so a fast client can scrape first.
        deadline = time.monotonic() + 5
        while True:
            body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
            if wanted in body or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert wanted in body
        assert "agentos_rpc_duration_seconds_bucket" in body
    finally:
        handle.stop()


def test_sigterm_drains_gracefully(tmp_path: Path) -> None:
    """A real `agentos serve` process: SIGTERM turns health NOT_SERVING, then the process exits 0."""
    env = {
        **os.environ,
        "AGENTOS_DATA_DIR": str(tmp_path),
        "AGENTOS_GRPC_ADDR": f"127.0.0.1:{free_port()}",
        "AGENTOS_SHUTDOWN_GRACE_SECONDS": "3",
    }
    env.pop("AGENTOS_DATABASE_URL", None)
    agentos = str(Path(sys.executable).parent / "agentos")
    subprocess.run([agentos, "migrate"], env=env, check=True, capture_output=True)
    process = subprocess.Popen([agentos, "serve"], env=env, stderr=subprocess.PIPE)
    try:
        channel = grpc.insecure_channel(env["AGENTOS_GRPC_ADDR"])
        grpc.channel_ready_future(channel).result(timeout=30)
        stub = health_pb2_grpc.HealthStub(channel)
        watch = stub.Watch(health_pb2.HealthCheckRequest(service=SERVICE_NAMES[0]))
        assert next(watch).status == health_pb2.HealthCheckResponse.SERVING
        process.send_signal(signal.SIGTERM)
        assert next(watch).status == health_pb2.HealthCheckResponse.NOT_SERVING
        watch.cancel()
        assert process.wait(timeout=30) == 0
        channel.close()
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()
