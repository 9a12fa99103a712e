"""The bwrap backend's prepared /etc does not outlive its process, even one that was killed."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from agentos_server.infra.sandbox import Sandbox, create_sandbox
from agentos_server.infra.sandbox.bwrap_backend import sweep_orphaned_etc_directories


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_a_killed_servers_etc_is_swept_and_a_live_ones_is_kept(bwrap_sandbox: Sandbox) -> None:
    parent = Path(tempfile.mkdtemp(prefix="agentos-sweep-test-"))
    try:
        orphan = parent / f"agentos-sandbox-etc-{_dead_pid()}-abc123"
        (orphan / "ssl").mkdir(parents=True)
        (orphan / "passwd").write_text("sandbox:x:65534:65534::/workspace:/bin/sh\n")
        (orphan / "passwd").chmod(0o444)
        mine = parent / f"agentos-sandbox-etc-{os.getpid()}-def456"
        mine.mkdir()
        living = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
        try:
            theirs = parent / f"agentos-sandbox-etc-{living.pid}-ghi789"
            theirs.mkdir()
            unrelated = parent / "agentos-sandbox-etc-notapid-xyz"
            unrelated.mkdir()

            assert sweep_orphaned_etc_directories(str(parent)) == [orphan]
            assert not orphan.exists()
            assert [p.exists() for p in (mine, theirs, unrelated)] == [True, True, True]
        finally:
            living.kill()
            living.wait()
    finally:
        shutil.rmtree(parent, ignore_errors=True)


def test_a_backend_starting_sweeps_the_machines_temporary_directory(bwrap_sandbox: Sandbox) -> None:
    orphan = Path(tempfile.gettempdir()) / f"agentos-sandbox-etc-{_dead_pid()}-left"
    orphan.mkdir()
    create_sandbox("bwrap")
    assert not orphan.exists()
