"""Run settings: the sandbox choice is checked at start-up, and `agentos worker` needs Redis."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from agentos_server.config import ConfigError, load_settings


def test_the_process_sandbox_must_be_allowed_explicitly() -> None:
    with pytest.raises(ConfigError, match="ALLOW_INSECURE_PROCESS_SANDBOX"):
        load_settings({"AGENTOS_SANDBOX": "process"})
    allowed = load_settings({"AGENTOS_SANDBOX": "process", "AGENTOS_ALLOW_INSECURE_PROCESS_SANDBOX": "true"})
    assert (allowed.sandbox, allowed.allow_insecure_process_sandbox) == ("process", True)
    with pytest.raises(ConfigError, match="AGENTOS_SANDBOX must be auto, bwrap, docker or process"):
        load_settings({"AGENTOS_SANDBOX": "chroot"})
    with pytest.raises(ConfigError, match="AGENTOS_WORKER_LEASE_SECONDS must be positive"):
        load_settings({"AGENTOS_WORKER_LEASE_SECONDS": "0"})
    assert load_settings({}).sandbox == "auto"


def test_agentos_worker_refuses_to_start_without_redis() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTOS_")}
    done = subprocess.run(
        [str(Path(sys.executable).parent / "agentos"), "worker"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "set AGENTOS_REDIS_URL" in done.stderr
