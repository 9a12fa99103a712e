"""The agent channel: seller agents connect outbound (ConnectAgent) and answer the calls routed to
their skills, so an agent behind NAT can sell.

Protocol (the API layer speaks it on the gRPC stream; this module keeps the state):

1. The agent opens ConnectAgent with its API key and sends `hello` first (within
   AGENTOS_CHANNEL_HELLO_TIMEOUT_SECONDS): the skills it serves — its own, each with the
   agent_channel endpoint — or none to serve all of its agent_channel skills (including ones it
   publishes later), and `max_concurrency` (0 means 16).
2. AgentOS answers `welcome` with the connection id and the skills it serves now.
3. For each call AgentOS sends `call` (call_id, skill, operation, payload, buyer, deadline); the
   agent answers `result` with the same call_id and either a JSON result or an error
   (reason, message). Answers may come in any order. An answer for an unknown or finished call is
   ignored. A `ping` is answered with a `pong` carrying its nonce.
4. When a call's deadline passes AgentOS sends `cancel` (call_id, reason) and the buyer gets
   DEADLINE_EXCEEDED; a late answer is ignored.
5. When the stream ends, every call in flight on it fails UNAVAILABLE (AGENT_DISCONNECTED) and is
   not charged.

Routing. Several connections of one agent share its calls: a call goes to the local connection
with the fewest calls in flight that still has room under its max_concurrency. With none local,
the relay (Redis, when configured) forwards it to a connection on another replica, round robin.
When every connection is full the call waits for room until its deadline (then DEADLINE_EXCEEDED,
AGENT_BUSY, not recorded: it never reached the agent). No connection at all: UNAVAILABLE,
AGENT_NOT_CONNECTED, not recorded.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import select

from agentos_server.domain.errors import (
    DeadlineExceeded,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    Unavailable,
    Violations,
)
from agentos_server.domain.ids import new_id, parse_name
from agentos_server.domain.proxy.dispatch import (
    Answer,
    CallFailed,
    SkillCall,
    timed_out,
    upstream_error,
    upstream_rejected,
)
from agentos_server.infra.db import Database
from agentos_server.infra.tables.listings import SkillRow

log = logging.getLogger("agentos.channel")

DEFAULT_MAX_CONCURRENCY = 16
MAX_CONCURRENCY = 1024
MAX_HELLO_SKILLS = 256
# Reasons with which an agent says the input was wrong rather than that it failed.
_REJECTION_REASONS = frozenset({"BAD_PAYLOAD", "INVALID_ARGUMENT", "BAD_REQUEST", "INVALID_PAYLOAD"})

JsonValue = Any


@dataclass(frozen=True)
class OutgoingCall:
    call_id: str
    skill_id: str
    operation: str
    payload: JsonValue
    buyer_id: str
    # Seconds since the epoch.
    deadline_epoch: float


@dataclass(frozen=True)
class OutgoingCancel:
    call_id: str
    reason: str


@dataclass(frozen=True)
class Pong:
    nonce: int


ChannelMessage = OutgoingCall | OutgoingCancel | Pong


@dataclass(frozen=True)
class AgentReply:
    """An agent's answer to one call: a result, or an error it reports."""

    call_id: str
    value: JsonValue = None
    error_reason: str = ""
    error_message: str = ""
    is_error: bool = False
    # Size of the answer as it arrived on the stream.
    size: int = 0


@dataclass(eq=False)
class Connection:
    id: str
    agent_id: str
    # Skill ids served; None means every agent_channel skill of the agent.
    skills: frozenset[str] | None
    max_concurrency: int
    outbox: asyncio.Queue[ChannelMessage | None] = field(default_factory=asyncio.Queue)
    pending: dict[str, asyncio.Future[AgentReply]] = field(default_factory=dict)
    closed: bool = False

    def serves(self, agent_id: str, skill_id: str) -> bool:
        return self.agent_id == agent_id and (self.skills is None or skill_id in self.skills)

    @property
    def has_room(self) -> bool:
        return not self.closed and len(self.pending) < self.max_concurrency

    def send(self, message: ChannelMessage) -> None:
        if not self.closed:
            self.outbox.put_nowait(message)


class ChannelRelay(Protocol):
    """Reaches connections held by other replicas (infra/channel_relay.py)."""

    async def advertise(self, connection: Connection) -> None: ...

    async def withdraw(self, connection: Connection) -> None: ...

    async def call_remote(self, call: SkillCall) -> Answer:
        """Forwards the call to a connection on another replica; UNAVAILABLE AGENT_NOT_CONNECTED
        when there is none."""
        ...

    async def aclose(self) -> None: ...


def not_connected(seller_id: str, skill_id: str) -> Unavailable:
    return Unavailable(
        f"agents/{seller_id} is not connected to serve skills/{skill_id}; the seller agent must "
        "hold a ConnectAgent stream open",
        reason="AGENT_NOT_CONNECTED",
    )


def failure_from_agent(reply: AgentReply) -> CallFailed:
    reason = reply.error_reason.strip().upper()[:64] or "SKILL_ERROR"
    message = reply.error_message.strip()[:500] or reason
    if reason in _REJECTION_REASONS:
        return upstream_rejected(
            f"the skill refused the call: {message}", response_bytes=reply.size, upstream_reason=reason
        )
    return upstream_error(f"the skill failed: {message}", response_bytes=reply.size, upstream_reason=reason)


class ChannelHub:
    """This replica's agent connections, and the routing of calls onto them."""

    def __init__(self, relay: ChannelRelay | None = None) -> None:
        self._relay = relay
        self._connections: dict[str, Connection] = {}
        self._by_agent: dict[str, list[Connection]] = {}
        self._room: asyncio.Event = asyncio.Event()

    def set_relay(self, relay: ChannelRelay | None) -> None:
        self._relay = relay

    def connections(self, agent_id: str) -> list[Connection]:
        return list(self._by_agent.get(agent_id, ()))

    async def open(self, agent_id: str, skills: frozenset[str] | None, max_concurrency: int) -> Connection:
        connection = Connection(new_id(), agent_id, skills, max_concurrency)
        self._connections[connection.id] = connection
        self._by_agent.setdefault(agent_id, []).append(connection)
        if self._relay is not None:
            await self._relay.advertise(connection)
        return connection

    async def close(self, connection: Connection) -> None:
        """Ends a connection: its calls in flight fail UNAVAILABLE AGENT_DISCONNECTED."""
        if connection.closed:
            return
        connection.closed = True
        self._connections.pop(connection.id, None)
        siblings = self._by_agent.get(connection.agent_id, [])
        if connection in siblings:
            siblings.remove(connection)
        if not siblings:
            self._by_agent.pop(connection.agent_id, None)
        for future in connection.pending.values():
            if not future.done():
                future.set_exception(
                    CallFailed(
                        "failed",
                        Unavailable(
                            f"agents/{connection.agent_id} disconnected before answering",
                            reason="AGENT_DISCONNECTED",
                        ),
                    )
                )
        connection.pending.clear()
        connection.outbox.put_nowait(None)
        self._wake()
        if self._relay is not None:
            try:
                await self._relay.withdraw(connection)
            except Exception:
                log.warning("could not withdraw connection %s from the relay", connection.id, exc_info=True)

    def answer(self, connection: Connection, reply: AgentReply) -> None:
        future = connection.pending.pop(reply.call_id, None)
        if future is not None and not future.done():
            future.set_result(reply)
        self._wake()

    def ping(self, connection: Connection, nonce: int) -> None:
        connection.send(Pong(nonce))

    def _wake(self) -> None:
        self._room.set()
        self._room = asyncio.Event()

    def _pick(self, seller_id: str, skill_id: str) -> tuple[Connection | None, bool]:
        """The local connection with the fewest calls in flight and room for one more; and
        whether any local connection serves the skill at all."""
        best: Connection | None = None
        any_local = False
        for connection in self._by_agent.get(seller_id, ()):
            if not connection.serves(seller_id, skill_id):
                continue
            any_local = True
            if connection.has_room and (best is None or len(connection.pending) < len(best.pending)):
                best = connection
        return best, any_local

    async def call(self, call: SkillCall) -> Answer:
        loop = asyncio.get_running_loop()
        while True:
            connection, any_local = self._pick(call.seller_id, call.skill_id)
            if connection is not None:
                return await self.call_on(connection, call)
            if self._relay is not None:
                try:
                    return await self._relay.call_remote(call)
                except Unavailable as error:
                    if error.reason != "AGENT_NOT_CONNECTED" or not any_local:
                        raise
            elif not any_local:
                raise not_connected(call.seller_id, call.skill_id)
            # Every local connection is full: wait for an answer to free one, or the deadline.
            room = self._room
            remaining = call.deadline - loop.time()
            if remaining <= 0:
                raise DeadlineExceeded(
                    f"every connection of agents/{call.seller_id} stayed busy until the deadline",
                    reason="AGENT_BUSY",
                )
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(remaining):
                    await room.wait()

    async def call_on(self, connection: Connection, call: SkillCall) -> Answer:
        """Sends the call on `connection` and waits for its answer until the deadline."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[AgentReply] = loop.create_future()
        connection.pending[call.call_id] = future
        connection.send(
            OutgoingCall(
                call_id=call.call_id,
                skill_id=call.skill_id,
                operation=call.operation,
                payload=call.payload,
                buyer_id=call.buyer_id,
                deadline_epoch=_epoch_of(call.deadline, loop.time()),
            )
        )
        try:
            async with asyncio.timeout_at(call.deadline):
                reply = await future
        except TimeoutError:
            self._cancel(connection, call.call_id, "deadline exceeded")
            raise timed_out(f"agents/{connection.agent_id} did not answer before the deadline") from None
        except asyncio.CancelledError:
            self._cancel(connection, call.call_id, "the caller went away")
            raise
        if reply.is_error:
            raise failure_from_agent(reply)
        return Answer(reply.value, reply.size)

    def _cancel(self, connection: Connection, call_id: str, reason: str) -> None:
        if connection.pending.pop(call_id, None) is not None:
            connection.send(OutgoingCancel(call_id, reason))
            self._wake()

    def get(self, connection_id: str) -> Connection | None:
        return self._connections.get(connection_id)

    async def close_all(self) -> None:
        for connection in list(self._connections.values()):
            await self.close(connection)


def _epoch_of(deadline: float, loop_now: float) -> float:
    return time.time() + (deadline - loop_now)


class ChannelSkills:
    """Checks what a hello asks to serve."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def resolve_hello(
        self, agent_id: str, names: Iterable[str], max_concurrency: int
    ) -> tuple[frozenset[str] | None, list[str], int]:
        """(skills to route, or None for all; the skill ids served now; max concurrency)."""
        names = list(names)
        v = Violations()
        if max_concurrency < 0 or max_concurrency > MAX_CONCURRENCY:
            v.add(
                "hello.max_concurrency", f"must be 0 (meaning {DEFAULT_MAX_CONCURRENCY}) to {MAX_CONCURRENCY}"
            )
        if len(names) > MAX_HELLO_SKILLS:
            v.add("hello.skills", f"must list at most {MAX_HELLO_SKILLS} skills")
        ids: list[str] = []
        for index, name in enumerate(names):
            try:
                ids.append(parse_name(name, "skills", f"hello.skills[{index}]"))
            except InvalidArgument as error:
                v.extend(error)
        v.raise_if_any()
        concurrency = max_concurrency or DEFAULT_MAX_CONCURRENCY
        async with self._db.snapshot() as session:
            if ids:
                rows = {
                    r.id: r
                    for r in (await session.scalars(select(SkillRow).where(SkillRow.id.in_(ids)))).all()
                }
            else:
                rows = {
                    r.id: r
                    for r in (
                        await session.scalars(select(SkillRow).where(SkillRow.owner_id == agent_id))
                    ).all()
                }
        if not ids:
            served = sorted(i for i, r in rows.items() if "agent_channel" in (r.endpoint or {}))
            if not served:
                raise FailedPrecondition(
                    f"agents/{agent_id} publishes no skill with the agent_channel endpoint",
                    reason="NO_CHANNEL_SKILLS",
                )
            return None, served, concurrency
        for index, skill_id in enumerate(ids):
            where = f"hello.skills[{index}]"
            row = rows.get(skill_id)
            if row is None:
                raise NotFound(
                    f"skills/{skill_id} does not exist", reason="SKILL_NOT_FOUND", metadata={"field": where}
                )
            if row.owner_id != agent_id:
                raise PermissionDenied(
                    f"skills/{skill_id} belongs to agents/{row.owner_id}; "
                    "an agent serves only its own skills",
                    reason="NOT_OWNER",
                    metadata={"field": where},
                )
            if "agent_channel" not in (row.endpoint or {}):
                raise FailedPrecondition(
                    f"skills/{skill_id} is not served over the agent channel (its endpoint is "
                    f"{next(iter(row.endpoint or {'none': 0}))})",
                    reason="NOT_AN_AGENT_CHANNEL_SKILL",
                    metadata={"field": where},
                )
        unique = sorted(set(ids))
        return frozenset(unique), unique, concurrency
