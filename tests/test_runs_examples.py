"""The example daemons in examples/ run end to end on the real server, offline: the built-in model
and real Python, Node and Bash scripts in the bwrap sandbox. One of them also through `agentos run`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

from agentos.execution.v1 import execution_pb2 as ex

from runkit import output, publish, run_to_end, stage
from testkit import ServerHandle, create_agent

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def run_example(server: ServerHandle, name: str, inputs: dict[str, Any] | None = None) -> ex.Execution:
    agent = create_agent(server, "example")
    daemon = publish(server, agent, (EXAMPLES / f"{name}.yaml").read_text())
    execution, seen = run_to_end(server, agent, daemon, inputs)
    assert [e.sequence for e in seen] == list(range(1, len(seen) + 1))
    return execution


def succeeded(execution: ex.Execution) -> None:
    failed = [(s.name, s.error) for s in execution.stages if s.state != ex.STAGE_STATE_SUCCEEDED]
    assert execution.state == ex.EXECUTION_STATE_SUCCEEDED, (execution.error, failed)


def test_every_example_is_tested() -> None:
    assert sorted(p.stem for p in EXAMPLES.glob("*.yaml")) == [
        "blog-content-pipeline",
        "code-review",
        "data-analysis",
        "project-scaffolder",
        "support-triage",
    ]


def test_blog_content_pipeline(server: ServerHandle) -> None:
    execution = run_example(server, "blog-content-pipeline", {"topic": "Vector databases"})
    succeeded(execution)
    research = output(stage(execution, "Research"))
    assert "embeddings" in research["keywords"]
    seo = output(stage(execution, "SEO Optimization"))
    assert seo["slug"]
    assert seo["words"] > 0
    post = output(stage(execution, "Publishing"))
    assert post.startswith("---\ntitle: ")
    assert f"tags: {research['keywords']}".replace("'", '"') in post
    assert output(stage(execution, "Writing")) in post


def test_code_review_passes_clean_tests_and_diagnoses_failing_ones(server: ServerHandle) -> None:
    execution = run_example(server, "code-review")
    succeeded(execution)
    security = output(stage(execution, "Security Scan"))
    assert {f["issue"] for f in security["findings"]} == {
        "hard-coded secret",
        "evaluates untrusted input as code",
        "runs a shell command built from input",
    }
    assert output(stage(execution, "Complexity"))["functions"] == 3
    assert output(stage(execution, "Run Tests")) == "2 of 2 doctests passed"
    assert "- high-severity findings: 3" in output(stage(execution, "Create PR"))

    broken = '''
def total(prices):
    """
    >>> total([10, 20, 12])
    42
    """
    return sum(prices) + 1
'''
    failed = run_example(server, "code-review", {"code": broken})
    assert failed.state == ex.EXECUTION_STATE_FAILED
    tests = stage(failed, "Run Tests")
    assert tests.state == ex.STAGE_STATE_FAILED
    assert "the output holds the model's analysis" in tests.error
    assert tests.model == "builtin-small"
    assert "likely cause: assertion" in output(tests)
    assert "Failed example:" in output(tests)
    assert stage(failed, "Create PR").state == ex.STAGE_STATE_SKIPPED


def test_support_triage(server: ServerHandle) -> None:
    execution = run_example(server, "support-triage")
    succeeded(execution)
    assert output(stage(execution, "Sentiment"))["label"] == "negative"
    assert output(stage(execution, "Knowledge Base Search"))[0] == "KB-101 Duplicate charges"
    escalation = output(stage(execution, "Escalation Decision"))
    assert escalation["escalate"] is True
    assert escalation["queue"] == "tier-2"
    assert output(stage(execution, "Send Response")).startswith("To: customer\nX-Queue: tier-2\n")

    question = {"ticket": "How do I export my data as csv? Thanks!", "customer_tier": "free"}
    calm = run_example(server, "support-triage", question)
    succeeded(calm)
    assert output(stage(calm, "Escalation Decision"))["escalate"] is False
    assert output(stage(calm, "Knowledge Base Search")) == ["KB-301 Exporting data"]


def test_project_scaffolder_in_both_languages(server: ServerHandle) -> None:
    python = run_example(server, "project-scaffolder")
    succeeded(python)
    assert output(stage(python, "Build")) == "python sources compile"
    assert output(stage(python, "Test")).rstrip().endswith("OK")
    files = output(stage(python, "Summary"))
    assert "./src/greeter/__init__.py" in files
    assert "./tests/test_greeter.py" in files

    node = run_example(server, "project-scaffolder", {"language": "node", "project_name": "greeter-js"})
    succeeded(node)
    assert output(stage(node, "Build")) == "node sources parse"
    assert "# pass 1" in output(stage(node, "Test"))
    assert "./package.json" in output(stage(node, "Summary"))


def test_data_analysis(server: ServerHandle) -> None:
    execution = run_example(server, "data-analysis")
    succeeded(execution)
    assert output(stage(execution, "Load")) == {
        "rows": 5,
        "columns": ["region", "revenue", "orders"],
        "numeric": ["revenue", "orders"],
    }
    summary = output(stage(execution, "Statistics"))["summary"]
    assert (summary["mean"], summary["median"], summary["min"], summary["max"]) == (1014, 950, 610, 1430)
    chart = output(stage(execution, "Chart")).splitlines()
    assert chart[0].startswith("east")
    assert chart[0].endswith("1430")
    assert output(stage(execution, "Report")).startswith("# Data report")


def test_agentos_run_publishes_runs_and_shows_the_live_log(server: ServerHandle) -> None:
    agent = create_agent(server, "cli")
    command = [
        str(Path(sys.executable).parent / "agentos"),
        "run",
        str(EXAMPLES / "data-analysis.yaml"),
        "--server",
        server.address,
        "--api-key",
        agent.api_key,
        "--daemon-id",
        f"data-analysis-{agent.id}",
        "--input",
        "metric=orders",
    ]
    first = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert first.returncode == 0, first.stdout + first.stderr
    lines = first.stdout.splitlines()
    assert lines[0] == f"published daemons/data-analysis-{agent.id} 1.0.0"
    assert "[0/5] > Load (script)" in lines
    assert any(line.startswith("[5/5] succeeded Report in ") for line in lines)
    assert "    Load ! loaded 5 rows; numeric columns: revenue, orders" in lines
    assert "run succeeded" in lines
    assert any("The region east leads orders with 41." in line for line in lines)

    # Running the unchanged file again reuses the published version.
    again = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    assert again.stdout.splitlines()[0] == f"using daemons/data-analysis-{agent.id} 1.0.0 (unchanged)"
