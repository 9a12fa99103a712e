"""Agent channel calls across replicas, through Redis.

Each replica keeps a directory entry per agent connection it holds, in the hash
`channel:agent:{agent_id}` (field: connection id; value: replica id, served skills, expiry),
refreshed every `heartbeat_seconds` and dropped when the connection ends. It listens on one
mailbox per connection, `channel:conn:{connection_id}`, for calls and cancels, and on
`channel:reply:{replica_id}` for the answers to calls it forwarded.

A replica with a call for an agent it holds no connection of reads the directory, picks a live
connection elsewhere (round robin) and publishes the call to its mailbox. Zero receivers means that
connection is gone: its entry is removed and the next one is tried. The holder runs the call on
the connection exactly as a local one and publishes the answer (result, failure, or refusal) to
the caller's reply mailbox. When the deadline passes first, the caller publishes a cancel, which
the holder turns into a ChannelCancel to the agent.

Limits: pub/sub is at most once. If the holding replica dies mid-call, the answer never comes and
the caller fails at its deadline (DEADLINE_EXCEEDED) rather than at once; entries of a dead
replica linger until they expire (3 heartbeats) but cost only a publish with zero receivers.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import time
from typing import Any

from agentos_server.domain.errors import (
    Aborted,
    AlreadyExists,
    Code,
    DeadlineExceeded,
    DomainError,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    ResourceExhausted,
    Unauthenticated,
    Unavailable,
    Unimplemented,
)
from agentos_server.domain.proxy.channel import ChannelHub, Connection, not_connected
from agentos_server.domain.proxy.dispatch import Answer, CallFailed, SkillCall, timed_out
from agentos_server.domain.proxy.operations import PreparedCall
from agentos_server.infra.redis_mailbox import RedisMailbox

log = logging.getLogger("agentos.channel.relay")

_ERRORS: dict[Code, type[DomainError]] = {
    cls.code: cls
    for cls in (
        InvalidArgument,
        NotFound,
        AlreadyExists,
        PermissionDenied,
        Unauthenticated,
        FailedPrecondition,
        ResourceExhausted,
        Aborted,
        DeadlineExceeded,
        Unavailable,
        Unimplemented,
    )
}


def _error_document(error: DomainError) -> dict[str, Any]:
    return {
        "code": error.code.value,
        "reason": error.reason,
        "message": error.message,
        "metadata": error.metadata,
        "retry_after": error.retry_after_seconds,
    }


def _error_of(document: dict[str, Any]) -> DomainError:
    cls = _ERRORS.get(Code(document.get("code", "UNAVAILABLE")), Unavailable)
    return cls(
        str(document.get("message", "")),
        reason=str(document.get("reason", "")) or None,
        metadata=document.get("metadata") or {},
        retry_after_seconds=document.get("retry_after"),
    )


class RedisChannelRelay:
    def __init__(
        self, mailbox: RedisMailbox, hub: ChannelHub, *, replica_id: str, heartbeat_seconds: float = 10.0
    ) -> None:
        self._mailbox = mailbox
        self._hub = hub
        self.replica_id = replica_id
        self._heartbeat = heartbeat_seconds
        self._local: dict[str, Connection] = {}
        self._waiting: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._serving: dict[str, asyncio.Task[None]] = {}
        self._turn = itertools.count()
        self._beat: asyncio.Task[None] | None = None

    @property
    def _reply_box(self) -> str:
        return f"channel:reply:{self.replica_id}"

    async def start(self) -> None:
        await self._mailbox.start(self._reply_box, self._on_reply)
        self._beat = asyncio.create_task(self._heartbeats(), name="agentos-channel-heartbeat")

    async def aclose(self) -> None:
        if self._beat is not None:
            self._beat.cancel()
        for connection in list(self._local.values()):
            await self.withdraw(connection)
        for task in list(self._serving.values()):
            task.cancel()
        await self._mailbox.aclose()

    # --- this replica's connections -----------------------------------------------------------

    def _entry(self, connection: Connection) -> str:
        return json.dumps(
            {
                "replica": self.replica_id,
                "skills": sorted(connection.skills) if connection.skills is not None else None,
                "expires": time.time() + 3 * self._heartbeat,
            }
        )

    async def advertise(self, connection: Connection) -> None:
        self._local[connection.id] = connection
        await self._mailbox.listen(
            f"channel:conn:{connection.id}", lambda data: self._on_request(connection.id, data)
        )
        await self._mailbox.put_entry(
            f"channel:agent:{connection.agent_id}",
            connection.id,
            self._entry(connection),
            ttl_seconds=3 * self._heartbeat,
        )

    async def withdraw(self, connection: Connection) -> None:
        if self._local.pop(connection.id, None) is None:
            return
        await self._mailbox.remove_entry(f"channel:agent:{connection.agent_id}", connection.id)
        await self._mailbox.stop_listening(f"channel:conn:{connection.id}")

    async def _heartbeats(self) -> None:
        while True:
            await asyncio.sleep(self._heartbeat)
            for connection in list(self._local.values()):
                try:
                    await self._mailbox.put_entry(
                        f"channel:agent:{connection.agent_id}",
                        connection.id,
                        self._entry(connection),
                        ttl_seconds=3 * self._heartbeat,
                    )
                except Exception:
                    log.warning("channel heartbeat failed", exc_info=True)

    def _on_request(self, connection_id: str, data: bytes) -> None:
        message = json.loads(data)
        if message.get("type") == "cancel":
            task = self._serving.pop(str(message.get("call_id")), None)
            if task is not None:
                task.cancel()
            return
        task = asyncio.get_running_loop().create_task(self._serve(connection_id, message))
        self._serving[str(message["call_id"])] = task
        task.add_done_callback(lambda _: self._serving.pop(str(message["call_id"]), None))

    async def _serve(self, connection_id: str, message: dict[str, Any]) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + (float(message["deadline"]) - time.time())
        reply: dict[str, Any] = {"call_id": message["call_id"]}
        connection = self._hub.get(connection_id)
        try:
            if connection is None or connection.closed:
                raise not_connected(str(message["seller"]), str(message["skill"]))
            call = SkillCall(
                call_id=str(message["call_id"]),
                skill_id=str(message["skill"]),
                skill_version=str(message.get("version", "")),
                seller_id=connection.agent_id,
                buyer_id=str(message["buyer"]),
                prepared=PreparedCall(str(message["operation"]), "", "", (), True),
                payload=message.get("payload"),
                body=b"",
                endpoint={"agent_channel": {}},
                deadline=deadline,
            )
            answer = await self._hub.call_on(connection, call)
            reply |= {"status": "ok", "value": answer.value, "size": answer.response_bytes}
        except CallFailed as failed:
            reply |= {
                "status": "failed",
                "outcome": failed.outcome,
                "size": failed.response_bytes,
                "error": _error_document(failed.error),
            }
        except DomainError as error:
            reply |= {"status": "refused", "error": _error_document(error)}
        except asyncio.CancelledError:
            return  # the caller gave up and will not read an answer
        await self._mailbox.send(str(message["reply_to"]), json.dumps(reply).encode())

    # --- calls for connections elsewhere ------------------------------------------------------

    def _on_reply(self, data: bytes) -> None:
        message = json.loads(data)
        future = self._waiting.pop(str(message.get("call_id")), None)
        if future is not None and not future.done():
            future.set_result(message)

    async def _candidates(self, call: SkillCall) -> list[str]:
        directory = f"channel:agent:{call.seller_id}"
        now = time.time()
        found = []
        for connection_id, raw in (await self._mailbox.entries(directory)).items():
            try:
                entry = json.loads(raw)
            except ValueError:
                continue
            skills = entry.get("skills")
            if entry.get("replica") == self.replica_id or float(entry.get("expires", 0)) < now:
                continue
            if skills is None or call.skill_id in skills:
                found.append(connection_id)
        found.sort()
        if found:
            start = next(self._turn) % len(found)
            found = found[start:] + found[:start]
        return found

    async def call_remote(self, call: SkillCall) -> Answer:
        loop = asyncio.get_running_loop()
        message = {
            "type": "call",
            "call_id": call.call_id,
            "skill": call.skill_id,
            "version": call.skill_version,
            "seller": call.seller_id,
            "buyer": call.buyer_id,
            "operation": call.operation,
            "payload": call.payload,
            "deadline": time.time() + (call.deadline - loop.time()),
            "reply_to": self._reply_box,
        }
        data = json.dumps(message).encode()
        for connection_id in await self._candidates(call):
            future: asyncio.Future[dict[str, Any]] = loop.create_future()
            self._waiting[call.call_id] = future
            box = f"channel:conn:{connection_id}"
            if await self._mailbox.send(box, data) == 0:
                # Nobody listens: the connection (or its replica) is gone.
                self._waiting.pop(call.call_id, None)
                await self._mailbox.remove_entry(f"channel:agent:{call.seller_id}", connection_id)
                continue
            try:
                async with asyncio.timeout_at(call.deadline):
                    reply = await future
            except TimeoutError:
                await self._mailbox.send(
                    box, json.dumps({"type": "cancel", "call_id": call.call_id}).encode()
                )
                raise timed_out(f"agents/{call.seller_id} did not answer before the deadline") from None
            finally:
                self._waiting.pop(call.call_id, None)
            status = reply.get("status")
            if status == "ok":
                return Answer(reply.get("value"), int(reply.get("size", 0)))
            error = _error_of(reply.get("error") or {})
            if status == "failed":
                size = int(reply.get("size", 0))
                if reply.get("outcome") == "timed_out":
                    raise CallFailed("timed_out", error, size)
                raise CallFailed("failed", error, size)
            if error.reason == "AGENT_NOT_CONNECTED":
                continue  # that connection closed just now; try another
            raise error
        raise not_connected(call.seller_id, call.skill_id)
