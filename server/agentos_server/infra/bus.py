"""A publish/subscribe bus of byte messages on named topics: Redis pub/sub across processes, or an
in-process equivalent for a single server.

Delivery is best effort, as Redis pub/sub itself is: a subscriber that is slow or briefly
disconnected can miss messages. Users of the bus therefore keep the truth elsewhere (run events are
persisted first and published second) and treat the bus as a doorbell that makes the common case
fast. `Subscription.lagged` tells a subscriber that it dropped messages and should catch up from
the source of truth.

    bus = RedisBus(client, prefix)      # or InProcessBus()
    await bus.start()
    sub = await bus.subscribe("events:123")   # active when it returns: later publishes reach it
    await bus.publish("events:123", b"...")
    message = await sub.next(1.0)             # None when nothing came within a second
    sub.close()
    await bus.close()
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Protocol

import redis.asyncio as aioredis
from redis.exceptions import RedisError

log = logging.getLogger("agentos.bus")

# Messages a subscription buffers before it drops them and reports itself lagged.
SUBSCRIPTION_BUFFER = 10_000
_RECONNECT_DELAY_SECONDS = 0.5


class Subscription:
    """Messages of one topic for one local consumer."""

    def __init__(self, topic: str, on_close: Callable[[Subscription], object]) -> None:
        self.topic = topic
        self._queue: asyncio.Queue[bytes] = asyncio.Queue(SUBSCRIPTION_BUFFER)
        self._on_close = on_close
        self.lagged = False
        self.closed = False

    def deliver(self, message: bytes) -> None:
        try:
            self._queue.put_nowait(message)
        except asyncio.QueueFull:
            # Dropping the backlog rather than blocking the publisher: the consumer learns it lagged
            # and catches up from the source of truth.
            self.lagged = True
            while not self._queue.empty():
                self._queue.get_nowait()

    async def next(self, wait_seconds: float | None = None) -> bytes | None:
        """The next message, or None when `wait_seconds` pass first."""
        if not self._queue.empty():
            return self._queue.get_nowait()
        try:
            async with asyncio.timeout(wait_seconds):
                return await self._queue.get()
        except TimeoutError:
            return None

    def drain(self) -> list[bytes]:
        """Every message already buffered, without waiting."""
        found = []
        while not self._queue.empty():
            found.append(self._queue.get_nowait())
        return found

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._on_close(self)


class MessageBus(Protocol):
    async def start(self) -> None: ...

    async def publish(self, topic: str, message: bytes) -> None: ...

    async def subscribe(self, topic: str) -> Subscription: ...

    async def close(self) -> None: ...


class _LocalTopics:
    """Topic → local subscriptions, shared by both buses."""

    def __init__(self) -> None:
        self.topics: dict[str, set[Subscription]] = {}

    def add(self, subscription: Subscription) -> bool:
        """Registers it; True when it is the topic's first local subscriber."""
        members = self.topics.setdefault(subscription.topic, set())
        members.add(subscription)
        return len(members) == 1

    def remove(self, subscription: Subscription) -> bool:
        """Unregisters it; True when the topic has no local subscriber left."""
        members = self.topics.get(subscription.topic)
        if members is None:
            return False
        members.discard(subscription)
        if not members:
            del self.topics[subscription.topic]
            return True
        return False

    def deliver(self, topic: str, message: bytes) -> None:
        for subscription in tuple(self.topics.get(topic, ())):
            subscription.deliver(message)


class InProcessBus:
    """One process: publishing hands the message straight to the local subscribers."""

    def __init__(self) -> None:
        self._local = _LocalTopics()

    async def start(self) -> None:
        return None

    async def publish(self, topic: str, message: bytes) -> None:
        self._local.deliver(topic, message)

    async def subscribe(self, topic: str) -> Subscription:
        subscription = Subscription(topic, self._local.remove)
        self._local.add(subscription)
        return subscription

    async def close(self) -> None:
        self._local.topics.clear()


class RedisBus:
    """Redis pub/sub over one connection per process, multiplexed onto local subscriptions.

    A channel is subscribed on Redis while at least one local subscriber wants it; `subscribe`
    returns once Redis has confirmed the channel, so a message published after that is delivered.
    On a lost connection redis-py reconnects and resubscribes; what was published meanwhile is lost,
    and subscriptions are marked lagged so that their consumers catch up.
    """

    # Subscribed from the start so the connection exists and the reader always has work.
    _KEEPALIVE = "bus"

    def __init__(self, client: aioredis.Redis, prefix: str) -> None:
        self._client = client
        self._prefix = prefix
        self._pubsub = client.pubsub()
        self._local = _LocalTopics()
        self._confirmations: dict[str, list[asyncio.Future[None]]] = {}
        self._send_lock = asyncio.Lock()
        self._reader: asyncio.Task[None] | None = None

    def _channel(self, topic: str) -> str:
        return f"{self._prefix}{topic}"

    async def start(self) -> None:
        await self._pubsub.subscribe(self._channel(self._KEEPALIVE))
        self._reader = asyncio.create_task(self._read(), name="agentos-bus-reader")

    async def publish(self, topic: str, message: bytes) -> None:
        await self._client.publish(self._channel(topic), message)

    async def subscribe(self, topic: str) -> Subscription:
        subscription = Subscription(topic, self._unsubscribe)
        if self._local.add(subscription):
            channel = self._channel(topic)
            confirmed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._confirmations.setdefault(channel, []).append(confirmed)
            async with self._send_lock:
                await self._pubsub.subscribe(channel)
            try:
                async with asyncio.timeout(10):
                    await confirmed
            except BaseException:
                subscription.close()
                raise
        return subscription

    def _unsubscribe(self, subscription: Subscription) -> None:
        if self._local.remove(subscription):
            channel = self._channel(subscription.topic)
            task = asyncio.get_running_loop().create_task(self._send_unsubscribe(channel))
            task.add_done_callback(_log_failure)

    async def _send_unsubscribe(self, channel: str) -> None:
        # A new local subscriber may have arrived between the close and this task.
        if channel.removeprefix(self._prefix) in self._local.topics:
            return
        async with self._send_lock:
            await self._pubsub.unsubscribe(channel)

    async def _read(self) -> None:
        while True:
            try:
                message = await self._pubsub.get_message(timeout=1.0)
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError) as error:
                log.warning("event bus connection lost, reconnecting: %s", error)
                for members in self._local.topics.values():
                    for subscription in members:
                        subscription.lagged = True
                await asyncio.sleep(_RECONNECT_DELAY_SECONDS)
                continue
            if message is None:
                continue
            kind = message["type"]
            channel = message["channel"]
            channel = channel.decode() if isinstance(channel, bytes) else str(channel)
            if kind == "message":
                self._local.deliver(channel.removeprefix(self._prefix), message["data"])
            elif kind == "subscribe":
                for waiter in self._confirmations.pop(channel, []):
                    if not waiter.done():
                        waiter.set_result(None)

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        # A connection that hangs must not hold up the shutdown of the whole process.
        with contextlib.suppress(RedisError, OSError, TimeoutError):
            async with asyncio.timeout(5):
                await self._pubsub.aclose()  # type: ignore[no-untyped-call]
        self._local.topics.clear()


def _log_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.warning("unsubscribing from the event bus failed: %s", task.exception())
