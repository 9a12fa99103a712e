"""agentos.execution.v1.ExecutionService: skill proxy, daemon runs, events, agent channel, models."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

from google.protobuf import json_format, struct_pb2, timestamp_pb2

from agentos.common.v1 import common_pb2
from agentos.execution.v1 import execution_pb2 as pb
from agentos.registry.v1 import registry_pb2
from agentos_server.api import context, values
from agentos_server.api.servicers import service, timestamp
from agentos_server.domain.errors import InvalidArgument
from agentos_server.domain.execution.events import RunEvent
from agentos_server.domain.execution.runs import RunService, RunView
from agentos_server.domain.models import list_models
from agentos_server.domain.provider_keys import (
    ANTHROPIC,
    GOOGLE,
    OPENAI,
    OPENAI_COMPATIBLE,
    ProviderKeyView,
)
from agentos_server.domain.proxy.channel import (
    AgentReply,
    ChannelMessage,
    Connection,
    OutgoingCall,
    OutgoingCancel,
)
from agentos_server.domain.proxy.dispatch import AGENT_CHANNEL, HOSTED_SCRIPT, HTTPS
from agentos_server.domain.proxy.service import ExecuteRequest
from agentos_server.domain.proxy.usage import BUYER, FAILED, REJECTED, SELLER, SUCCEEDED, TIMED_OUT, UsageView
from agentos_server.infra.providers import ModelInfo
from agentos_server.infra.tables.execution import ExecutionRow, ExecutionStageRow
from agentos_server.proxy_setup import ProxyRuntime

log = logging.getLogger("agentos.channel")

Ctx = Any

RUN_STATES = {
    "queued": pb.EXECUTION_STATE_QUEUED,
    "running": pb.EXECUTION_STATE_RUNNING,
    "succeeded": pb.EXECUTION_STATE_SUCCEEDED,
    "failed": pb.EXECUTION_STATE_FAILED,
    "timed_out": pb.EXECUTION_STATE_TIMED_OUT,
    "cancelled": pb.EXECUTION_STATE_CANCELLED,
}
_RUN_STATE_NAMES = {value: key for key, value in RUN_STATES.items()}
STAGE_STATES = {
    "pending": pb.STAGE_STATE_PENDING,
    "running": pb.STAGE_STATE_RUNNING,
    "succeeded": pb.STAGE_STATE_SUCCEEDED,
    "failed": pb.STAGE_STATE_FAILED,
    "timed_out": pb.STAGE_STATE_TIMED_OUT,
    "cancelled": pb.STAGE_STATE_CANCELLED,
    "skipped": pb.STAGE_STATE_SKIPPED,
}
STAGE_KINDS = {
    "agent": registry_pb2.STAGE_KIND_AGENT,
    "script": registry_pb2.STAGE_KIND_SCRIPT,
    "hybrid": registry_pb2.STAGE_KIND_HYBRID,
    "skill": registry_pb2.STAGE_KIND_SKILL,
}
LOG_STREAMS = {"stdout": pb.LOG_STREAM_STDOUT, "stderr": pb.LOG_STREAM_STDERR, "system": pb.LOG_STREAM_SYSTEM}


def to_value(value: Any) -> struct_pb2.Value:
    message = struct_pb2.Value()
    if value is None:
        message.null_value = struct_pb2.NULL_VALUE
    elif isinstance(value, bool):
        message.bool_value = value
    elif isinstance(value, int | float):
        message.number_value = value
    elif isinstance(value, str):
        message.string_value = value
    elif isinstance(value, dict):
        message.struct_value.update(value)
    elif isinstance(value, list):
        message.list_value.extend(value)
    else:
        message.string_value = str(value)
    return message


def cost_to_proto(input_tokens: int, output_tokens: int, credits: int, usd_micros: int) -> pb.Cost:
    return pb.Cost(
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        credits=credits,
        usd=common_pb2.Money(asset="USDC", amount=usd_micros),
    )


def _cost_data(data: dict[str, Any]) -> pb.Cost:
    return cost_to_proto(
        int(data.get("input_tokens", 0)),
        int(data.get("output_tokens", 0)),
        int(data.get("credits", 0)),
        int(data.get("usd_micros", 0)),
    )


def stage_to_proto(execution_id: str, row: ExecutionStageRow) -> pb.StageRun:
    message = pb.StageRun(
        name=row.name,
        kind=STAGE_KINDS.get(row.kind, registry_pb2.STAGE_KIND_UNSPECIFIED),
        state=STAGE_STATES.get(row.state, pb.STAGE_STATE_UNSPECIFIED),
        start_time=timestamp(row.started_at),
        end_time=timestamp(row.ended_at),
        duration_ms=row.duration_ms,
        cost=cost_to_proto(row.input_tokens, row.output_tokens, row.credits, row.usd_micros),
        error=row.error,
        attempts=row.attempts,
        model=row.model,
        exit_code=row.exit_code or 0,
    )
    if row.output is not None:
        message.output.CopyFrom(to_value(row.output.get("value")))
    if row.output_artifact:
        message.output_artifact = f"executions/{execution_id}/artifacts/{row.output_artifact}"
    return message


def execution_to_proto(view: RunView) -> pb.Execution:
    row: ExecutionRow = view.execution
    message = pb.Execution(
        name=f"executions/{row.id}",
        daemon=f"daemons/{row.daemon_id}",
        daemon_version=row.daemon_version,
        owner=f"agents/{row.owner_id}",
        state=RUN_STATES[row.state],
        stages=[stage_to_proto(row.id, s) for s in view.stages],
        total_cost=cost_to_proto(row.input_tokens, row.output_tokens, row.credits, row.usd_micros),
        error=row.error,
        hold=row.hold,
        last_sequence=row.last_sequence,
        worker=row.worker,
        attempts=row.attempts,
        create_time=timestamp(row.created_at),
        start_time=timestamp(row.started_at),
        end_time=timestamp(row.ended_at),
    )
    message.inputs.update(row.inputs)
    return message


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def _event_time(value: datetime) -> timestamp_pb2.Timestamp:
    # Timestamp.FromDatetime costs more than the rest of an event's conversion; replays convert
    # thousands of events a second.
    seconds, micros = divmod((value - _EPOCH) // _MICROSECOND, 1_000_000)
    return timestamp_pb2.Timestamp(seconds=seconds, nanos=micros * 1000)


def event_to_proto(event: RunEvent) -> pb.ExecutionEvent:
    data = event.data
    message = pb.ExecutionEvent(
        execution=f"executions/{event.execution_id}", sequence=event.sequence, time=_event_time(event.time)
    )
    kind = event.kind
    if kind == "log":
        message.log.stage = data["stage"]
        message.log.stream = LOG_STREAMS.get(data["stream"], pb.LOG_STREAM_UNSPECIFIED)
        message.log.text = data["text"]
    elif kind == "stage_started":
        message.stage_started.stage = data["stage"]
        message.stage_started.kind = STAGE_KINDS.get(data["kind"], registry_pb2.STAGE_KIND_UNSPECIFIED)
        message.stage_started.attempt = data["attempt"]
    elif kind == "stage_finished":
        finished = message.stage_finished
        finished.stage = data["stage"]
        finished.state = STAGE_STATES.get(data["state"], pb.STAGE_STATE_UNSPECIFIED)
        finished.duration_ms = data["duration_ms"]
        finished.error = data["error"]
    elif kind == "stage_output":
        message.stage_output.stage = data["stage"]
        if "artifact" in data:
            message.stage_output.output_artifact = data["artifact"]
        else:
            message.stage_output.output.CopyFrom(to_value(data.get("output")))
    elif kind == "cost":
        message.cost.stage = data["stage"]
        message.cost.cost.CopyFrom(_cost_data(data["cost"]))
        message.cost.total.CopyFrom(_cost_data(data["total"]))
    elif kind == "state_changed":
        message.state_changed.state = RUN_STATES.get(data["state"], pb.EXECUTION_STATE_UNSPECIFIED)
        message.state_changed.error = data["error"]
    elif kind == "provider_attempt":
        attempt = message.provider_attempt
        attempt.stage = data["stage"]
        attempt.provider = data["provider"]
        attempt.model = data["model"]
        attempt.outcome = data["outcome"]
        attempt.error = data["error"]
        attempt.latency_ms = data["latency_ms"]
    return message


_TARGETS = {
    HTTPS: pb.DISPATCH_TARGET_HTTPS,
    HOSTED_SCRIPT: pb.DISPATCH_TARGET_HOSTED_SCRIPT,
    AGENT_CHANNEL: pb.DISPATCH_TARGET_AGENT_CHANNEL,
}
_OUTCOMES = {
    SUCCEEDED: pb.CALL_OUTCOME_SUCCEEDED,
    FAILED: pb.CALL_OUTCOME_FAILED,
    TIMED_OUT: pb.CALL_OUTCOME_TIMED_OUT,
    REJECTED: pb.CALL_OUTCOME_REJECTED,
}
_PROVIDERS = {
    pb.PROVIDER_OPENAI: OPENAI,
    pb.PROVIDER_ANTHROPIC: ANTHROPIC,
    pb.PROVIDER_GOOGLE: GOOGLE,
    pb.PROVIDER_OPENAI_COMPATIBLE: OPENAI_COMPATIBLE,
}
_PROVIDER_PROTO = {name: enum for enum, name in _PROVIDERS.items()} | {"builtin": pb.PROVIDER_BUILTIN}
_ROLES = {pb.USAGE_ROLE_UNSPECIFIED: BUYER, pb.USAGE_ROLE_BUYER: BUYER, pb.USAGE_ROLE_SELLER: SELLER}


def usage_to_proto(view: UsageView) -> pb.UsageRecord:
    return pb.UsageRecord(
        name=view.name,
        skill=f"skills/{view.skill_id}",
        skill_version=view.skill_version,
        buyer=f"agents/{view.buyer_id}",
        seller=f"agents/{view.seller_id}",
        license=f"licenses/{view.license_id}" if view.license_id else "",
        operation=view.operation,
        target=_TARGETS.get(view.target, pb.DISPATCH_TARGET_UNSPECIFIED),
        request_bytes=view.request_bytes,
        response_bytes=view.response_bytes,
        duration_ms=view.duration_ms,
        cost=common_pb2.Money(asset=view.cost_asset, amount=view.cost_amount) if view.cost_asset else None,
        used_unit=view.used_unit,
        outcome=_OUTCOMES.get(view.outcome, pb.CALL_OUTCOME_UNSPECIFIED),
        error_reason=view.error_reason,
        execution=view.execution,
        create_time=timestamp(view.created_at),
    )


def provider_key_to_proto(view: ProviderKeyView) -> pb.ProviderKey:
    return pb.ProviderKey(
        name=view.name,
        provider=_PROVIDER_PROTO.get(view.provider, pb.PROVIDER_UNSPECIFIED),
        masked_key=view.masked_key,
        base_url=view.base_url,
        create_time=timestamp(view.created_at),
        update_time=timestamp(view.updated_at),
    )


def model_to_proto(model: ModelInfo, latency_ms: float | None) -> pb.Model:
    return pb.Model(
        id=model.id,
        # Extra OpenAI-compatible servers registered under their own names speak the same protocol.
        provider=_PROVIDER_PROTO.get(model.provider, pb.PROVIDER_OPENAI_COMPATIBLE),
        capabilities=sorted(model.capabilities),
        input_price_per_mtok=model.input_price_per_mtok,
        output_price_per_mtok=model.output_price_per_mtok,
        context_window=model.context_window,
        observed_latency_ms=round(latency_ms) if latency_ms is not None else 0,
    )


def _time(message: Any, field: str) -> datetime | None:
    if not message.HasField(field):
        return None
    stamp: timestamp_pb2.Timestamp = getattr(message, field)
    return stamp.ToDatetime(tzinfo=UTC)


def _channel_message(message: ChannelMessage) -> pb.ConnectAgentResponse:
    if isinstance(message, OutgoingCall):
        deadline = timestamp_pb2.Timestamp()
        deadline.FromNanoseconds(int(message.deadline_epoch * 1e9))
        return pb.ConnectAgentResponse(
            call=pb.ChannelCall(
                call_id=message.call_id,
                skill=f"skills/{message.skill_id}",
                operation=message.operation,
                payload=values.to_value(message.payload),
                buyer=f"agents/{message.buyer_id}",
                deadline=deadline,
            )
        )
    if isinstance(message, OutgoingCancel):
        return pb.ConnectAgentResponse(
            cancel=pb.ChannelCancel(call_id=message.call_id, reason=message.reason)
        )
    return pb.ConnectAgentResponse(pong=pb.ChannelPing(nonce=message.nonce))


@service(pb.DESCRIPTOR.services_by_name["ExecutionService"], pending={})
class ExecutionServicer:
    def __init__(self, runs: RunService, proxy: ProxyRuntime, *, hello_timeout_seconds: float) -> None:
        self._runs = runs
        self._proxy = proxy
        self._hello_timeout = hello_timeout_seconds

    # --- skill proxy -----------------------------------------------------------------------------

    async def ExecuteSkill(self, request: pb.ExecuteSkillRequest, ctx: Ctx) -> pb.ExecuteSkillResponse:
        timeout_ms = request.timeout_ms
        remaining = ctx.time_remaining()
        if remaining is not None and timeout_ms >= 0:
            # The client's own gRPC deadline bounds the call too: no point working past it.
            client_ms = max(1, int(remaining * 1000))
            timeout_ms = min(timeout_ms, client_ms) if timeout_ms else client_ms
        result = await self._proxy.proxy.execute(
            context.caller(),
            ExecuteRequest(
                skill=request.skill,
                operation=request.operation,
                payload=values.to_python(request.payload) if request.HasField("payload") else None,
                idempotency_key=request.idempotency_key,
                timeout_ms=timeout_ms,
            ),
        )
        return pb.ExecuteSkillResponse(
            result=values.to_value(result.value), usage=usage_to_proto(result.usage)
        )

    async def ListUsageRecords(
        self, request: pb.ListUsageRecordsRequest, ctx: Ctx
    ) -> pb.ListUsageRecordsResponse:
        role = _ROLES.get(request.role)
        if role is None:
            raise InvalidArgument("must be USAGE_ROLE_BUYER or USAGE_ROLE_SELLER", field="role")
        views, token = await self._proxy.usage.list(
            context.caller(),
            role=role,
            skill=request.skill,
            start=_time(request, "start_time"),
            end=_time(request, "end_time"),
            size=request.page_size,
            token=request.page_token,
        )
        return pb.ListUsageRecordsResponse(
            usage_records=[usage_to_proto(v) for v in views], next_page_token=token
        )

    # --- agent channel ---------------------------------------------------------------------------

    async def ConnectAgent(
        self, requests: AsyncIterator[pb.ConnectAgentRequest], ctx: Ctx
    ) -> AsyncIterator[pb.ConnectAgentResponse]:
        caller = context.caller()
        incoming = requests.__aiter__()
        try:
            async with asyncio.timeout(self._hello_timeout):
                first = await anext(incoming)
        except TimeoutError:
            raise InvalidArgument(
                f"send hello within {self._hello_timeout:g} s of connecting",
                field="hello",
                reason="HELLO_REQUIRED",
            ) from None
        except StopAsyncIteration:
            return
        if first.WhichOneof("message") != "hello":
            raise InvalidArgument("the first message must be hello", field="hello", reason="HELLO_REQUIRED")
        skills, served, concurrency = await self._proxy.channel_skills.resolve_hello(
            caller.agent_id, first.hello.skills, first.hello.max_concurrency
        )
        hub = self._proxy.hub
        connection = await hub.open(caller.agent_id, skills, concurrency)
        reader = asyncio.create_task(self._read(incoming, connection), name=f"agent-channel-{connection.id}")
        try:
            yield pb.ConnectAgentResponse(
                welcome=pb.ChannelWelcome(connection_id=connection.id, skills=[f"skills/{s}" for s in served])
            )
            while True:
                message = await connection.outbox.get()
                if message is None:
                    break
                yield _channel_message(message)
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader
            await hub.close(connection)

    async def _read(self, incoming: AsyncIterator[pb.ConnectAgentRequest], connection: Connection) -> None:
        hub = self._proxy.hub
        try:
            async for request in incoming:
                kind = request.WhichOneof("message")
                if kind == "result":
                    result = request.result
                    if result.WhichOneof("outcome") == "error":
                        reply = AgentReply(
                            call_id=result.call_id,
                            error_reason=result.error.reason,
                            error_message=result.error.message,
                            is_error=True,
                            size=result.ByteSize(),
                        )
                    else:
                        reply = AgentReply(
                            call_id=result.call_id,
                            value=values.to_python(result.result) if result.HasField("result") else None,
                            size=result.ByteSize(),
                        )
                    hub.answer(connection, reply)
                elif kind == "ping":
                    hub.ping(connection, request.ping.nonce)
                else:
                    log.info("agent channel %s sent %s after hello; ignored", connection.id, kind)
        except asyncio.CancelledError:
            raise
        except Exception as error:
            log.info("agent channel %s ended: %s", connection.id, error)
        finally:
            # The agent closed its side (or the stream broke): nothing will answer the calls in flight.
            await hub.close(connection)

    # --- models and provider keys ---------------------------------------------------------------

    async def ListModels(self, request: pb.ListModelsRequest, ctx: Ctx) -> pb.ListModelsResponse:
        router = self._proxy.models
        page, token = list_models(
            router,
            self._proxy.page_tokens,
            capability=request.capability,
            size=request.page_size,
            token=request.page_token,
        )
        return pb.ListModelsResponse(
            models=[model_to_proto(m, router.observed_latency_ms(m.id)) for m in page], next_page_token=token
        )

    async def SetProviderKey(self, request: pb.SetProviderKeyRequest, ctx: Ctx) -> pb.SetProviderKeyResponse:
        if request.provider == pb.PROVIDER_BUILTIN:
            raise InvalidArgument("the builtin model needs no key", field="provider", reason="NO_KEY_NEEDED")
        view = await self._proxy.provider_keys.set(
            context.caller(), _PROVIDERS.get(request.provider), request.api_key, request.base_url
        )
        return pb.SetProviderKeyResponse(provider_key=provider_key_to_proto(view))

    async def ListProviderKeys(
        self, request: pb.ListProviderKeysRequest, ctx: Ctx
    ) -> pb.ListProviderKeysResponse:
        views, token = await self._proxy.provider_keys.list(
            context.caller(), request.parent, size=request.page_size, token=request.page_token
        )
        return pb.ListProviderKeysResponse(
            provider_keys=[provider_key_to_proto(v) for v in views], next_page_token=token
        )

    async def DeleteProviderKey(
        self, request: pb.DeleteProviderKeyRequest, ctx: Ctx
    ) -> pb.DeleteProviderKeyResponse:
        await self._proxy.provider_keys.delete(context.caller(), request.name)
        return pb.DeleteProviderKeyResponse()

    # --- daemon runs ----------------------------------------------------------------------------

    async def StartRun(self, request: pb.StartRunRequest, ctx: Ctx) -> pb.StartRunResponse:
        view = await self._runs.start(
            context.caller(),
            request.daemon,
            request.version,
            json_format.MessageToDict(request.inputs),
            request.idempotency_key,
        )
        return pb.StartRunResponse(execution=execution_to_proto(view))

    async def GetExecution(self, request: pb.GetExecutionRequest, ctx: Ctx) -> pb.GetExecutionResponse:
        view = await self._runs.get(context.caller(), request.name)
        return pb.GetExecutionResponse(execution=execution_to_proto(view))

    async def ListExecutions(self, request: pb.ListExecutionsRequest, ctx: Ctx) -> pb.ListExecutionsResponse:
        state: str | None = None
        if request.state != pb.EXECUTION_STATE_UNSPECIFIED:
            if request.state not in _RUN_STATE_NAMES:
                raise InvalidArgument("is not a known execution state", field="state", reason="INVALID_STATE")
            state = _RUN_STATE_NAMES[request.state]
        views, next_token = await self._runs.list_runs(
            context.caller(),
            daemon=request.daemon,
            state=state,
            size=request.page_size,
            token=request.page_token,
        )
        return pb.ListExecutionsResponse(
            executions=[execution_to_proto(v) for v in views], next_page_token=next_token
        )

    async def CancelExecution(
        self, request: pb.CancelExecutionRequest, ctx: Ctx
    ) -> pb.CancelExecutionResponse:
        view = await self._runs.cancel(context.caller(), request.name)
        return pb.CancelExecutionResponse(execution=execution_to_proto(view))

    async def StreamExecutionEvents(
        self, request: pb.StreamExecutionEventsRequest, ctx: Ctx
    ) -> AsyncIterator[pb.StreamExecutionEventsResponse]:
        response = pb.StreamExecutionEventsResponse
        async for batch in self._runs.events(context.caller(), request.execution, request.after_sequence):
            for event in batch:
                yield response(event=event_to_proto(event))

    async def GetArtifact(self, request: pb.GetArtifactRequest, ctx: Ctx) -> pb.GetArtifactResponse:
        artifact = await self._runs.artifact(context.caller(), request.name)
        return pb.GetArtifactResponse(
            name=artifact.name, content_type=artifact.content_type, content=artifact.content
        )
