"""The call pipeline: one grpc.aio interceptor that every AgentOS RPC passes through.

For each call it resolves the caller from `authorization: Bearer <key>` under the method's access
rule (read from the `agentos.common.v1.access` option in the contract), asks the admission gate
(API quota and burst limit) to let an authenticated caller in, runs the handler with the caller in a
context variable, turns domain errors into rich statuses, and records metrics and a log line.
Health and reflection pass through untouched.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NoReturn, Protocol

import grpc
from google.protobuf.descriptor import ServiceDescriptor

from agentos.common.v1 import common_pb2
from agentos_server.api.context import current_caller
from agentos_server.api.errors import internal_status, to_status
from agentos_server.domain.caller import Caller
from agentos_server.domain.errors import DomainError, PermissionDenied, Unauthenticated
from agentos_server.infra.metrics import RpcMetrics

log = logging.getLogger("agentos.rpc")

PUBLIC = common_pb2.ACCESS_PUBLIC
AUTHENTICATED = common_pb2.ACCESS_AUTHENTICATED
OPERATOR = common_pb2.ACCESS_OPERATOR


@dataclass(frozen=True)
class MethodPolicy:
    full_name: str
    access: int


def policies_for(services: Iterable[ServiceDescriptor]) -> dict[str, MethodPolicy]:
    found: dict[str, MethodPolicy] = {}
    for service in services:
        for method in service.methods:
            access: int = method.GetOptions().Extensions[common_pb2.access]  # type: ignore[index]
            if access == common_pb2.ACCESS_UNSPECIFIED:
                access = AUTHENTICATED
            path = f"/{service.full_name}/{method.name}"
            found[path] = MethodPolicy(path, access)
    return found


class KeyResolver(Protocol):
    async def resolve_api_key(self, token: str) -> Caller: ...


class AdmissionGate(Protocol):
    """Lets an authenticated call in or raises (RESOURCE_EXHAUSTED with a retry delay)."""

    async def admit(self, caller: Caller, method: str) -> None: ...


class Authenticator:
    """Resolves API keys, remembering answers for a few seconds to keep the hot path off the database."""

    def __init__(self, resolver: KeyResolver, cache_seconds: float, max_entries: int = 50_000) -> None:
        self._resolver = resolver
        self._ttl = cache_seconds
        self._max = max_entries
        self._cache: dict[bytes, tuple[Caller, float]] = {}

    async def authenticate(self, token: str) -> Caller:
        digest = hashlib.sha256(token.encode()).digest()
        now = time.monotonic()
        hit = self._cache.get(digest)
        if hit is not None and hit[1] > now:
            return hit[0]
        caller = await self._resolver.resolve_api_key(token)
        if self._ttl > 0:
            if len(self._cache) >= self._max:
                self._cache.clear()
            self._cache[digest] = (caller, now + self._ttl)
        return caller

    def forget_agent(self, agent_id: str) -> None:
        """Drops every cached key of an agent (after rotation or deactivation)."""
        for digest, (caller, _) in list(self._cache.items()):
            if caller.agent_id == agent_id:
                self._cache.pop(digest, None)


def _bearer_token(context: grpc.aio.ServicerContext[Any, Any]) -> str | None:
    for key, value in context.invocation_metadata() or ():
        if key == "authorization":
            text = value.decode() if isinstance(value, bytes) else value
            scheme, _, token = text.partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                raise Unauthenticated(
                    "the authorization header must be 'Bearer <api key>'",
                    reason="INVALID_AUTHORIZATION_HEADER",
                )
            return token.strip()
    return None


# grpc-stubs types method handlers for the synchronous server; here they hold coroutine functions.
Handler = Any


if TYPE_CHECKING:
    _Interceptor = grpc.aio.ServerInterceptor[Any, Any]
else:
    _Interceptor = grpc.aio.ServerInterceptor


class CallPipeline(_Interceptor):
    def __init__(
        self,
        policies: dict[str, MethodPolicy],
        authenticator: Authenticator,
        metrics: RpcMetrics,
        admission: AdmissionGate | None = None,
    ) -> None:
        self._policies = policies
        self._auth = authenticator
        self._metrics = metrics
        self._admission = admission
        self._wrapped: dict[str, Handler] = {}

    def set_admission(self, admission: AdmissionGate | None) -> None:
        self._admission = admission

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[Handler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> Handler:
        method = handler_call_details.method
        cached = self._wrapped.get(method)
        if cached is not None:
            return cached
        handler = await continuation(handler_call_details)
        policy = self._policies.get(method)
        if handler is None or policy is None:
            return handler
        wrapped = self._wrap(policy, handler)
        self._wrapped[method] = wrapped
        return wrapped

    async def _enter(
        self, policy: MethodPolicy, context: grpc.aio.ServicerContext[Any, Any]
    ) -> Caller | None:
        token = _bearer_token(context)
        if token is None:
            if policy.access == PUBLIC:
                return None
            raise Unauthenticated(
                "this call needs an API key: send 'authorization: Bearer <key>'", reason="MISSING_API_KEY"
            )
        caller = await self._auth.authenticate(token)
        if policy.access == OPERATOR and not caller.is_operator:
            raise PermissionDenied("this call is reserved to operators", reason="OPERATOR_ONLY")
        if self._admission is not None:
            await self._admission.admit(caller, policy.full_name)
        return caller

    async def _fail(
        self, policy: MethodPolicy, context: grpc.aio.ServicerContext[Any, Any], error: BaseException
    ) -> NoReturn:
        if isinstance(error, DomainError):
            status = to_status(error)
            if error.code.value == "INTERNAL":
                log.error("internal error in %s: %s", policy.full_name, error.message)
        else:
            log.exception("unhandled error in %s", policy.full_name, exc_info=error)
            status = internal_status()
        await context.abort(status.code, status.details, status.trailing_metadata)

    def _finish(self, policy: MethodPolicy, code: str, started: float) -> None:
        elapsed = time.perf_counter() - started
        self._metrics.observe(policy.full_name, code, elapsed)
        if code not in {"OK", "CANCELLED"} and log.isEnabledFor(logging.INFO):
            log.info("rpc", extra={"rpc": policy.full_name, "code": code, "ms": round(elapsed * 1000, 2)})
        elif log.isEnabledFor(logging.DEBUG):
            log.debug("rpc", extra={"rpc": policy.full_name, "code": code, "ms": round(elapsed * 1000, 2)})

    def _wrap(self, policy: MethodPolicy, handler: Handler) -> Handler:
        if handler.unary_unary is not None:
            inner_uu = handler.unary_unary

            async def unary_unary(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
                return await self._single(policy, context, lambda: inner_uu(request, context))

            return grpc.unary_unary_rpc_method_handler(
                unary_unary,
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )

        if handler.unary_stream is not None:
            inner_us = handler.unary_stream

            async def unary_stream(
                request: Any, context: grpc.aio.ServicerContext[Any, Any]
            ) -> AsyncIterator[Any]:
                async for item in self._stream(policy, context, lambda: inner_us(request, context)):
                    yield item

            return grpc.unary_stream_rpc_method_handler(
                unary_stream,
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )

        if handler.stream_stream is not None:
            inner_ss = handler.stream_stream

            async def stream_stream(
                requests: AsyncIterator[Any], context: grpc.aio.ServicerContext[Any, Any]
            ) -> AsyncIterator[Any]:
                async for item in self._stream(policy, context, lambda: inner_ss(requests, context)):
                    yield item

            return grpc.stream_stream_rpc_method_handler(
                stream_stream,
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )

        inner_su = handler.stream_unary

        async def stream_unary(
            requests: AsyncIterator[Any], context: grpc.aio.ServicerContext[Any, Any]
        ) -> Any:
            return await self._single(policy, context, lambda: inner_su(requests, context))

        return grpc.stream_unary_rpc_method_handler(
            stream_unary,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )

    async def _single(
        self,
        policy: MethodPolicy,
        context: grpc.aio.ServicerContext[Any, Any],
        answer: Callable[[], Awaitable[Any]],
    ) -> Any:
        started = time.perf_counter()
        code = "OK"
        reset = None
        try:
            reset = current_caller.set(await self._enter(policy, context))
            return await answer()
        except asyncio.CancelledError:
            code = "CANCELLED"
            raise
        except grpc.aio.AbortError:
            code = _code_name(context)
            raise
        except BaseException as error:
            code = error.code.value if isinstance(error, DomainError) else "INTERNAL"
            await self._fail(policy, context, error)
        finally:
            if reset is not None:
                current_caller.reset(reset)
            self._finish(policy, code, started)

    async def _stream(
        self,
        policy: MethodPolicy,
        context: grpc.aio.ServicerContext[Any, Any],
        open_stream: Callable[[], AsyncIterator[Any]],
    ) -> AsyncIterator[Any]:
        started = time.perf_counter()
        code = "OK"
        reset = None
        try:
            reset = current_caller.set(await self._enter(policy, context))
            async for item in open_stream():
                yield item
        except asyncio.CancelledError:
            code = "CANCELLED"
            raise
        except GeneratorExit:
            code = "CANCELLED"
            raise
        except grpc.aio.AbortError:
            code = _code_name(context)
            raise
        except BaseException as error:
            code = error.code.value if isinstance(error, DomainError) else "INTERNAL"
            await self._fail(policy, context, error)
        finally:
            if reset is not None:
                # A generator closed from another context cannot reset; the variable dies with it.
                with contextlib.suppress(ValueError):
                    current_caller.reset(reset)
            self._finish(policy, code, started)


def _code_name(context: grpc.aio.ServicerContext[Any, Any]) -> str:
    code: object = context.code()
    if isinstance(code, grpc.StatusCode):
        return code.name
    return "UNKNOWN"
