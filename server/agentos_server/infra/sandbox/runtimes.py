"""What each runtime needs to run a script, and the environment every script starts with."""

from __future__ import annotations

import os
from collections.abc import Mapping

from agentos_server.infra.sandbox.base import Runtime

SCRIPT_FILENAMES: Mapping[Runtime, str] = {"python": "main.py", "node": "main.js", "bash": "main.sh"}

# System interpreters under /usr: the bwrap backend exposes only /usr of the host, so an
# interpreter from a user's home (pyenv, nvm) or a virtualenv would not even be visible inside.
HOST_INTERPRETERS: Mapping[Runtime, str] = {
    "python": "/usr/bin/python3",
    "node": "/usr/bin/node",
    "bash": "/usr/bin/bash",
}

# Unbuffered Python so that `on_output` sees prints as they happen rather than in 8 KiB blocks.
INTERPRETER_FLAGS: Mapping[Runtime, tuple[str, ...]] = {"python": ("-u",), "node": (), "bash": ()}

DEFAULT_PATH = "/usr/local/bin:/usr/bin:/bin"


def interpreter_command(runtime: Runtime, interpreter: str, script_path: str) -> list[str]:
    return [interpreter, *INTERPRETER_FLAGS[runtime], script_path]


def script_environment(env: Mapping[str, str], *, home: str) -> dict[str, str]:
    """The complete environment of a script: a minimal base that the spec's own variables override."""
    return {"PATH": DEFAULT_PATH, "HOME": home, "LANG": "C.UTF-8", **env}


def environment_problem(env: Mapping[str, str]) -> str | None:
    """Why `env` cannot be handed to a process, or None when it can."""
    for name, value in env.items():
        if not name or "=" in name or "\0" in name:
            return f"invalid environment variable name {name!r}"
        if "\0" in value:
            return f"environment variable {name} contains a NUL byte"
    return None


def missing_interpreters(interpreters: Mapping[Runtime, str]) -> dict[Runtime, str]:
    return {
        runtime: path
        for runtime, path in interpreters.items()
        if not (os.path.isfile(path) and os.access(path, os.X_OK))
    }
