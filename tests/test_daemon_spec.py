"""The daemon definition format: schema, references, cycles, inputs, interpolation."""

from __future__ import annotations

import pytest

from agentos_server.domain.daemon_spec import bind_inputs, parse_daemon_yaml, render, render_value
from agentos_server.domain.errors import InvalidArgument

PIPELINE = """
inputs:
  - name: topic
    type: string
  - name: words
    type: number
    default: 300
  - name: tone
    type: enum
    options: [formal, casual]
  - name: publish
    type: boolean
    required: false
  - name: extra
    type: json
    required: false
stages:
  - name: Outline
    model: builtin-small
    prompt_template: "Outline ${topic} in ${words} words, ${tone}"
    output: outline
  - name: Count
    runtime: python
    script: "print(len('''${outline}'''))"
    output: count
  - name: Review
    type: hybrid
    script: "test ${count} -gt 0"
    model: builtin-small
"""


def problems(text: str) -> list[str]:
    with pytest.raises(InvalidArgument) as raised:
        parse_daemon_yaml(text)
    assert all(v.field == "daemon.definition_yaml" for v in raised.value.violations)
    return [v.description for v in raised.value.violations]


def test_parses_kinds_and_sequential_dependencies() -> None:
    spec = parse_daemon_yaml(PIPELINE)
    assert [(s.name, s.kind, s.depends_on) for s in spec.stages] == [
        ("Outline", "agent", ()),
        ("Count", "script", ("Outline",)),
        ("Review", "hybrid", ("Count",)),
    ]
    assert spec.stage("Review").agent_role == "analyze_failures"
    assert [i.name for i in spec.inputs if i.required] == ["topic", "tone"]


def test_seed_wrapper_and_version_check() -> None:
    wrapped = "daemon:\n  version: '1.0.0'\n  stages:\n    - name: A\n      model: m\n      prompt: hi\n"
    assert parse_daemon_yaml(wrapped, version="1.0.0").metadata["version"] == "1.0.0"
    with pytest.raises(InvalidArgument):
        parse_daemon_yaml(wrapped, version="2.0.0")


def test_unresolved_reference() -> None:
    found = problems("stages:\n  - name: A\n    model: m\n    prompt: 'hello ${nobody}'\n")
    assert "${nobody} is neither an input nor the output of a stage" in found[0]


def test_reference_to_a_stage_that_does_not_run_before() -> None:
    text = """
stages:
  - name: A
    model: m
    prompt: "uses ${b_out}"
    needs: []
  - name: B
    model: m
    prompt: hi
    needs: []
    output: b_out
"""
    assert "does not run before this stage" in problems(text)[0]


def test_needs_make_parallel_branches_and_joins() -> None:
    text = """
inputs: [{name: x, type: string}]
stages:
  - {name: A, model: m, prompt: "${x}", output: a, needs: []}
  - {name: B, model: m, prompt: "${x}", output: b, needs: []}
  - {name: C, model: m, prompt: "${a} ${b}", needs: [A, B]}
"""
    spec = parse_daemon_yaml(text)
    assert spec.stage("C").depends_on == ("A", "B")
    assert [s.name for s in spec.execution_order()] == ["A", "B", "C"]


def test_cyclic_needs() -> None:
    text = """
stages:
  - {name: A, model: m, prompt: x, needs: [C]}
  - {name: B, model: m, prompt: x, needs: [A]}
  - {name: C, model: m, prompt: x, needs: [B]}
"""
    assert any("cycle" in p for p in problems(text))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("stages: [", "is not valid YAML at line"),
        ("just a string", "must be a YAML mapping"),
        ("stages: []", "should be non-empty"),
        ("stages:\n  - name: A\n    model: m\n    prompt: x\n    colour: red\n", "Additional properties"),
        (
            "inputs: [{name: t, type: enum}]\nstages: [{name: A, model: m, prompt: x}]",
            "'options' is a required",
        ),
        ("inputs: [{name: 9bad, type: string}]\nstages: [{name: A, model: m, prompt: x}]", "does not match"),
        ("stages: [{name: A, type: skill, skill: skills/x}]", "needs 'skill'"),
        ("stages: [{name: A, type: script}]", "needs a script"),
        ("stages: [{name: A, prompt: x}]", "needs a model"),
        ("stages: [{name: A, model: m, prompt: x}, {name: A, model: m, prompt: y}]", "more than one stage"),
        ("stages: [{name: A, model: m, prompt: x, needs: [Z]}]", "'Z' is not a stage"),
        ("stages: [{name: A, script: x, working_directory: ../up}]", "relative path inside"),
        ("a: &x [1]\nb: *x\nstages: []", "aliases"),
    ],
)
def test_bad_definitions(text: str, expected: str) -> None:
    found = problems(text)
    assert any(expected in p for p in found), found


def test_binding_inputs_checks_types_and_fills_defaults() -> None:
    spec = parse_daemon_yaml(PIPELINE)
    bound = bind_inputs(spec, {"topic": "gRPC", "tone": "casual"})
    assert bound == {"topic": "gRPC", "words": 300, "tone": "casual"}
    with pytest.raises(InvalidArgument) as raised:
        bind_inputs(spec, {"topic": 5, "tone": "angry", "words": "many", "publish": "yes", "surprise": 1})
    fields = {v.field for v in raised.value.violations}
    assert fields == {"inputs.topic", "inputs.tone", "inputs.words", "inputs.publish", "inputs.surprise"}
    with pytest.raises(InvalidArgument) as raised:
        bind_inputs(spec, {})
    assert {v.field for v in raised.value.violations} == {"inputs.topic", "inputs.tone"}


def test_render_interpolates_text_and_json() -> None:
    values = {"name": "Ada", "data": {"items": [{"id": 7}]}, "n": 3}
    assert (
        render("hi ${name}, ${n} and ${data.items.0.id}; $${literal}", values)
        == "hi Ada, 3 and 7; ${literal}"
    )
    assert render("${data}", values) == '{"items": [{"id": 7}]}'
    assert render_value({"count": "${n}", "msg": "x${n}"}, values) == {"count": 3, "msg": "x3"}
    with pytest.raises(KeyError):
        render("${data.missing}", values)
