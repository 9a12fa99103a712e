"""Script sandboxes behind one protocol: bubblewrap, Docker, or an explicitly insecure bare process."""

from agentos_server.infra.sandbox.base import (
    DEFAULT_DOCKER_IMAGES,
    RUNTIMES,
    SANDBOX_SCRIPT_DIR,
    SANDBOX_WORKDIR,
    OutputCallback,
    Runtime,
    Sandbox,
    SandboxLimits,
    SandboxResult,
    SandboxUnavailable,
    ScriptSpec,
    StreamName,
    create_sandbox,
)

__all__ = [
    "DEFAULT_DOCKER_IMAGES",
    "RUNTIMES",
    "SANDBOX_SCRIPT_DIR",
    "SANDBOX_WORKDIR",
    "OutputCallback",
    "Runtime",
    "Sandbox",
    "SandboxLimits",
    "SandboxResult",
    "SandboxUnavailable",
    "ScriptSpec",
    "StreamName",
    "create_sandbox",
]
