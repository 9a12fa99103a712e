"""One attempt of one stage, by kind.

* agent: the prompt (prompt_template, then the stage's `input` below it), the system prompt, and the
  model or capability with its routing strategy go to the model router. The answer is the output:
  text, or with `output_format: json` the parsed JSON value (an answer that is not JSON fails the
  attempt). Every provider call the router makes becomes a provider_attempt event.
* script: the script runs in the sandbox, in the run's working directory (or `working_directory`
  below it), with the stage's `input` on stdin and its `env`. stdout and stderr become log events
  line by line as they are written. The output is stdout as text (one trailing newline removed), or
  with `output_format: json` the parsed JSON value. A non-zero exit fails the attempt.
* hybrid: a script; when its last attempt fails, a model analyses the failure (agent_role
  analyze_failures). The stage still fails, and its output is the analysis.
* skill: the stage's `payload` (every string in it filled in; a lone `${name}` keeps its JSON type)
  goes to the skill's `operation` through the skill proxy, on the run owner's behalf: the owner's
  licence, rate limit, budgets and money, exactly as an ExecuteSkill call of the owner's, with the
  stage's timeout. The skill's answer is the output. The idempotency key is the run and stage, so a
  run taken over by another worker after the call succeeded gets the first answer again and is
  not charged twice; a failed call remembers nothing and a retry calls again.

`${name}` references are filled in with daemon_spec.render from the inputs and earlier outputs.
"""

from __future__ import annotations

import codecs
import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from agentos_server.domain.daemon_spec import StageSpec, render, render_value
from agentos_server.domain.errors import Code, DomainError
from agentos_server.domain.execution.costs import CostModel
from agentos_server.domain.execution.events import LOG, PROVIDER_ATTEMPT
from agentos_server.domain.execution.model import AttemptResult, Cost, StageProgress, StageState
from agentos_server.infra.providers import (
    Attempt,
    ChatMessage,
    CompletionRequest,
    CredentialResolver,
    ModelRouter,
    ProviderError,
)
from agentos_server.infra.sandbox import Sandbox, SandboxLimits, SandboxResult, ScriptSpec, StreamName

SKILL_NOT_AVAILABLE = "skill stages need the skill proxy, which this process was built without"
# Failures of a skill call that another attempt cannot fix: the call itself is wrong or not allowed.
_FINAL_SKILL_CODES = frozenset(
    {
        Code.INVALID_ARGUMENT,
        Code.NOT_FOUND,
        Code.PERMISSION_DENIED,
        Code.FAILED_PRECONDITION,
        Code.UNAUTHENTICATED,
    }
)
ANALYSIS_SYSTEM_PROMPT = (
    "You are the analyze_failures agent of an AgentOS hybrid stage. A script failed; diagnose why "
    "from its output, name the likely cause and the next step."
)
# One log event carries at most this much of a line; longer lines continue in the next event.
MAX_LOG_LINE_CHARS = 16 * 1024
# Log events per stage attempt; the rest of the output is still captured, just not as events.
MAX_LOG_EVENTS = 10_000
# How much of a failed script's output the analysing model sees.
ANALYSIS_TAIL_BYTES = 8 * 1024

Emit = Callable[[str, dict[str, Any]], None]


@dataclass(frozen=True)
class SkillAnswer:
    value: Any
    # What the call charged the owner, in the skill's asset ("" and 0 for units and free calls).
    cost_asset: str = ""
    cost_amount: int = 0


class SkillCaller(Protocol):
    """The skill proxy, seen from a skill stage (wired in proxy_setup.py)."""

    async def call_skill(
        self,
        owner_id: str,
        execution_id: str,
        stage: str,
        skill: str,
        operation: str,
        payload: Any,
        timeout_seconds: float,
    ) -> SkillAnswer:
        """The skill's answer; a DomainError when the call was refused or failed."""
        ...


@dataclass
class AttemptContext:
    execution_id: str
    stage: StageSpec
    values: Mapping[str, Any]
    run_dir: Path
    progress: StageProgress
    emit: Emit
    # Seconds this attempt may take (the stage timeout, or less when the run deadline is nearer).
    timeout_seconds: float
    final_attempt: bool
    # The agent that started the run: its provider keys answer model calls, its licences and money
    # pay for skill calls.
    owner_id: str = ""


class StageRunner:
    def __init__(
        self,
        sandbox: Callable[[], Sandbox],
        router: ModelRouter,
        credentials: Callable[[str], CredentialResolver],
        costs: CostModel,
        skills: SkillCaller | None = None,
    ) -> None:
        self._sandbox = sandbox
        self._router = router
        # Run owner -> the provider credentials of that owner's runs (its own keys, then the
        # platform's); never shared between owners.
        self._credentials = credentials
        self._costs = costs
        self._skills = skills

    async def attempt(self, ctx: AttemptContext) -> AttemptResult:
        kind = ctx.stage.kind
        try:
            if kind == "agent":
                return await self._agent(ctx)
            if kind == "script":
                return (await self._script(ctx))[0]
            if kind == "hybrid":
                return await self._hybrid(ctx)
            return await self._skill(ctx)
        except _RenderError as error:
            return AttemptResult("failed", error=str(error), retryable=False)

    # --- agent ----------------------------------------------------------------------------------

    async def _agent(self, ctx: AttemptContext) -> AttemptResult:
        stage = ctx.stage
        parts = [
            _render(stage.prompt, ctx.values, "prompt_template"),
            _render(stage.input, ctx.values, "input"),
        ]
        user = "\n\n".join(p for p in parts if p)
        messages = []
        if stage.system:
            messages.append(ChatMessage("system", _render(stage.system, ctx.values, "system")))
        messages.append(ChatMessage("user", user))
        text, error = await self._complete(ctx, messages, json_output=stage.output_format == "json")
        if error:
            return AttemptResult("failed", error=error)
        return _model_output(text, stage.output_format)

    async def _complete(
        self, ctx: AttemptContext, messages: list[ChatMessage], *, json_output: bool
    ) -> tuple[str, str]:
        """The answer text, or an error; the call's cost is added to the stage's progress."""
        stage = ctx.stage
        request = CompletionRequest(
            messages,
            model=stage.model,
            capability=stage.capability,
            strategy=stage.routing,
            max_output_tokens=stage.max_tokens,
            temperature=stage.temperature,
            json_output=json_output,
            timeout_seconds=max(1.0, ctx.timeout_seconds),
        )

        async def record(attempt: Attempt) -> None:
            ctx.emit(
                PROVIDER_ATTEMPT,
                {
                    "stage": stage.name,
                    "provider": attempt.provider,
                    "model": attempt.model,
                    "outcome": attempt.outcome,
                    "error": attempt.error,
                    "latency_ms": attempt.latency_ms,
                },
            )

        try:
            result = await self._router.complete(request, self._credentials(ctx.owner_id), on_attempt=record)
        except ProviderError as error:
            return "", f"model call failed ({error.kind}): {error}"
        ctx.progress.model = result.model
        ctx.progress.cost = ctx.progress.cost + Cost(
            input_tokens=result.input_tokens,
            output_tokens=result.output_tokens,
            credits=self._costs.model_credits(result.cost_usd_micros),
            usd_micros=result.cost_usd_micros,
        )
        if result.finish_reason == "length":
            _system_line(ctx, f"the answer was cut at max_tokens ({stage.max_tokens})")
        return result.text, ""

    # --- skill ----------------------------------------------------------------------------------

    async def _skill(self, ctx: AttemptContext) -> AttemptResult:
        if self._skills is None:
            return AttemptResult("failed", error=SKILL_NOT_AVAILABLE, retryable=False)
        stage = ctx.stage
        try:
            payload = render_value(stage.payload, ctx.values)
        except KeyError as error:
            raise _RenderError(f"cannot fill in payload: {error.args[0]}") from None
        try:
            answer = await self._skills.call_skill(
                ctx.owner_id,
                ctx.execution_id,
                stage.name,
                stage.skill or "",
                stage.operation or "",
                payload,
                max(0.001, ctx.timeout_seconds),
            )
        except DomainError as error:
            state: StageState = "timed_out" if error.code is Code.DEADLINE_EXCEEDED else "failed"
            return AttemptResult(
                state,
                error=f"skill call refused or failed ({error.reason}): {error.message}",
                retryable=error.code not in _FINAL_SKILL_CODES,
            )
        if answer.cost_asset == "USDC":
            ctx.progress.cost = ctx.progress.cost + Cost(usd_micros=answer.cost_amount)
        return AttemptResult("succeeded", output=answer.value, has_output=True)

    # --- script ---------------------------------------------------------------------------------

    async def _script(self, ctx: AttemptContext) -> tuple[AttemptResult, SandboxResult | None]:
        stage = ctx.stage
        assert stage.runtime is not None
        source = _render(stage.script, ctx.values, "script")
        stdin = _render(stage.input, ctx.values, "input").encode()
        env = {name: _render(value, ctx.values, f"env.{name}") for name, value in stage.env.items()}
        workdir, problem = stage_workdir(
            ctx.run_dir, _render(stage.working_directory, ctx.values, "working_directory")
        )
        if problem:
            return AttemptResult("failed", error=problem, retryable=False), None
        timeout = max(0.1, ctx.timeout_seconds)
        limits = SandboxLimits(wall_clock_seconds=timeout, cpu_seconds=max(1, math.ceil(timeout)))
        lines = _LogLines(ctx)
        result = await self._sandbox().run(
            ScriptSpec(
                runtime=stage.runtime, source=source, workdir=workdir, stdin=stdin, env=env, limits=limits
            ),
            on_output=lines.feed,
        )
        lines.finish()
        ctx.progress.exit_code = result.exit_code
        ctx.progress.cost = ctx.progress.cost + Cost(credits=self._costs.script_credits(result.duration_ms))
        return _script_outcome(result, stage, timeout), result

    async def _hybrid(self, ctx: AttemptContext) -> AttemptResult:
        outcome, result = await self._script(ctx)
        if outcome.state == "succeeded" or result is None or not ctx.final_attempt:
            return outcome
        stage = ctx.stage
        messages = [ChatMessage("system", ANALYSIS_SYSTEM_PROMPT)]
        if stage.system:
            messages.append(ChatMessage("system", _render(stage.system, ctx.values, "system")))
        messages.append(ChatMessage("user", _failure_report(stage, ctx, result, outcome.error)))
        text, error = await self._complete(ctx, messages, json_output=stage.output_format == "json")
        if error:
            return AttemptResult(
                outcome.state, error=f"{outcome.error}; the failure analysis failed too: {error}"
            )
        analysis = _model_output(text, stage.output_format)
        return AttemptResult(
            outcome.state,
            output=analysis.output if analysis.has_output else text,
            has_output=True,
            error=f"{outcome.error}; the output holds the model's analysis of the failure",
        )


class _RenderError(Exception):
    pass


def _render(template: str | None, values: Mapping[str, Any], field: str) -> str:
    if not template:
        return ""
    try:
        return render(template, values)
    except KeyError as error:
        raise _RenderError(f"cannot fill in {field}: {error.args[0]}") from None


def _model_output(text: str, output_format: str) -> AttemptResult:
    if output_format != "json":
        return AttemptResult("succeeded", output=text, has_output=True)
    try:
        return AttemptResult("succeeded", output=json.loads(text), has_output=True)
    except ValueError as error:
        return AttemptResult("failed", error=f"the model's answer is not JSON ({error}): {text[:200]!r}")


def _script_outcome(result: SandboxResult, stage: StageSpec, timeout: float) -> AttemptResult:
    if result.outcome == "exited" and result.exit_code == 0:
        text = result.stdout.decode(errors="replace")
        if text.endswith("\n"):
            text = text[:-1]
        if stage.output_format != "json":
            return AttemptResult("succeeded", output=text, has_output=True)
        try:
            return AttemptResult("succeeded", output=json.loads(text), has_output=True)
        except ValueError as error:
            return AttemptResult("failed", error=f"stdout is not JSON ({error}): {text[:200]!r}")
    if result.outcome == "timed_out":
        return AttemptResult("timed_out", error=f"the script was killed after {timeout:g} s")
    if result.outcome == "exited":
        last = _last_line(result.stderr) or _last_line(result.stdout)
        detail = f" ({result.detail})" if result.detail else ""
        return AttemptResult(
            "failed",
            error=f"the script exited with code {result.exit_code}{detail}" + (f": {last}" if last else ""),
        )
    if result.outcome == "output_limit":
        return AttemptResult("failed", error=f"the script's output was too large: {result.detail}")
    if result.outcome == "cancelled":
        return AttemptResult("cancelled", error="cancelled")
    return AttemptResult("failed", error=f"the script could not start: {result.detail}", retryable=False)


def _last_line(data: bytes) -> str:
    for line in reversed(data.decode(errors="replace").splitlines()):
        if line.strip():
            return line.strip()[:500]
    return ""


def _tail(data: bytes) -> str:
    text = data[-ANALYSIS_TAIL_BYTES:].decode(errors="replace")
    return text if len(data) <= ANALYSIS_TAIL_BYTES else "…" + text


def _failure_report(stage: StageSpec, ctx: AttemptContext, result: SandboxResult, error: str) -> str:
    return (
        f"Analyse why the {stage.runtime} script of stage '{stage.name}' failed: {error}.\n"
        f"Exit code: {result.exit_code if result.exit_code is not None else 'none (killed)'}.\n\n"
        f"Script:\n{_render(stage.script, ctx.values, 'script')[:ANALYSIS_TAIL_BYTES]}\n\n"
        f"stdout:\n{_tail(result.stdout)}\n\nstderr:\n{_tail(result.stderr)}\n"
    )


def _system_line(ctx: AttemptContext, text: str) -> None:
    ctx.emit(LOG, {"stage": ctx.stage.name, "stream": "system", "text": text})


def stage_workdir(run_dir: Path, relative: str) -> tuple[Path, str]:
    """The directory a script stage runs in: the run's own, or a directory below it that is created
    on demand. A symbolic link on the way is refused, since an earlier stage could have planted one
    pointing anywhere on the host."""
    if not relative:
        return run_dir, ""
    parts = Path(relative).parts
    if Path(relative).is_absolute() or ".." in parts:
        return run_dir, f"working_directory {relative!r} must be a relative path inside the run's directory"
    current = run_dir
    for part in parts:
        current = current / part
        if current.is_symlink():
            return run_dir, f"working_directory {relative!r} passes through a symbolic link"
        if not current.exists():
            current.mkdir(mode=0o755)
        elif not current.is_dir():
            return run_dir, f"working_directory {relative!r} is not a directory"
    return current, ""


class _LogLines:
    """Turns a script's output chunks into one log event per line, as they arrive."""

    def __init__(self, ctx: AttemptContext) -> None:
        self._ctx = ctx
        self._decoders = {
            "stdout": codecs.getincrementaldecoder("utf-8")("replace"),
            "stderr": codecs.getincrementaldecoder("utf-8")("replace"),
        }
        self._partial: dict[str, str] = {"stdout": "", "stderr": ""}
        self._count = 0

    async def feed(self, stream: StreamName, chunk: bytes) -> None:
        text = self._partial[stream] + self._decoders[stream].decode(chunk)
        *lines, rest = text.split("\n")
        for line in lines:
            self._line(stream, line)
        while len(rest) > MAX_LOG_LINE_CHARS:
            self._line(stream, rest[:MAX_LOG_LINE_CHARS])
            rest = rest[MAX_LOG_LINE_CHARS:]
        self._partial[stream] = rest

    def finish(self) -> None:
        for stream in ("stdout", "stderr"):
            rest = self._partial[stream] + self._decoders[stream].decode(b"", final=True)
            if rest:
                self._line(stream, rest)
            self._partial[stream] = ""

    def _line(self, stream: str, text: str) -> None:
        self._count += 1
        if self._count > MAX_LOG_EVENTS:
            if self._count == MAX_LOG_EVENTS + 1:
                _system_line(
                    self._ctx, f"more than {MAX_LOG_EVENTS} log lines: the rest is not streamed as events"
                )
            return
        while len(text) > MAX_LOG_LINE_CHARS:
            self._ctx.emit(
                LOG, {"stage": self._ctx.stage.name, "stream": stream, "text": text[:MAX_LOG_LINE_CHARS]}
            )
            text = text[MAX_LOG_LINE_CHARS:]
        self._ctx.emit(LOG, {"stage": self._ctx.stage.name, "stream": stream, "text": text})
