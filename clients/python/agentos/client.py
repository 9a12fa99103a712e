"""The typed Python SDK: one object with a stub per service and the API key attached to every call.

    from agentos import Client

    with Client("127.0.0.1:50051", api_key="aos_...") as client:
        agent = client.registry.GetAgent(registry_pb2.GetAgentRequest(name="agents/me")).agent

`AsyncClient` is the same over grpc.aio. Without an API key only public methods work.
"""

from __future__ import annotations

from types import TracebackType
from typing import TYPE_CHECKING, Any, cast

import grpc

from agentos.execution.v1 import execution_pb2_grpc
from agentos.marketplace.v1 import marketplace_pb2_grpc
from agentos.payment.v1 import payment_pb2_grpc
from agentos.registry.v1 import registry_pb2_grpc

_CHANNEL_OPTIONS = [
    ("grpc.max_receive_message_length", 16 * 1024 * 1024),
    ("grpc.keepalive_time_ms", 30_000),
]


class _BearerAuth(grpc.AuthMetadataPlugin):
    def __init__(self, api_key: str) -> None:
        self._metadata = (("authorization", f"Bearer {api_key}"),)

    def __call__(self, context: grpc.AuthMetadataContext, callback: grpc.AuthMetadataPluginCallback) -> None:
        callback(self._metadata, None)


def _credentials(api_key: str | None, secure: bool) -> grpc.ChannelCredentials | None:
    if not secure:
        return None
    channel = grpc.ssl_channel_credentials()
    if api_key:
        return grpc.composite_channel_credentials(
            channel, grpc.metadata_call_credentials(_BearerAuth(api_key))
        )
    return channel


if TYPE_CHECKING:
    # grpc-stubs' interceptor generics do not fit one class serving all four call shapes.
    class _SyncInterceptor:
        pass

    class _AsyncInterceptor:
        pass

else:

    class _SyncInterceptor(
        grpc.UnaryUnaryClientInterceptor,
        grpc.UnaryStreamClientInterceptor,
        grpc.StreamUnaryClientInterceptor,
        grpc.StreamStreamClientInterceptor,
    ):
        pass

    class _AsyncInterceptor(
        grpc.aio.UnaryUnaryClientInterceptor,
        grpc.aio.UnaryStreamClientInterceptor,
        grpc.aio.StreamUnaryClientInterceptor,
        grpc.aio.StreamStreamClientInterceptor,
    ):
        pass


class _MetadataInterceptor(_SyncInterceptor):
    """Adds the bearer token on plaintext channels, where gRPC refuses call credentials."""

    def __init__(self, api_key: str) -> None:
        self._metadata = [("authorization", f"Bearer {api_key}")]

    def _details(self, details: Any) -> Any:
        metadata = list(details.metadata or []) + self._metadata
        return (
            details._replace(metadata=metadata)
            if hasattr(details, "_replace")
            else _Details(details, metadata)
        )

    def intercept_unary_unary(self, continuation: Any, details: Any, request: Any) -> Any:
        return continuation(self._details(details), request)

    def intercept_unary_stream(self, continuation: Any, details: Any, request: Any) -> Any:
        return continuation(self._details(details), request)

    def intercept_stream_unary(self, continuation: Any, details: Any, requests: Any) -> Any:
        return continuation(self._details(details), requests)

    def intercept_stream_stream(self, continuation: Any, details: Any, requests: Any) -> Any:
        return continuation(self._details(details), requests)


class _Details(grpc.ClientCallDetails):
    metadata: Any

    def __init__(self, base: Any, metadata: list[tuple[str, str]]) -> None:
        self.method = base.method
        self.timeout = base.timeout
        self.metadata = metadata
        self.credentials = base.credentials
        self.wait_for_ready = getattr(base, "wait_for_ready", None)
        self.compression = getattr(base, "compression", None)


class Client:
    def __init__(self, address: str, api_key: str | None = None, *, secure: bool = False) -> None:
        credentials = _credentials(api_key, secure)
        if credentials is not None:
            channel = grpc.secure_channel(address, credentials, options=_CHANNEL_OPTIONS)
        else:
            channel = grpc.insecure_channel(address, options=_CHANNEL_OPTIONS)
            if api_key:
                channel = grpc.intercept_channel(channel, cast(Any, _MetadataInterceptor(api_key)))
        self.channel = channel
        self.registry = registry_pb2_grpc.RegistryServiceStub(channel)
        self.marketplace = marketplace_pb2_grpc.MarketplaceServiceStub(channel)
        self.execution = execution_pb2_grpc.ExecutionServiceStub(channel)
        self.payment = payment_pb2_grpc.PaymentServiceStub(channel)

    def close(self) -> None:
        self.channel.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()


class AsyncClient:
    def __init__(self, address: str, api_key: str | None = None, *, secure: bool = False) -> None:
        credentials = _credentials(api_key, secure)
        if credentials is not None:
            self.channel = grpc.aio.secure_channel(address, credentials, options=_CHANNEL_OPTIONS)
        else:
            interceptors = [cast(Any, _AsyncMetadataInterceptor(api_key))] if api_key else None
            self.channel = grpc.aio.insecure_channel(
                address, options=_CHANNEL_OPTIONS, interceptors=interceptors
            )
        self.registry = registry_pb2_grpc.RegistryServiceStub(self.channel)
        self.marketplace = marketplace_pb2_grpc.MarketplaceServiceStub(self.channel)
        self.execution = execution_pb2_grpc.ExecutionServiceStub(self.channel)
        self.payment = payment_pb2_grpc.PaymentServiceStub(self.channel)

    async def close(self) -> None:
        await self.channel.close(None)

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        await self.close()


class _AsyncMetadataInterceptor(_AsyncInterceptor):
    def __init__(self, api_key: str) -> None:
        self._metadata = ("authorization", f"Bearer {api_key}")

    def _details(self, details: Any) -> Any:
        metadata = grpc.aio.Metadata(*(details.metadata or ()))
        metadata.add(*self._metadata)
        return grpc.aio.ClientCallDetails(
            details.method, details.timeout, metadata, details.credentials, details.wait_for_ready
        )

    async def intercept_unary_unary(self, continuation: Any, details: Any, request: Any) -> Any:
        return await continuation(self._details(details), request)

    async def intercept_unary_stream(self, continuation: Any, details: Any, request: Any) -> Any:
        return await continuation(self._details(details), request)

    async def intercept_stream_unary(self, continuation: Any, details: Any, requests: Any) -> Any:
        return await continuation(self._details(details), requests)

    async def intercept_stream_stream(self, continuation: Any, details: Any, requests: Any) -> Any:
        return await continuation(self._details(details), requests)
