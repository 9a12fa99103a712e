"""Fixtures for the sandbox tests: real backends, real processes, a fresh workdir per test."""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from agentos_server.infra.sandbox import (
    Sandbox,
    SandboxResult,
    SandboxUnavailable,
    ScriptSpec,
    create_sandbox,
)

RunScript = Callable[..., SandboxResult]


@pytest.fixture(scope="session")
def bwrap_sandbox() -> Sandbox:
    try:
        return create_sandbox("bwrap")
    except SandboxUnavailable as exc:
        message = f"the bwrap sandbox is unavailable, so its escape tests cannot run: {exc}"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(f"!!! {message} (set CI=true to make this a failure) !!!")


@pytest.fixture(scope="session")
def process_sandbox() -> Sandbox:
    return create_sandbox("process", allow_insecure_process=True)


@pytest.fixture(params=["bwrap", "process"])
def sandbox(request: pytest.FixtureRequest) -> Sandbox:
    backend: Sandbox = request.getfixturevalue(f"{request.param}_sandbox")
    return backend


@pytest.fixture
def workdir() -> Iterator[Path]:
    # Directly under /tmp rather than pytest's tmp_path: as root, the bwrap backend runs scripts as
    # an unprivileged uid, which must be able to traverse the workdir's parents, and pytest's
    # per-user base directory is mode 0700.
    path = Path(tempfile.mkdtemp(prefix="agentos-sandbox-test-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def run_script() -> RunScript:
    def run(sandbox: Sandbox, spec: ScriptSpec, **options: Any) -> SandboxResult:
        return asyncio.run(sandbox.run(spec, **options))

    return run
