"""Turns domain errors into gRPC statuses carrying google.rpc.Status details.

Every status carries one ErrorInfo (reason, domain "agentos.dev", metadata); bad input adds a
BadRequest with field violations; rate limits add RetryInfo.
"""

from __future__ import annotations

import grpc
from google.protobuf import any_pb2, duration_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from agentos_server.domain.errors import Code, DomainError

ERROR_DOMAIN = "agentos.dev"

GRPC_CODES: dict[Code, grpc.StatusCode] = {code: getattr(grpc.StatusCode, code.value) for code in Code}
_RPC_CODES: dict[Code, int] = {code: getattr(code_pb2, code.value) for code in Code}


def _pack(message: object) -> any_pb2.Any:
    packed = any_pb2.Any()
    packed.Pack(message)  # type: ignore[arg-type]
    return packed


def to_status(error: DomainError) -> grpc.Status:
    details = [
        _pack(error_details_pb2.ErrorInfo(reason=error.reason, domain=ERROR_DOMAIN, metadata=error.metadata))
    ]
    if error.violations:
        details.append(
            _pack(
                error_details_pb2.BadRequest(
                    field_violations=[
                        error_details_pb2.BadRequest.FieldViolation(field=v.field, description=v.description)
                        for v in error.violations
                    ]
                )
            )
        )
    if error.retry_after_seconds is not None:
        delay = duration_pb2.Duration()
        delay.FromNanoseconds(int(error.retry_after_seconds * 1e9))
        details.append(_pack(error_details_pb2.RetryInfo(retry_delay=delay)))
    status = status_pb2.Status(code=_RPC_CODES[error.code], message=error.message, details=details)
    return rpc_status.to_status(status)


def internal_status(message: str = "internal error; it has been logged") -> grpc.Status:
    status = status_pb2.Status(
        code=code_pb2.INTERNAL,
        message=message,
        details=[_pack(error_details_pb2.ErrorInfo(reason="INTERNAL", domain=ERROR_DOMAIN))],
    )
    return rpc_status.to_status(status)
