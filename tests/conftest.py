"""Fixtures: one shared server per test session, plus factories for agents."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from testkit import (
    BACKEND,
    AgentHandle,
    BackendUnavailable,
    ServerHandle,
    create_agent,
    create_operator,
    start_server,
)


def pytest_report_header() -> str:
    return f"agentos backend: {BACKEND}"


@pytest.fixture(scope="session")
def server() -> Iterator[ServerHandle]:
    try:
        handle = start_server()
    except BackendUnavailable as error:
        # A suite that skips because its database is missing proves nothing: fail, loudly.
        pytest.fail(f"{error} (AGENTOS_TEST_BACKEND={BACKEND}, CI={os.environ.get('CI', '')})", pytrace=False)
    yield handle
    handle.stop()


@pytest.fixture
def agent(server: ServerHandle) -> AgentHandle:
    return create_agent(server, "agent")


@pytest.fixture
def other_agent(server: ServerHandle) -> AgentHandle:
    return create_agent(server, "other")


@pytest.fixture(scope="session")
def operator(server: ServerHandle) -> AgentHandle:
    return create_operator(server)
