"""Choosing a backend: secure by default, insecure only on explicit request and then loudly."""

from __future__ import annotations

import logging

import pytest

from agentos_server.infra.sandbox import Sandbox, SandboxUnavailable, create_sandbox


def test_auto_picks_bwrap_where_it_works(bwrap_sandbox: Sandbox) -> None:
    sandbox = create_sandbox("auto")
    assert (sandbox.name, sandbox.secure) == ("bwrap", True)


def test_auto_without_bwrap_refuses_instead_of_falling_back_to_the_process_backend() -> None:
    with pytest.raises(SandboxUnavailable) as raised:
        create_sandbox("auto", bwrap_path="/nonexistent/bwrap", allow_insecure_process=True)
    message = str(raised.value)
    assert "bubblewrap is not installed" in message
    assert "kind='process', allow_insecure_process=True" in message


def test_a_bwrap_that_cannot_create_a_sandbox_is_unavailable() -> None:
    with pytest.raises(SandboxUnavailable, match="cannot create a sandbox on this host"):
        create_sandbox("bwrap", bwrap_path="/usr/bin/false")


def test_the_process_backend_is_refused_unless_explicitly_allowed() -> None:
    with pytest.raises(SandboxUnavailable, match="allow_insecure_process=True"):
        create_sandbox("process")


def test_the_process_backend_warns_that_it_is_insecure(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="agentos.sandbox"):
        sandbox = create_sandbox("process", allow_insecure_process=True)
    assert (sandbox.name, sandbox.secure) == ("process", False)
    warnings = [r for r in caplog.records if r.name == "agentos.sandbox" and r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "INSECURE" in warnings[0].getMessage()


def test_an_unknown_kind_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="unknown sandbox kind 'firecracker'"):
        create_sandbox("firecracker")
