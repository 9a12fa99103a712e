"""Helpers shared by the service modules."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from datetime import datetime
from typing import Any, TypeVar

from google.protobuf import timestamp_pb2
from google.protobuf.descriptor import ServiceDescriptor

from agentos_server.domain.errors import Unimplemented

T = TypeVar("T")


def service(descriptor: ServiceDescriptor, *, pending: Mapping[str, str]) -> Callable[[type[T]], type[T]]:
    """Checks a servicer against its contract.

    Every RPC must be implemented, or listed in `pending` with the reason it is not yet; those
    answer UNIMPLEMENTED with that reason instead of grpc's bare "Method not implemented!".
    """

    def decorate(cls: type[T]) -> type[T]:
        for method in descriptor.methods:
            implemented = hasattr(cls, method.name)
            if implemented and method.name in pending:
                raise TypeError(f"{cls.__name__}.{method.name} is implemented but still listed as pending")
            if implemented:
                continue
            note = pending.get(method.name)
            if note is None:
                raise TypeError(f"{cls.__name__} implements no {method.name} and gives no reason")
            message = f"{descriptor.full_name}.{method.name} is not implemented yet: {note}"
            setattr(cls, method.name, _placeholder(message, streaming=method.server_streaming))
        return cls

    return decorate


def _placeholder(message: str, *, streaming: bool) -> Callable[..., Any]:
    if streaming:

        async def stream(self: object, request: object, context: object) -> AsyncIterator[Any]:
            # The empty loop makes this an async generator, which grpc expects of a streaming method.
            nothing: tuple[Any, ...] = ()
            for item in nothing:
                yield item
            raise Unimplemented(message)

        return stream

    async def unary(self: object, request: object, context: object) -> Any:
        raise Unimplemented(message)

    return unary


def timestamp(value: datetime | None) -> timestamp_pb2.Timestamp | None:
    if value is None:
        return None
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(value)
    return stamp
