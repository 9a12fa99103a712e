"""Resource limits applied to a script with util-linux `prlimit`.

`prlimit` sets the limits on itself and then execs the interpreter, so the limits are in place
before the first instruction of the script and are inherited by everything it starts. Using the
binary rather than a `preexec_fn` keeps the server free of code that runs between fork and exec,
which is unsafe in a process with threads (grpc.aio has several).
"""

from __future__ import annotations

import shutil

from agentos_server.infra.sandbox.base import SandboxLimits

PRLIMIT_PATH = "/usr/bin/prlimit"

# RLIMIT_DATA caps memory a process has written to (heap, private anonymous mappings) at
# memory_bytes. It does not count shared mappings, so mmap(MAP_SHARED|MAP_ANONYMOUS) could get
# around it; RLIMIT_AS closes that gap. RLIMIT_AS cannot equal memory_bytes though: V8 reserves
# about 750 MiB of address space at start-up that it never touches (node aborts with "Failed to
# reserve virtual memory for CodeRange" under 800 MiB). Hence address space = memory + 1 GiB.
ADDRESS_SPACE_HEADROOM_BYTES = 1024 * 1024 * 1024


def address_space_bytes(limits: SandboxLimits) -> int:
    return limits.memory_bytes + ADDRESS_SPACE_HEADROOM_BYTES


def find_prlimit() -> str | None:
    return PRLIMIT_PATH if shutil.which(PRLIMIT_PATH) else None


def prlimit_command(limits: SandboxLimits, *, max_processes: int, prlimit: str = PRLIMIT_PATH) -> list[str]:
    """The `prlimit ... --` prefix that puts `limits` on the command that follows it.

    `max_processes` is passed separately because what RLIMIT_NPROC counts depends on the backend
    (tasks of a user namespace under bwrap, every task of the uid for a bare process).
    """
    cpu = max(1, limits.cpu_seconds)
    return [
        prlimit,
        # SIGXCPU at the soft limit lets a script notice; the hard limit one second later is SIGKILL.
        f"--cpu={cpu}:{cpu + 1}",
        f"--data={limits.memory_bytes}",
        f"--as={address_space_bytes(limits)}",
        f"--nproc={max_processes}",
        f"--fsize={limits.max_file_bytes}",
        # A core dump of a memory bomb would land in the workdir.
        "--core=0",
        "--",
    ]
