"""Fixtures for the provider adapter and router tests: real loopback HTTP servers."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator

import pytest
from provider_wire import RecordingServer


@pytest.fixture
def http_server() -> Iterator[Callable[[], RecordingServer]]:
    servers: list[RecordingServer] = []

    def make() -> RecordingServer:
        server = RecordingServer()
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.close()


@pytest.fixture
def closed_port_url() -> str:
    """A loopback URL on which nothing listens (connection refused)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"
