"""The builtin offline model: deterministic, free, and useful enough for demos and tests."""

from __future__ import annotations

import asyncio
import dataclasses
import json

import pytest

from agentos_server.infra.providers import (
    BuiltinProvider,
    ChatMessage,
    CompletionRequest,
    CompletionResult,
    default_catalogue,
)
from agentos_server.infra.providers.tokens import count_message_tokens, count_tokens, truncate_tokens

BUILTIN = next(m for m in default_catalogue() if m.id == "builtin-small")

PYTEST_LOG = """\
============================= test session starts ==============================
collected 3 items

tests/test_math.py .F.                                                   [100%]

=================================== FAILURES ===================================
___________________________________ test_add ___________________________________

    def test_add():
>       assert add(1, 2) == 4
E       assert 3 == 4
E        +  where 3 = add(1, 2)

tests/test_math.py:5: AssertionError
=========================== short test summary info ============================
FAILED tests/test_math.py::test_add - assert 3 == 4
========================= 1 failed, 2 passed in 0.03s ==========================
Process exited with code 1
"""

ARTICLE = (
    "AgentOS lets agents register skills and sell them. Agents discover each other through search. "
    "The marketplace handles licences and payments for agents. Payments settle on a double-entry "
    "ledger. Skills are called through a metered proxy that records usage and charges buyers. "
    "The weather was nice."
)


def complete(
    *messages: ChatMessage, json_output: bool = False, max_output_tokens: int = 1024
) -> CompletionResult:
    request = CompletionRequest(
        messages=list(messages),
        model="builtin-small",
        json_output=json_output,
        max_output_tokens=max_output_tokens,
    )
    return asyncio.run(BuiltinProvider().complete(BUILTIN, request, None))


def test_same_request_same_answer_tokens_and_cost() -> None:
    messages = (ChatMessage("system", "Be brief."), ChatMessage("user", f"Summarise this:\n\n{ARTICLE}"))

    first = complete(*messages)
    second = complete(*messages)

    assert dataclasses.replace(first, latency_ms=0) == dataclasses.replace(second, latency_ms=0)
    assert (first.provider, first.model, first.cost_usd_micros) == ("builtin", "builtin-small", 0)
    assert first.input_tokens == count_message_tokens(messages)
    assert first.output_tokens == count_tokens(first.text)


def test_tokenizer_is_stable() -> None:
    assert count_tokens("Hello, world!") == 4
    assert count_tokens("internationalisation") == 3  # 20 characters: one token per started 8
    assert count_tokens("   ") == 0
    assert count_message_tokens([ChatMessage("user", "Hello, world!")]) == 8
    assert truncate_tokens("one two three", 2) == ("one two", True)
    assert truncate_tokens("one two three", 3) == ("one two three", False)
    assert truncate_tokens("one two three.", 3) == ("one two three", True)


def test_plain_chat_echoes_the_last_user_message() -> None:
    result = complete(
        ChatMessage("user", "first"), ChatMessage("assistant", "ok"), ChatMessage("user", "hello there")
    )

    assert result.text == "Echo: hello there"
    assert result.finish_reason == "stop"


def test_summary_is_extractive_and_in_original_order() -> None:
    result = complete(ChatMessage("user", f"Summarise the following:\n\n{ARTICLE}"))

    assert result.text == (
        "AgentOS lets agents register skills and sell them. "
        "The marketplace handles licences and payments for agents."
    )


def test_instruction_in_the_system_prompt_keeps_the_whole_message_as_material() -> None:
    result = complete(
        ChatMessage("system", "Summarise the user's text."),
        ChatMessage("user", "Alpha beta gamma first. Alpha again here.\n\nBeta closing words."),
    )

    assert result.text.startswith("Alpha beta gamma first.")


def test_keywords_are_the_most_frequent_content_words() -> None:
    result = complete(ChatMessage("user", f"Extract keywords: {ARTICLE}"))

    assert result.text.split(", ")[:3] == ["agents", "skills", "payments"]
    assert "the" not in result.text.split(", ")


def test_failure_analysis_of_a_pytest_log() -> None:
    result = complete(ChatMessage("user", f"The test stage failed. Analyse the failures:\n{PYTEST_LOG}"))

    assert result.text.splitlines()[:4] == [
        "Failure analysis (builtin-small, deterministic)",
        "Verdict: 1 failure found; likely cause: assertion.",
        "Runner summary: 1 failed, 2 passed in 0.03s",
        "Exit code: 1",
    ]
    assert "- tests/test_math.py::test_add — assert 3 == 4" in result.text
    assert "E       assert 3 == 4" in result.text


def test_failure_analysis_as_json_for_a_hybrid_stage() -> None:
    traceback = (
        "Traceback (most recent call last):\n"
        '  File "/work/main.py", line 1, in <module>\n'
        "    import requests\n"
        "ModuleNotFoundError: No module named 'requests'\n"
    )
    result = complete(
        ChatMessage("system", "agent_role: analyze_failures"),
        ChatMessage("user", traceback),
        json_output=True,
    )

    answer = json.loads(result.text)
    assert answer["verdict"] == "failed"
    assert answer["failures"] == [{"test": "ModuleNotFoundError", "reason": "No module named 'requests'"}]
    assert answer["causes"] == ["missing dependency"]
    assert answer["passed"] is False


def test_failure_analysis_of_jest_and_compiler_output() -> None:
    log = (
        "Why did CI fail?\n\n"
        "FAIL src/sum.test.js\n"
        "  \u25cf sum > adds numbers\n"
        "    expect(received).toBe(expected)\n"
        "  \u2715 adds numbers (5 ms)\n"
        "main.c:10:5: error: expected ';' before 'return'\n"
    )

    answer = json.loads(complete(ChatMessage("user", log), json_output=True).text)

    assert answer["failures"] == [
        {"test": "src/sum.test.js > adds numbers", "reason": ""},
        {"test": "main.c:10", "reason": "expected ';' before 'return'"},
    ]
    assert "assertion" in answer["causes"]


def test_clean_log_is_reported_as_passed() -> None:
    log = "Analyse the failures in this output:\n\n===== 3 passed in 0.01s =====\nexit code 0\n"

    answer = json.loads(complete(ChatMessage("user", log), json_output=True).text)

    assert (answer["verdict"], answer["failure_count"], answer["exit_code"]) == ("passed", 0, 0)


def test_json_template_in_the_prompt_is_filled_key_for_key() -> None:
    prompt = (
        'Return JSON like {"title": "", "tags": [], "summary": "", "words": 0, "english": true, '
        '"meta": {"keywords": ""}}\n\n' + ARTICLE
    )

    answer = json.loads(complete(ChatMessage("user", prompt), json_output=True).text)

    assert list(answer) == ["title", "tags", "summary", "words", "english", "meta"]
    assert answer["title"] == "AgentOS lets agents register skills and sell them"
    assert answer["tags"][:2] == ["agents", "skills"]
    assert answer["summary"].startswith("AgentOS lets agents")
    assert answer["words"] == len(ARTICLE.split())
    assert answer["english"] is True
    # A string slot gets the keyword list as text: the template's types are kept.
    assert answer["meta"]["keywords"].startswith("agents, skills")


def test_json_without_template_is_the_analysis_object() -> None:
    answer = json.loads(complete(ChatMessage("user", "hello there"), json_output=True).text)

    assert answer == {"echo": "hello there", "summary": "hello there", "keywords": ["hello"], "word_count": 2}


@pytest.mark.parametrize("limit", [1, 3, 10])
def test_long_answers_are_cut_at_max_output_tokens(limit: int) -> None:
    result = complete(ChatMessage("user", ARTICLE), max_output_tokens=limit)

    assert result.finish_reason == "length"
    assert result.output_tokens == limit
    assert ("Echo: " + ARTICLE).startswith(result.text)
