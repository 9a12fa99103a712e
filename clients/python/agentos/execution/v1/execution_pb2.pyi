import datetime

from agentos.common.v1 import common_pb2 as _common_pb2
from agentos.registry.v1 import registry_pb2 as _registry_pb2
from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class CallOutcome(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CALL_OUTCOME_UNSPECIFIED: _ClassVar[CallOutcome]
    CALL_OUTCOME_SUCCEEDED: _ClassVar[CallOutcome]
    CALL_OUTCOME_FAILED: _ClassVar[CallOutcome]
    CALL_OUTCOME_TIMED_OUT: _ClassVar[CallOutcome]
    CALL_OUTCOME_REJECTED: _ClassVar[CallOutcome]

class DispatchTarget(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DISPATCH_TARGET_UNSPECIFIED: _ClassVar[DispatchTarget]
    DISPATCH_TARGET_HTTPS: _ClassVar[DispatchTarget]
    DISPATCH_TARGET_HOSTED_SCRIPT: _ClassVar[DispatchTarget]
    DISPATCH_TARGET_AGENT_CHANNEL: _ClassVar[DispatchTarget]

class UsageRole(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    USAGE_ROLE_UNSPECIFIED: _ClassVar[UsageRole]
    USAGE_ROLE_BUYER: _ClassVar[UsageRole]
    USAGE_ROLE_SELLER: _ClassVar[UsageRole]

class ExecutionState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    EXECUTION_STATE_UNSPECIFIED: _ClassVar[ExecutionState]
    EXECUTION_STATE_QUEUED: _ClassVar[ExecutionState]
    EXECUTION_STATE_RUNNING: _ClassVar[ExecutionState]
    EXECUTION_STATE_SUCCEEDED: _ClassVar[ExecutionState]
    EXECUTION_STATE_FAILED: _ClassVar[ExecutionState]
    EXECUTION_STATE_TIMED_OUT: _ClassVar[ExecutionState]
    EXECUTION_STATE_CANCELLED: _ClassVar[ExecutionState]

class StageState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    STAGE_STATE_UNSPECIFIED: _ClassVar[StageState]
    STAGE_STATE_PENDING: _ClassVar[StageState]
    STAGE_STATE_RUNNING: _ClassVar[StageState]
    STAGE_STATE_SUCCEEDED: _ClassVar[StageState]
    STAGE_STATE_FAILED: _ClassVar[StageState]
    STAGE_STATE_TIMED_OUT: _ClassVar[StageState]
    STAGE_STATE_CANCELLED: _ClassVar[StageState]
    STAGE_STATE_SKIPPED: _ClassVar[StageState]

class LogStream(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    LOG_STREAM_UNSPECIFIED: _ClassVar[LogStream]
    LOG_STREAM_STDOUT: _ClassVar[LogStream]
    LOG_STREAM_STDERR: _ClassVar[LogStream]
    LOG_STREAM_SYSTEM: _ClassVar[LogStream]

class Provider(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PROVIDER_UNSPECIFIED: _ClassVar[Provider]
    PROVIDER_OPENAI: _ClassVar[Provider]
    PROVIDER_ANTHROPIC: _ClassVar[Provider]
    PROVIDER_GOOGLE: _ClassVar[Provider]
    PROVIDER_OPENAI_COMPATIBLE: _ClassVar[Provider]
    PROVIDER_BUILTIN: _ClassVar[Provider]
CALL_OUTCOME_UNSPECIFIED: CallOutcome
CALL_OUTCOME_SUCCEEDED: CallOutcome
CALL_OUTCOME_FAILED: CallOutcome
CALL_OUTCOME_TIMED_OUT: CallOutcome
CALL_OUTCOME_REJECTED: CallOutcome
DISPATCH_TARGET_UNSPECIFIED: DispatchTarget
DISPATCH_TARGET_HTTPS: DispatchTarget
DISPATCH_TARGET_HOSTED_SCRIPT: DispatchTarget
DISPATCH_TARGET_AGENT_CHANNEL: DispatchTarget
USAGE_ROLE_UNSPECIFIED: UsageRole
USAGE_ROLE_BUYER: UsageRole
USAGE_ROLE_SELLER: UsageRole
EXECUTION_STATE_UNSPECIFIED: ExecutionState
EXECUTION_STATE_QUEUED: ExecutionState
EXECUTION_STATE_RUNNING: ExecutionState
EXECUTION_STATE_SUCCEEDED: ExecutionState
EXECUTION_STATE_FAILED: ExecutionState
EXECUTION_STATE_TIMED_OUT: ExecutionState
EXECUTION_STATE_CANCELLED: ExecutionState
STAGE_STATE_UNSPECIFIED: StageState
STAGE_STATE_PENDING: StageState
STAGE_STATE_RUNNING: StageState
STAGE_STATE_SUCCEEDED: StageState
STAGE_STATE_FAILED: StageState
STAGE_STATE_TIMED_OUT: StageState
STAGE_STATE_CANCELLED: StageState
STAGE_STATE_SKIPPED: StageState
LOG_STREAM_UNSPECIFIED: LogStream
LOG_STREAM_STDOUT: LogStream
LOG_STREAM_STDERR: LogStream
LOG_STREAM_SYSTEM: LogStream
PROVIDER_UNSPECIFIED: Provider
PROVIDER_OPENAI: Provider
PROVIDER_ANTHROPIC: Provider
PROVIDER_GOOGLE: Provider
PROVIDER_OPENAI_COMPATIBLE: Provider
PROVIDER_BUILTIN: Provider

class Cost(_message.Message):
    __slots__ = ("input_tokens", "output_tokens", "credits", "usd")
    INPUT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    CREDITS_FIELD_NUMBER: _ClassVar[int]
    USD_FIELD_NUMBER: _ClassVar[int]
    input_tokens: int
    output_tokens: int
    credits: int
    usd: _common_pb2.Money
    def __init__(self, input_tokens: _Optional[int] = ..., output_tokens: _Optional[int] = ..., credits: _Optional[int] = ..., usd: _Optional[_Union[_common_pb2.Money, _Mapping]] = ...) -> None: ...

class UsageRecord(_message.Message):
    __slots__ = ("name", "skill", "skill_version", "buyer", "seller", "license", "operation", "target", "request_bytes", "response_bytes", "duration_ms", "cost", "used_unit", "outcome", "error_reason", "execution", "create_time")
    NAME_FIELD_NUMBER: _ClassVar[int]
    SKILL_FIELD_NUMBER: _ClassVar[int]
    SKILL_VERSION_FIELD_NUMBER: _ClassVar[int]
    BUYER_FIELD_NUMBER: _ClassVar[int]
    SELLER_FIELD_NUMBER: _ClassVar[int]
    LICENSE_FIELD_NUMBER: _ClassVar[int]
    OPERATION_FIELD_NUMBER: _ClassVar[int]
    TARGET_FIELD_NUMBER: _ClassVar[int]
    REQUEST_BYTES_FIELD_NUMBER: _ClassVar[int]
    RESPONSE_BYTES_FIELD_NUMBER: _ClassVar[int]
    DURATION_MS_FIELD_NUMBER: _ClassVar[int]
    COST_FIELD_NUMBER: _ClassVar[int]
    USED_UNIT_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    ERROR_REASON_FIELD_NUMBER: _ClassVar[int]
    EXECUTION_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    name: str
    skill: str
    skill_version: str
    buyer: str
    seller: str
    license: str
    operation: str
    target: DispatchTarget
    request_bytes: int
    response_bytes: int
    duration_ms: int
    cost: _common_pb2.Money
    used_unit: bool
    outcome: CallOutcome
    error_reason: str
    execution: str
    create_time: _timestamp_pb2.Timestamp
    def __init__(self, name: _Optional[str] = ..., skill: _Optional[str] = ..., skill_version: _Optional[str] = ..., buyer: _Optional[str] = ..., seller: _Optional[str] = ..., license: _Optional[str] = ..., operation: _Optional[str] = ..., target: _Optional[_Union[DispatchTarget, str]] = ..., request_bytes: _Optional[int] = ..., response_bytes: _Optional[int] = ..., duration_ms: _Optional[int] = ..., cost: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., used_unit: _Optional[bool] = ..., outcome: _Optional[_Union[CallOutcome, str]] = ..., error_reason: _Optional[str] = ..., execution: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ExecuteSkillRequest(_message.Message):
    __slots__ = ("skill", "operation", "payload", "idempotency_key", "timeout_ms")
    SKILL_FIELD_NUMBER: _ClassVar[int]
    OPERATION_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_MS_FIELD_NUMBER: _ClassVar[int]
    skill: str
    operation: str
    payload: _struct_pb2.Value
    idempotency_key: str
    timeout_ms: int
    def __init__(self, skill: _Optional[str] = ..., operation: _Optional[str] = ..., payload: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ..., idempotency_key: _Optional[str] = ..., timeout_ms: _Optional[int] = ...) -> None: ...

class ExecuteSkillResponse(_message.Message):
    __slots__ = ("result", "usage")
    RESULT_FIELD_NUMBER: _ClassVar[int]
    USAGE_FIELD_NUMBER: _ClassVar[int]
    result: _struct_pb2.Value
    usage: UsageRecord
    def __init__(self, result: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ..., usage: _Optional[_Union[UsageRecord, _Mapping]] = ...) -> None: ...

class ListUsageRecordsRequest(_message.Message):
    __slots__ = ("role", "skill", "start_time", "end_time", "page_size", "page_token")
    ROLE_FIELD_NUMBER: _ClassVar[int]
    SKILL_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    role: UsageRole
    skill: str
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    page_size: int
    page_token: str
    def __init__(self, role: _Optional[_Union[UsageRole, str]] = ..., skill: _Optional[str] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListUsageRecordsResponse(_message.Message):
    __slots__ = ("usage_records", "next_page_token")
    USAGE_RECORDS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    usage_records: _containers.RepeatedCompositeFieldContainer[UsageRecord]
    next_page_token: str
    def __init__(self, usage_records: _Optional[_Iterable[_Union[UsageRecord, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class StageRun(_message.Message):
    __slots__ = ("name", "kind", "state", "start_time", "end_time", "duration_ms", "cost", "output", "output_artifact", "error", "attempts", "model", "exit_code")
    NAME_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    DURATION_MS_FIELD_NUMBER: _ClassVar[int]
    COST_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_ARTIFACT_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    EXIT_CODE_FIELD_NUMBER: _ClassVar[int]
    name: str
    kind: _registry_pb2.StageKind
    state: StageState
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    duration_ms: int
    cost: Cost
    output: _struct_pb2.Value
    output_artifact: str
    error: str
    attempts: int
    model: str
    exit_code: int
    def __init__(self, name: _Optional[str] = ..., kind: _Optional[_Union[_registry_pb2.StageKind, str]] = ..., state: _Optional[_Union[StageState, str]] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., duration_ms: _Optional[int] = ..., cost: _Optional[_Union[Cost, _Mapping]] = ..., output: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ..., output_artifact: _Optional[str] = ..., error: _Optional[str] = ..., attempts: _Optional[int] = ..., model: _Optional[str] = ..., exit_code: _Optional[int] = ...) -> None: ...

class Execution(_message.Message):
    __slots__ = ("name", "daemon", "daemon_version", "owner", "state", "inputs", "stages", "total_cost", "error", "hold", "last_sequence", "worker", "attempts", "create_time", "start_time", "end_time")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DAEMON_FIELD_NUMBER: _ClassVar[int]
    DAEMON_VERSION_FIELD_NUMBER: _ClassVar[int]
    OWNER_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    INPUTS_FIELD_NUMBER: _ClassVar[int]
    STAGES_FIELD_NUMBER: _ClassVar[int]
    TOTAL_COST_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    HOLD_FIELD_NUMBER: _ClassVar[int]
    LAST_SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    WORKER_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    name: str
    daemon: str
    daemon_version: str
    owner: str
    state: ExecutionState
    inputs: _struct_pb2.Struct
    stages: _containers.RepeatedCompositeFieldContainer[StageRun]
    total_cost: Cost
    error: str
    hold: str
    last_sequence: int
    worker: str
    attempts: int
    create_time: _timestamp_pb2.Timestamp
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    def __init__(self, name: _Optional[str] = ..., daemon: _Optional[str] = ..., daemon_version: _Optional[str] = ..., owner: _Optional[str] = ..., state: _Optional[_Union[ExecutionState, str]] = ..., inputs: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., stages: _Optional[_Iterable[_Union[StageRun, _Mapping]]] = ..., total_cost: _Optional[_Union[Cost, _Mapping]] = ..., error: _Optional[str] = ..., hold: _Optional[str] = ..., last_sequence: _Optional[int] = ..., worker: _Optional[str] = ..., attempts: _Optional[int] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class StartRunRequest(_message.Message):
    __slots__ = ("daemon", "version", "inputs", "idempotency_key")
    DAEMON_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    INPUTS_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    daemon: str
    version: str
    inputs: _struct_pb2.Struct
    idempotency_key: str
    def __init__(self, daemon: _Optional[str] = ..., version: _Optional[str] = ..., inputs: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., idempotency_key: _Optional[str] = ...) -> None: ...

class StartRunResponse(_message.Message):
    __slots__ = ("execution",)
    EXECUTION_FIELD_NUMBER: _ClassVar[int]
    execution: Execution
    def __init__(self, execution: _Optional[_Union[Execution, _Mapping]] = ...) -> None: ...

class GetExecutionRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class GetExecutionResponse(_message.Message):
    __slots__ = ("execution",)
    EXECUTION_FIELD_NUMBER: _ClassVar[int]
    execution: Execution
    def __init__(self, execution: _Optional[_Union[Execution, _Mapping]] = ...) -> None: ...

class ListExecutionsRequest(_message.Message):
    __slots__ = ("daemon", "state", "page_size", "page_token")
    DAEMON_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    daemon: str
    state: ExecutionState
    page_size: int
    page_token: str
    def __init__(self, daemon: _Optional[str] = ..., state: _Optional[_Union[ExecutionState, str]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListExecutionsResponse(_message.Message):
    __slots__ = ("executions", "next_page_token")
    EXECUTIONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    executions: _containers.RepeatedCompositeFieldContainer[Execution]
    next_page_token: str
    def __init__(self, executions: _Optional[_Iterable[_Union[Execution, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class CancelExecutionRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class CancelExecutionResponse(_message.Message):
    __slots__ = ("execution",)
    EXECUTION_FIELD_NUMBER: _ClassVar[int]
    execution: Execution
    def __init__(self, execution: _Optional[_Union[Execution, _Mapping]] = ...) -> None: ...

class LogLine(_message.Message):
    __slots__ = ("stage", "stream", "text")
    STAGE_FIELD_NUMBER: _ClassVar[int]
    STREAM_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    stage: str
    stream: LogStream
    text: str
    def __init__(self, stage: _Optional[str] = ..., stream: _Optional[_Union[LogStream, str]] = ..., text: _Optional[str] = ...) -> None: ...

class StageStarted(_message.Message):
    __slots__ = ("stage", "kind", "attempt")
    STAGE_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    stage: str
    kind: _registry_pb2.StageKind
    attempt: int
    def __init__(self, stage: _Optional[str] = ..., kind: _Optional[_Union[_registry_pb2.StageKind, str]] = ..., attempt: _Optional[int] = ...) -> None: ...

class StageFinished(_message.Message):
    __slots__ = ("stage", "state", "duration_ms", "error")
    STAGE_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    DURATION_MS_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    stage: str
    state: StageState
    duration_ms: int
    error: str
    def __init__(self, stage: _Optional[str] = ..., state: _Optional[_Union[StageState, str]] = ..., duration_ms: _Optional[int] = ..., error: _Optional[str] = ...) -> None: ...

class StageOutput(_message.Message):
    __slots__ = ("stage", "output", "output_artifact")
    STAGE_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_ARTIFACT_FIELD_NUMBER: _ClassVar[int]
    stage: str
    output: _struct_pb2.Value
    output_artifact: str
    def __init__(self, stage: _Optional[str] = ..., output: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ..., output_artifact: _Optional[str] = ...) -> None: ...

class CostIncurred(_message.Message):
    __slots__ = ("stage", "cost", "total")
    STAGE_FIELD_NUMBER: _ClassVar[int]
    COST_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    stage: str
    cost: Cost
    total: Cost
    def __init__(self, stage: _Optional[str] = ..., cost: _Optional[_Union[Cost, _Mapping]] = ..., total: _Optional[_Union[Cost, _Mapping]] = ...) -> None: ...

class StateChanged(_message.Message):
    __slots__ = ("state", "error")
    STATE_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    state: ExecutionState
    error: str
    def __init__(self, state: _Optional[_Union[ExecutionState, str]] = ..., error: _Optional[str] = ...) -> None: ...

class ProviderAttempt(_message.Message):
    __slots__ = ("stage", "provider", "model", "outcome", "error", "latency_ms")
    STAGE_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    LATENCY_MS_FIELD_NUMBER: _ClassVar[int]
    stage: str
    provider: str
    model: str
    outcome: str
    error: str
    latency_ms: int
    def __init__(self, stage: _Optional[str] = ..., provider: _Optional[str] = ..., model: _Optional[str] = ..., outcome: _Optional[str] = ..., error: _Optional[str] = ..., latency_ms: _Optional[int] = ...) -> None: ...

class ExecutionEvent(_message.Message):
    __slots__ = ("execution", "sequence", "time", "log", "stage_started", "stage_finished", "stage_output", "cost", "state_changed", "provider_attempt")
    EXECUTION_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    LOG_FIELD_NUMBER: _ClassVar[int]
    STAGE_STARTED_FIELD_NUMBER: _ClassVar[int]
    STAGE_FINISHED_FIELD_NUMBER: _ClassVar[int]
    STAGE_OUTPUT_FIELD_NUMBER: _ClassVar[int]
    COST_FIELD_NUMBER: _ClassVar[int]
    STATE_CHANGED_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    execution: str
    sequence: int
    time: _timestamp_pb2.Timestamp
    log: LogLine
    stage_started: StageStarted
    stage_finished: StageFinished
    stage_output: StageOutput
    cost: CostIncurred
    state_changed: StateChanged
    provider_attempt: ProviderAttempt
    def __init__(self, execution: _Optional[str] = ..., sequence: _Optional[int] = ..., time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., log: _Optional[_Union[LogLine, _Mapping]] = ..., stage_started: _Optional[_Union[StageStarted, _Mapping]] = ..., stage_finished: _Optional[_Union[StageFinished, _Mapping]] = ..., stage_output: _Optional[_Union[StageOutput, _Mapping]] = ..., cost: _Optional[_Union[CostIncurred, _Mapping]] = ..., state_changed: _Optional[_Union[StateChanged, _Mapping]] = ..., provider_attempt: _Optional[_Union[ProviderAttempt, _Mapping]] = ...) -> None: ...

class StreamExecutionEventsRequest(_message.Message):
    __slots__ = ("execution", "after_sequence")
    EXECUTION_FIELD_NUMBER: _ClassVar[int]
    AFTER_SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    execution: str
    after_sequence: int
    def __init__(self, execution: _Optional[str] = ..., after_sequence: _Optional[int] = ...) -> None: ...

class StreamExecutionEventsResponse(_message.Message):
    __slots__ = ("event",)
    EVENT_FIELD_NUMBER: _ClassVar[int]
    event: ExecutionEvent
    def __init__(self, event: _Optional[_Union[ExecutionEvent, _Mapping]] = ...) -> None: ...

class GetArtifactRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class GetArtifactResponse(_message.Message):
    __slots__ = ("name", "content_type", "content")
    NAME_FIELD_NUMBER: _ClassVar[int]
    CONTENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    name: str
    content_type: str
    content: bytes
    def __init__(self, name: _Optional[str] = ..., content_type: _Optional[str] = ..., content: _Optional[bytes] = ...) -> None: ...

class ChannelHello(_message.Message):
    __slots__ = ("skills", "max_concurrency")
    SKILLS_FIELD_NUMBER: _ClassVar[int]
    MAX_CONCURRENCY_FIELD_NUMBER: _ClassVar[int]
    skills: _containers.RepeatedScalarFieldContainer[str]
    max_concurrency: int
    def __init__(self, skills: _Optional[_Iterable[str]] = ..., max_concurrency: _Optional[int] = ...) -> None: ...

class ChannelError(_message.Message):
    __slots__ = ("reason", "message")
    REASON_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    reason: str
    message: str
    def __init__(self, reason: _Optional[str] = ..., message: _Optional[str] = ...) -> None: ...

class ChannelResult(_message.Message):
    __slots__ = ("call_id", "result", "error")
    CALL_ID_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    call_id: str
    result: _struct_pb2.Value
    error: ChannelError
    def __init__(self, call_id: _Optional[str] = ..., result: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ..., error: _Optional[_Union[ChannelError, _Mapping]] = ...) -> None: ...

class ChannelPing(_message.Message):
    __slots__ = ("nonce",)
    NONCE_FIELD_NUMBER: _ClassVar[int]
    nonce: int
    def __init__(self, nonce: _Optional[int] = ...) -> None: ...

class ConnectAgentRequest(_message.Message):
    __slots__ = ("hello", "result", "ping")
    HELLO_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    PING_FIELD_NUMBER: _ClassVar[int]
    hello: ChannelHello
    result: ChannelResult
    ping: ChannelPing
    def __init__(self, hello: _Optional[_Union[ChannelHello, _Mapping]] = ..., result: _Optional[_Union[ChannelResult, _Mapping]] = ..., ping: _Optional[_Union[ChannelPing, _Mapping]] = ...) -> None: ...

class ChannelWelcome(_message.Message):
    __slots__ = ("connection_id", "skills")
    CONNECTION_ID_FIELD_NUMBER: _ClassVar[int]
    SKILLS_FIELD_NUMBER: _ClassVar[int]
    connection_id: str
    skills: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, connection_id: _Optional[str] = ..., skills: _Optional[_Iterable[str]] = ...) -> None: ...

class ChannelCall(_message.Message):
    __slots__ = ("call_id", "skill", "operation", "payload", "buyer", "deadline")
    CALL_ID_FIELD_NUMBER: _ClassVar[int]
    SKILL_FIELD_NUMBER: _ClassVar[int]
    OPERATION_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_FIELD_NUMBER: _ClassVar[int]
    BUYER_FIELD_NUMBER: _ClassVar[int]
    DEADLINE_FIELD_NUMBER: _ClassVar[int]
    call_id: str
    skill: str
    operation: str
    payload: _struct_pb2.Value
    buyer: str
    deadline: _timestamp_pb2.Timestamp
    def __init__(self, call_id: _Optional[str] = ..., skill: _Optional[str] = ..., operation: _Optional[str] = ..., payload: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ..., buyer: _Optional[str] = ..., deadline: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ChannelCancel(_message.Message):
    __slots__ = ("call_id", "reason")
    CALL_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    call_id: str
    reason: str
    def __init__(self, call_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class ConnectAgentResponse(_message.Message):
    __slots__ = ("welcome", "call", "cancel", "pong")
    WELCOME_FIELD_NUMBER: _ClassVar[int]
    CALL_FIELD_NUMBER: _ClassVar[int]
    CANCEL_FIELD_NUMBER: _ClassVar[int]
    PONG_FIELD_NUMBER: _ClassVar[int]
    welcome: ChannelWelcome
    call: ChannelCall
    cancel: ChannelCancel
    pong: ChannelPing
    def __init__(self, welcome: _Optional[_Union[ChannelWelcome, _Mapping]] = ..., call: _Optional[_Union[ChannelCall, _Mapping]] = ..., cancel: _Optional[_Union[ChannelCancel, _Mapping]] = ..., pong: _Optional[_Union[ChannelPing, _Mapping]] = ...) -> None: ...

class Model(_message.Message):
    __slots__ = ("id", "provider", "capabilities", "input_price_per_mtok", "output_price_per_mtok", "context_window", "observed_latency_ms")
    ID_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    CAPABILITIES_FIELD_NUMBER: _ClassVar[int]
    INPUT_PRICE_PER_MTOK_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_PRICE_PER_MTOK_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_WINDOW_FIELD_NUMBER: _ClassVar[int]
    OBSERVED_LATENCY_MS_FIELD_NUMBER: _ClassVar[int]
    id: str
    provider: Provider
    capabilities: _containers.RepeatedScalarFieldContainer[str]
    input_price_per_mtok: int
    output_price_per_mtok: int
    context_window: int
    observed_latency_ms: int
    def __init__(self, id: _Optional[str] = ..., provider: _Optional[_Union[Provider, str]] = ..., capabilities: _Optional[_Iterable[str]] = ..., input_price_per_mtok: _Optional[int] = ..., output_price_per_mtok: _Optional[int] = ..., context_window: _Optional[int] = ..., observed_latency_ms: _Optional[int] = ...) -> None: ...

class ListModelsRequest(_message.Message):
    __slots__ = ("page_size", "page_token", "capability")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    CAPABILITY_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    capability: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., capability: _Optional[str] = ...) -> None: ...

class ListModelsResponse(_message.Message):
    __slots__ = ("models", "next_page_token")
    MODELS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    models: _containers.RepeatedCompositeFieldContainer[Model]
    next_page_token: str
    def __init__(self, models: _Optional[_Iterable[_Union[Model, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ProviderKey(_message.Message):
    __slots__ = ("name", "provider", "masked_key", "base_url", "create_time", "update_time")
    NAME_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    MASKED_KEY_FIELD_NUMBER: _ClassVar[int]
    BASE_URL_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    name: str
    provider: Provider
    masked_key: str
    base_url: str
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    def __init__(self, name: _Optional[str] = ..., provider: _Optional[_Union[Provider, str]] = ..., masked_key: _Optional[str] = ..., base_url: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class SetProviderKeyRequest(_message.Message):
    __slots__ = ("provider", "api_key", "base_url")
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    API_KEY_FIELD_NUMBER: _ClassVar[int]
    BASE_URL_FIELD_NUMBER: _ClassVar[int]
    provider: Provider
    api_key: str
    base_url: str
    def __init__(self, provider: _Optional[_Union[Provider, str]] = ..., api_key: _Optional[str] = ..., base_url: _Optional[str] = ...) -> None: ...

class SetProviderKeyResponse(_message.Message):
    __slots__ = ("provider_key",)
    PROVIDER_KEY_FIELD_NUMBER: _ClassVar[int]
    provider_key: ProviderKey
    def __init__(self, provider_key: _Optional[_Union[ProviderKey, _Mapping]] = ...) -> None: ...

class ListProviderKeysRequest(_message.Message):
    __slots__ = ("parent", "page_size", "page_token")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    parent: str
    page_size: int
    page_token: str
    def __init__(self, parent: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListProviderKeysResponse(_message.Message):
    __slots__ = ("provider_keys", "next_page_token")
    PROVIDER_KEYS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    provider_keys: _containers.RepeatedCompositeFieldContainer[ProviderKey]
    next_page_token: str
    def __init__(self, provider_keys: _Optional[_Iterable[_Union[ProviderKey, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class DeleteProviderKeyRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class DeleteProviderKeyResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...
