"""Redis pub/sub mailboxes and an expiring directory, for replicas to hand each other work.

    mailbox = RedisMailbox(client, RedisKeys(prefix))
    await mailbox.start()
    await mailbox.listen("channel:conn:123", on_message)    # subscribed when it returns
    receivers = await mailbox.send("channel:conn:123", b"...")   # 0: nobody listens any more
    await mailbox.put_entry("channel:agent:a", "123", "...", ttl_seconds=30)
    await mailbox.entries("channel:agent:a")                # {"123": "..."}

Pub/sub is at most once: a message published while its listener is gone is lost, which `send`
reports as zero receivers. One pub/sub connection per process carries every mailbox.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from agentos_server.infra.redis import RedisKeys

log = logging.getLogger("agentos.redis_mailbox")

Handler = Callable[[bytes], None]
_RECONNECT_DELAY = 0.5


class RedisMailbox:
    def __init__(self, client: aioredis.Redis, keys: RedisKeys) -> None:
        self._client = client
        self._keys = keys
        self._pubsub = client.pubsub()
        self._handlers: dict[str, Handler] = {}
        self._confirmations: dict[str, asyncio.Future[None]] = {}
        self._lock = asyncio.Lock()
        self._reader: asyncio.Task[None] | None = None

    async def start(self, first_channel: str, handler: Handler) -> None:
        """Listens on a first mailbox (redis-py reads only once something is subscribed)."""
        channel = self._keys(first_channel)
        self._handlers[channel] = handler
        await self._pubsub.subscribe(channel)
        self._reader = asyncio.create_task(self._read(), name="agentos-redis-mailbox")

    async def listen(self, name: str, handler: Handler) -> None:
        channel = self._keys(name)
        self._handlers[channel] = handler
        confirmed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._confirmations[channel] = confirmed
        async with self._lock:
            await self._pubsub.subscribe(channel)
        async with asyncio.timeout(10):
            await confirmed

    async def stop_listening(self, name: str) -> None:
        channel = self._keys(name)
        self._handlers.pop(channel, None)
        async with self._lock:
            await self._pubsub.unsubscribe(channel)

    async def send(self, name: str, data: bytes) -> int:
        return int(await self._client.publish(self._keys(name), data))

    async def put_entry(self, directory: str, entry: str, value: str, *, ttl_seconds: float) -> None:
        key = self._keys(directory)
        async with self._client.pipeline(transaction=True) as pipe:
            pipe.hset(key, entry, value)
            pipe.pexpire(key, int(ttl_seconds * 1000))
            await pipe.execute()

    async def remove_entry(self, directory: str, entry: str) -> None:
        await self._client.hdel(self._keys(directory), entry)

    async def entries(self, directory: str) -> dict[str, str]:
        raw = await self._client.hgetall(self._keys(directory))
        return {_text(k): _text(v) for k, v in raw.items()}

    async def _read(self) -> None:
        while True:
            try:
                message = await self._pubsub.get_message(ignore_subscribe_messages=False, timeout=1.0)
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError) as error:
                # redis-py reconnects and resubscribes on the next read; what was published in
                # between is lost, as pub/sub allows.
                log.warning("redis mailbox connection lost (%s); reconnecting", error)
                await asyncio.sleep(_RECONNECT_DELAY)
                continue
            if message is None:
                continue
            channel = _text(message.get("channel", b""))
            kind = message.get("type")
            if kind == "subscribe":
                confirmed = self._confirmations.pop(channel, None)
                if confirmed is not None and not confirmed.done():
                    confirmed.set_result(None)
            elif kind == "message":
                handler = self._handlers.get(channel)
                if handler is not None:
                    try:
                        handler(bytes(message["data"]))
                    except Exception:
                        log.exception("a mailbox handler failed on %s", channel)

    async def aclose(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
            self._reader = None
        with contextlib.suppress(RedisError, OSError):
            await self._pubsub.aclose()  # type: ignore[no-untyped-call]


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
