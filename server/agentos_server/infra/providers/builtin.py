"""``builtin``: a deterministic model that runs in-process, with no network and no key.

It exists so that daemons, demos and tests work on a machine with no provider account, and so that
their output is reproducible. It does not pretend to be intelligent; it does a few text tasks
mechanically and says so. For the same messages and settings it returns the same text, token counts
and cost (zero) every time.

What it does, decided from the system prompt and the first lines of the last user message (the
"instruction"); the text it works on (the "subject") is what follows the instruction line, or the
whole message when there is no separate instruction:

* **failure analysis** — the instruction says analyse/diagnose/triage/"root cause" and the input
  looks like a failure (or the system prompt names ``analyze_failures``): scans every user message
  for failing tests (pytest, jest/vitest, go test), Python tracebacks and exception lines, compiler
  ``file:line: error`` lines and ``npm ERR!`` lines; reports each failure, the likely causes
  (assertion, missing dependency, syntax, type, lookup, timeout, network, permission, memory,
  missing file) with a next step for each, and the first evidence lines;
* **summary** — "summarise", "summary", "tl;dr", "condense": an extractive summary, the highest
  scoring sentences (by frequency of their content words) in their original order;
* **keywords** — "keywords", "key terms", "tags", "topics": the most frequent content words;
* **anything else** — an echo: ``Echo: <last user message>``.

With ``json_output`` it answers a JSON object instead: if the instruction contains a JSON object
template (``{"title": "", "tags": []}``) the answer has exactly those keys, each filled from the
analysis when the key names something it knows (summary, keywords/tags, title, word_count,
verdict, failures, causes, suggestions, echo, ...) and otherwise by the template value's type
(string: the summary, list: the keywords, number: the word count, boolean: whether there was any
input, object: filled the same way); without a template it returns the analysis object of the task.

Output longer than ``max_output_tokens`` is cut at a token boundary with finish reason ``length``,
exactly as a real model would be (so a cut JSON answer is invalid JSON, as it would be elsewhere).
Tokens are counted by :mod:`.tokens`.
"""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .tokens import count_message_tokens, count_tokens, truncate_tokens
from .types import (
    FINISH_LENGTH,
    FINISH_STOP,
    ChatMessage,
    CompletionRequest,
    CompletionResult,
    ModelInfo,
    ProviderCredentials,
)

BUILTIN_PROVIDER = "builtin"

_INSTRUCTION_HEAD_CHARS = 400
_MAX_KEYWORDS = 8
_MAX_FAILURES = 20
_MAX_EVIDENCE = 5

_STOPWORDS = frozenset(
    """
    a about above after again against all also am an and any are as at be because been before being
    below between both but by can could did do does doing down during each else few for from further
    had has have having he her here hers herself him himself his how i if in into is it its itself
    just let lets me more most my myself no nor not now of off on once only or other our ours ourselves
    out over own please same she should so some such than that the their theirs them themselves then
    there these they this those through to too under until up upon us very was we were what when
    where which while who whom why will with would you your yours yourself yourselves one two may
    might must shall get got via per etc using use used
    """.split()  # noqa: SIM905 - a word list reads better as prose than as 140 quoted strings
)

_SUMMARY_WORDS = re.compile(r"summar|\btl;?dr\b|\bcondense|\bin brief\b")
_KEYWORD_WORDS = re.compile(r"keyword|key terms|key phrases|\btags?\b|\btopics\b")
_ANALYSE_WORDS = re.compile(r"analy[sz]|diagnos|triage|root cause|why (?:did|does|is)|investigate|debug")
_FAILURE_WORDS = re.compile(
    r"fail|error|exception|traceback|panic|fatal|exit (?:code|status)|✕|npm err", re.IGNORECASE
)
_FAILURE_ROLE = re.compile(r"analy[sz]e[_ ]failures")
_INSTRUCTION_WORDS = (_SUMMARY_WORDS, _KEYWORD_WORDS, _ANALYSE_WORDS, re.compile(r"\bjson\b|\{"))

# "Summarise this: <text>" on a single line.
_INLINE_INSTRUCTION = re.compile(
    r"^[^\n:]{0,80}\b(?:summar\w*|keywords?|tags|topics|tl;?dr)\b[^\n:]*:\s*(.+)$", re.I | re.S
)
_WORD = re.compile(r"[^\W\d_][\w'-]*[^\W_]|[^\W\d_]")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n\s*\n|\n(?=\s*[-*•]\s)")


# --- failure log patterns, tried per line in this order --------------------------------------------
_PYTEST_LINE = re.compile(r"^(?:FAILED|ERROR)\s+(\S+::\S+|\S+\.py)(?:\s+-\s+(.*))?$")
_GO_FAIL = re.compile(r"^\s*--- FAIL: (\S+)")
_JEST_CROSS = re.compile(r"^\s*[\u2715\u00d7\u2717]\s+(.+?)(?:\s+\(\d+\s*m?s\))?\s*$")
_JEST_FILE = re.compile(r"^\s*FAIL\s+(\S+)")
_EXCEPTION_LINE = re.compile(
    r"^(?:E\s+)?([A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt|Failure)):?\s*(.*)$"
)
_COMPILER_ERROR = re.compile(r"^(\S+?):(\d+)(?::\d+)?:\s*(?:fatal\s+)?error:?\s*(.*)$", re.IGNORECASE)
_NPM_ERR = re.compile(r"^npm ERR!\s*(.*)$")
_PYTEST_SUMMARY = re.compile(r"^=+\s*(.*\b\d+ (?:failed|error|errors)\b.*?)\s*=*$")
_EXIT_CODE = re.compile(r"exit(?:ed)?\s+(?:with\s+)?(?:code|status)\s+(\d+)", re.IGNORECASE)
# Section headers such as "==== FAILURES ====" name failure without being one.
_BANNER = re.compile(r"^\s*[=_*#-]{3,}[\w ]{0,40}[=_*#-]{3,}\s*$")
_GENERIC_FAILURE = re.compile(r"\b(?:error|failed|failure|fatal|panic|exception)\b", re.IGNORECASE)


@dataclass(frozen=True)
class _Cause:
    name: str
    pattern: re.Pattern[str]
    advice: str


# Ordered from the most specific signal to the most generic; each cause is reported once.
_CAUSES: tuple[_Cause, ...] = (
    _Cause(
        "missing dependency",
        re.compile(
            r"ModuleNotFoundError|ImportError|Cannot find module|command not found|No module named",
            re.IGNORECASE,
        ),
        "A dependency is missing: add it to the stage's requirements (or package.json) so it is "
        "installed before the script runs.",
    ),
    _Cause(
        "syntax",
        re.compile(r"SyntaxError|IndentationError|Unexpected token|parse error", re.IGNORECASE),
        "The source does not parse: fix the syntax at the reported file and line.",
    ),
    _Cause(
        "assertion",
        re.compile(r"AssertionError|\bassert\b|expected .* (?:to|but)|Expected:|toBe|toEqual"),
        "An assertion failed: the code returns something other than the test expects; compare the "
        "expected and actual values shown and fix whichever side is wrong.",
    ),
    _Cause(
        "type",
        re.compile(r"TypeError|AttributeError|NoneType|undefined is not|is not a function"),
        "A value has the wrong type (often None/undefined where an object was expected): check the "
        "call at the reported line and the value passed into it.",
    ),
    _Cause(
        "lookup",
        re.compile(r"KeyError|IndexError|out of range|index out of bounds"),
        "A lookup used a key or index that is not there: check the input data and guard the access.",
    ),
    _Cause(
        "timeout",
        re.compile(r"Timeout|timed out|deadline exceeded", re.IGNORECASE),
        "Something took too long: look for a hung call or loop, or raise the stage timeout.",
    ),
    _Cause(
        "network",
        re.compile(
            # errno names are matched case-sensitively: "ENOTFOUND" must not hit "ModuleNotFoundError".
            r"(?i:Connection ?refused|ConnectionError|Network is unreachable|Name or service not known)"
            r"|getaddrinfo|\bECONNREFUSED\b|\bENOTFOUND\b|\bEAI_AGAIN\b",
        ),
        "A network call failed: sandboxed scripts have no network, so fetch the data in an earlier "
        "stage and pass it in, or stub the service in tests.",
    ),
    _Cause(
        "permission",
        re.compile(r"(?i:PermissionError|Permission denied|Read-only file system)|\bEACCES\b|\bEROFS\b"),
        "A write or exec was denied: the sandbox root is read-only; write under the working "
        "directory or /tmp.",
    ),
    _Cause(
        "memory",
        re.compile(r"MemoryError|out of memory|\bOOM\b|\bKilled\b|heap out of memory", re.IGNORECASE),
        "The process ran out of memory: process the input in smaller pieces or raise the memory limit.",
    ),
    _Cause(
        "missing file",
        re.compile(r"(?i:FileNotFoundError|No such file or directory)|\bENOENT\b"),
        "A file is missing: check paths relative to the working directory and that an earlier stage "
        "produced it.",
    ),
)


@dataclass
class _FailureReport:
    failures: list[dict[str, str]] = field(default_factory=list)
    causes: list[_Cause] = field(default_factory=list)
    evidence: list[str] = field(default_factory=list)
    summary_line: str = ""
    exit_code: int | None = None

    @property
    def failed(self) -> bool:
        return bool(self.failures or self.evidence) or (self.exit_code not in (None, 0))


# --- the provider ----------------------------------------------------------------------------------


class BuiltinProvider:
    """The in-process model. Stateless; safe to share between requests and event loops."""

    name = BUILTIN_PROVIDER

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock

    async def complete(
        self, model: ModelInfo, request: CompletionRequest, credentials: ProviderCredentials | None
    ) -> CompletionResult:
        started = self._clock()
        text = respond(request.messages, json_output=request.json_output, model_id=model.id)
        text, truncated = truncate_tokens(text, request.max_output_tokens)
        input_tokens = count_message_tokens(request.messages)
        output_tokens = count_tokens(text)
        return CompletionResult(
            text=text,
            model=model.id,
            provider=self.name,
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            cost_usd_micros=model.cost_usd_micros(input_tokens, output_tokens),
            latency_ms=int((self._clock() - started) * 1000),
            finish_reason=FINISH_LENGTH if truncated else FINISH_STOP,
        )


def respond(messages: Sequence[ChatMessage], *, json_output: bool, model_id: str = "builtin-small") -> str:
    """The builtin model's full (untruncated) answer to ``messages``."""
    system = "\n".join(m.content for m in messages if m.role == "system")
    user_messages = [m.content for m in messages if m.role == "user"]
    last_user = user_messages[-1] if user_messages else ""
    head = (system + "\n" + last_user[:_INSTRUCTION_HEAD_CHARS]).lower()
    subject = _subject(last_user)

    if _FAILURE_ROLE.search(head) or (
        _ANALYSE_WORDS.search(head) and _FAILURE_WORDS.search("\n".join(user_messages))
    ):
        # The instruction line itself ("why did this fail?") is not evidence; earlier user messages
        # and the material under the instruction are.
        report = _analyse_failures("\n".join([*user_messages[:-1], subject]))
        analysis = _failure_fields(report)
        text = _failure_text(report, model_id)
    elif _SUMMARY_WORDS.search(head):
        analysis = _text_fields(subject)
        text = analysis["summary"] or "(nothing to summarise)"
    elif _KEYWORD_WORDS.search(head):
        analysis = _text_fields(subject)
        text = ", ".join(analysis["keywords"]) or "(no keywords)"
    else:
        analysis = {"echo": last_user, **_text_fields(last_user)}
        text = f"Echo: {last_user}"

    if not json_output:
        return text
    template = _json_template(system + "\n" + last_user[: _INSTRUCTION_HEAD_CHARS * 5])
    if template is not None:
        return json.dumps(_fill_template(template, analysis, bool(subject.strip())), ensure_ascii=False)
    return json.dumps(analysis, ensure_ascii=False)


# --- text tasks ------------------------------------------------------------------------------------


def _subject(message: str) -> str:
    """The material an instruction refers to: what follows the instruction line, if there is one."""
    stripped = message.strip()
    first_break = re.search(r":\s*\n|\n\s*\n", stripped)
    if first_break and first_break.start() <= _INSTRUCTION_HEAD_CHARS:
        # Only a first paragraph that reads like an instruction is split off; otherwise the
        # instruction lives in the system prompt and the whole message is material.
        instruction = stripped[: first_break.start()].lower()
        rest = stripped[first_break.end() :].strip()
        if rest and any(p.search(instruction) for p in _INSTRUCTION_WORDS):
            return _unfence(rest)
    colon = _INLINE_INSTRUCTION.match(stripped)
    if colon:
        return _unfence(colon.group(1).strip())
    return _unfence(stripped)


def _unfence(text: str) -> str:
    fenced = re.match(r"^```[\w-]*\n(.*?)\n?```$", text, re.DOTALL)
    return fenced.group(1) if fenced else text


def _content_words(text: str) -> list[str]:
    words = (w.lower() for w in _WORD.findall(text))
    return [w for w in words if len(w) > 2 and w not in _STOPWORDS]


def _keywords(text: str) -> list[str]:
    counts = Counter(_content_words(text))
    first_seen: dict[str, int] = {}
    for index, word in enumerate(_content_words(text)):
        first_seen.setdefault(word, index)
    ranked = sorted(counts, key=lambda w: (-counts[w], first_seen[w]))
    return ranked[:_MAX_KEYWORDS]


def _sentences(text: str) -> list[str]:
    return [" ".join(s.split()) for s in _SENTENCE_END.split(text) if s.strip()]


def _summary(text: str) -> str:
    sentences = _sentences(text)
    if len(sentences) <= 1:
        return sentences[0] if sentences else ""
    keep = 1 if len(sentences) <= 3 else 2 if len(sentences) <= 8 else 3
    frequency = Counter(_content_words(text))

    def score(sentence: str) -> int:
        words = set(_content_words(sentence))
        # Integer arithmetic keeps the ranking identical on every platform; the divisor stops long
        # sentences winning just by being long.
        return sum(frequency[w] for w in words) * 1000 // (len(words) + 4)

    ranked = sorted(range(len(sentences)), key=lambda i: (-score(sentences[i]), i))
    chosen = sorted(ranked[:keep])
    return " ".join(sentences[i] for i in chosen)


def _title(text: str) -> str:
    sentences = _sentences(text)
    if not sentences:
        return ""
    words = sentences[0].rstrip(".!?").split()
    return " ".join(words[:8]) + ("…" if len(words) > 8 else "")


def _text_fields(text: str) -> dict[str, Any]:
    return {
        "summary": _summary(text),
        "keywords": _keywords(text),
        "word_count": len(text.split()),
    }


# --- failure analysis ------------------------------------------------------------------------------


def _analyse_failures(text: str) -> _FailureReport:
    report = _FailureReport()
    seen: set[str] = set()

    def add_failure(target: str, reason: str) -> None:
        key = target + "\x00" + reason
        if key not in seen and len(report.failures) < _MAX_FAILURES:
            seen.add(key)
            report.failures.append({"test": target, "reason": reason})

    # jest prints "FAIL <file>" and then one cross per failing test in it.
    jest_file = ""
    jest_files_without_tests: list[str] = []
    for raw in text.splitlines():
        line = raw.rstrip()
        if not line.strip():
            continue
        if m := _PYTEST_LINE.match(line):
            add_failure(m.group(1), m.group(2) or "")
        elif m := _GO_FAIL.match(line):
            add_failure(m.group(1), "")
        elif m := _JEST_FILE.match(line):
            jest_file = m.group(1)
            jest_files_without_tests.append(jest_file)
        elif m := _JEST_CROSS.match(line):
            name = m.group(1).strip()
            if jest_file:
                if jest_file in jest_files_without_tests:
                    jest_files_without_tests.remove(jest_file)
                name = f"{jest_file} > {name}"
            add_failure(name, "")
        elif m := _COMPILER_ERROR.match(line.strip()):
            add_failure(f"{m.group(1)}:{m.group(2)}", m.group(3))
        elif _NPM_ERR.match(line.strip()):
            _add_evidence(report, line)
        elif m := _PYTEST_SUMMARY.match(line.strip()):
            report.summary_line = m.group(1)
        elif _is_evidence(line):
            _add_evidence(report, line)
        if m := _EXIT_CODE.search(line):
            report.exit_code = int(m.group(1))
        for cause in _CAUSES:
            if cause not in report.causes and cause.pattern.search(line):
                report.causes.append(cause)
    for path in jest_files_without_tests:
        add_failure(path, "")
    # Tracebacks alone (a script crash, no test runner) still name the failure by its exception.
    if not report.failures:
        for line in report.evidence:
            if m := _EXCEPTION_LINE.match(line.strip()):
                add_failure(m.group(1), m.group(2))
    return report


def _is_evidence(line: str) -> bool:
    if not line.startswith(" ") and _EXCEPTION_LINE.match(line.strip()):
        return True  # the final line of a traceback, or pytest's "E   SomeError: ..."
    if _BANNER.match(line):
        return False
    return line.lstrip().startswith("E ") or _GENERIC_FAILURE.search(line) is not None


def _add_evidence(report: _FailureReport, line: str) -> None:
    line = line.strip()
    if line not in report.evidence and len(report.evidence) < _MAX_EVIDENCE:
        report.evidence.append(line)


def _failure_fields(report: _FailureReport) -> dict[str, Any]:
    return {
        "verdict": "failed" if report.failed else "passed",
        "failure_count": len(report.failures),
        "failures": report.failures,
        "causes": [c.name for c in report.causes],
        "suggestions": [c.advice for c in report.causes],
        "evidence": report.evidence,
        "exit_code": report.exit_code,
        "passed": not report.failed,
        "failed": report.failed,
        "summary": _failure_headline(report),
    }


def _failure_headline(report: _FailureReport) -> str:
    if not report.failed:
        return "No failures found in the provided output."
    count = len(report.failures)
    noun = "failure" if count == 1 else "failures"
    causes = ", ".join(c.name for c in report.causes) or "unclassified"
    return f"{count} {noun} found; likely cause: {causes}."


def _failure_text(report: _FailureReport, model_id: str) -> str:
    lines = [f"Failure analysis ({model_id}, deterministic)", f"Verdict: {_failure_headline(report)}"]
    if report.summary_line:
        lines.append(f"Runner summary: {report.summary_line}")
    if report.exit_code is not None:
        lines.append(f"Exit code: {report.exit_code}")
    if report.failures:
        lines.append("Failures:")
        for failure in report.failures:
            reason = f" — {failure['reason']}" if failure["reason"] else ""
            lines.append(f"- {failure['test']}{reason}")
    if report.causes:
        lines.append("Likely causes and next steps:")
        lines.extend(f"- {c.name}: {c.advice}" for c in report.causes)
    if report.evidence:
        lines.append("Evidence:")
        lines.extend(f"  {line}" for line in report.evidence)
    return "\n".join(lines)


# --- JSON templates --------------------------------------------------------------------------------

_KEY_ALIASES = {
    "tags": "keywords",
    "topics": "keywords",
    "key_terms": "keywords",
    "keyterms": "keywords",
    "tldr": "summary",
    "abstract": "summary",
    "description": "summary",
    "answer": "summary",
    "analysis": "summary",
    "words": "word_count",
    "length": "word_count",
    "status": "verdict",
    "success": "passed",
    "ok": "passed",
    "has_failures": "failed",
    "result": "verdict",
    "errors": "failures",
    "failed_tests": "failures",
    "root_cause": "causes",
    "root_causes": "causes",
    "fixes": "suggestions",
    "recommendations": "suggestions",
    "next_steps": "suggestions",
}


def _json_template(text: str) -> dict[str, Any] | None:
    """The first JSON object literal in the instruction, if any."""
    decoder = json.JSONDecoder()
    for match in re.finditer(r"\{", text):
        try:
            value, _ = decoder.raw_decode(text, match.start())
        except ValueError:
            continue
        if isinstance(value, dict) and value:
            return value
    return None


def _fill_template(
    template: Mapping[str, Any], analysis: Mapping[str, Any], has_input: bool
) -> dict[str, Any]:
    summary = analysis.get("summary", "")
    filled: dict[str, Any] = {}
    for key, example in template.items():
        normalised = re.sub(r"[^a-z0-9]+", "_", key.lower()).strip("_")
        known = _KEY_ALIASES.get(normalised, normalised)
        if known == "title":
            filled[key] = _title(str(analysis.get("echo") or summary))
        elif known in analysis:
            filled[key] = _coerce(analysis[known], example)
        elif isinstance(example, dict):
            filled[key] = _fill_template(example, analysis, has_input)
        elif isinstance(example, bool):
            filled[key] = has_input
        elif isinstance(example, int | float):
            filled[key] = analysis.get("word_count", analysis.get("failure_count", 0))
        elif isinstance(example, list):
            filled[key] = list(analysis.get("keywords", analysis.get("causes", [])))
        elif isinstance(example, str):
            filled[key] = summary
        else:
            filled[key] = None
    return filled


def _coerce(value: Any, example: object) -> Any:
    """``value`` in the JSON type the template shows for its key, so callers can rely on the schema."""
    if example is None or (isinstance(value, type(example)) and not isinstance(value, bool)):
        return value
    if isinstance(example, bool):
        return bool(value)
    if isinstance(example, str):
        if isinstance(value, list):
            return ", ".join(v if isinstance(v, str) else json.dumps(v, ensure_ascii=False) for v in value)
        return "" if value is None else str(value)
    if isinstance(example, int | float):
        if isinstance(value, list | str):
            return len(value)
        return value if isinstance(value, int | float) and not isinstance(value, bool) else int(bool(value))
    if isinstance(example, list):
        return [] if value in (None, "") else [value]
    return value
