"""Helpers for the skill proxy and agent channel tests: a real HTTP skill server on 127.0.0.1,
skills that point at it, and a seller agent speaking the agent channel with the generated stubs."""

from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import grpc
from google.protobuf import struct_pb2

from agentos.common.v1 import common_pb2
from agentos.execution.v1 import execution_pb2 as epb
from agentos.execution.v1 import execution_pb2_grpc
from agentos.registry.v1 import registry_pb2 as rpb
from agentos_server.api.values import to_python, to_value

from testkit import AgentHandle, RpcFailure, ServerHandle, assert_refused, unique_id

SKILL_SPEC = json.dumps(
    {
        "openapi": "3.0.3",
        "info": {"title": "Test skill", "version": "1"},
        "paths": {
            "/echo": {
                "post": {
                    "operationId": "echo",
                    "requestBody": {
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "required": ["text"],
                                    "properties": {
                                        "text": {"type": "string", "maxLength": 200},
                                        "count": {"type": "integer", "minimum": 1},
                                    },
                                }
                            }
                        }
                    },
                    "responses": {"200": {"description": "the text back"}},
                }
            },
            "/items/{id}": {
                "get": {
                    "operationId": "getItem",
                    "parameters": [
                        {"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}},
                        {"name": "fields", "in": "query", "schema": {"type": "string"}},
                    ],
                    "responses": {"200": {"description": "an item"}},
                }
            },
            "/slow": {"post": {"operationId": "slow", "responses": {"200": {"description": "late"}}}},
            "/fail": {"post": {"operationId": "fail", "responses": {"500": {"description": "broken"}}}},
            "/garbage": {"post": {"operationId": "garbage", "responses": {"200": {"description": "junk"}}}},
            "/reject": {"post": {"operationId": "reject", "responses": {"400": {"description": "no"}}}},
            "/flaky": {"get": {"operationId": "flaky", "responses": {"200": {"description": "eventually"}}}},
            "/flaky-post": {
                "post": {"operationId": "flakyPost", "responses": {"200": {"description": "no"}}}
            },
        },
    }
)


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes


@dataclass
class SkillHttpServer:
    """A seller's skill endpoint: real HTTP on loopback, answering by path."""

    slow_seconds: float = 2.0
    flaky_failures: int = 0
    seen: list[Seen] = field(default_factory=list)
    httpd: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.httpd is not None
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def hits(self, path: str) -> int:
        return sum(1 for s in self.seen if s.path == path)

    def start(self) -> SkillHttpServer:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _reply(self, status: int, body: bytes, content_type: str = "application/json") -> None:
                self.send_response(status)
                self.send_header("content-type", content_type)
                # A seller may try to keep state in the proxy; the proxy must not carry it.
                self.send_header("set-cookie", f"seller-session={len(owner.seen)}; Path=/")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _handle(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                owner.seen.append(
                    Seen(
                        self.command,
                        parts.path,
                        dict(parse_qsl(parts.query)),
                        {k.lower(): v for k, v in self.headers.items()},
                        body,
                    )
                )
                path = parts.path
                if path == "/echo":
                    payload = json.loads(body or b"null")
                    self._reply(
                        200, json.dumps({"echo": payload, "buyer": self.headers["x-agentos-buyer"]}).encode()
                    )
                elif path.startswith("/items/"):
                    item = {"id": int(path.rsplit("/", 1)[1]), "query": dict(parse_qsl(parts.query))}
                    self._reply(200, json.dumps(item).encode())
                elif path == "/slow":
                    time.sleep(owner.slow_seconds)
                    self._reply(200, b'{"late": true}')
                elif path == "/fail":
                    self._reply(500, b'{"error": "database on fire"}')
                elif path == "/garbage":
                    self._reply(200, b"<html>not json</html>", "text/html")
                elif path == "/reject":
                    self._reply(400, b'{"message": "subject is too rude"}')
                elif path in ("/flaky", "/flaky-post"):
                    if owner.hits(path) <= owner.flaky_failures:
                        self._reply(503, b'{"error": "warming up"}')
                    else:
                        self._reply(200, b'{"ok": true}')
                else:
                    self._reply(404, b'{"error": "no such path"}')

            do_GET = _handle
            do_POST = _handle
            do_PUT = _handle
            do_DELETE = _handle

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.httpd is not None:
            self.httpd.shutdown()
            self.httpd.server_close()


def counted(server: ServerHandle) -> None:
    """Writes the call counts the proxy batches for the Marketplace (domain/proxy/counts.py) now."""
    server.run(server.runtime.proxy.counts.flush())


def refused(
    server: ServerHandle, call: Callable[[], Any], code: grpc.StatusCode, **expected: Any
) -> RpcFailure:
    """assert_refused, once earlier calls' counts are written: a batch landing in the middle would
    look like the refused call writing."""
    counted(server)
    return assert_refused(server, call, code, **expected)


def usdc(amount: int) -> common_pb2.Money:
    return common_pb2.Money(asset="USDC", amount=amount)


def pay_per_call(price: int) -> rpb.Pricing:
    return rpb.Pricing(
        model=rpb.PRICING_MODEL_USAGE,
        price=usdc(price),
        usage_unit="call",
        usage_billing=rpb.USAGE_BILLING_PAY_PER_CALL,
    )


def prepaid_units(price: int) -> rpb.Pricing:
    return rpb.Pricing(
        model=rpb.PRICING_MODEL_USAGE,
        price=usdc(price),
        usage_unit="call",
        usage_billing=rpb.USAGE_BILLING_PREPAID_UNITS,
    )


FREE = rpb.Pricing(model=rpb.PRICING_MODEL_FREE)


def create_skill(
    server: ServerHandle,
    owner: AgentHandle,
    *,
    endpoint: rpb.SkillEndpoint,
    spec: str = SKILL_SPEC,
    pricing: rpb.Pricing | None = None,
) -> rpb.Skill:
    skill = rpb.Skill(
        display_name=f"Proxy test {unique_id('s')}",
        version="1.0.0",
        description="A skill the proxy tests call",
        category=rpb.CATEGORY_UTILITY,
        pricing=pricing or pay_per_call(1_000),
        openapi_spec=spec,
        endpoint=endpoint,
    )
    response: rpb.CreateSkillResponse = server.registry.CreateSkill(
        rpb.CreateSkillRequest(skill_id=unique_id("skill"), skill=skill), metadata=owner.auth
    )
    return response.skill


def https_skill(server: ServerHandle, owner: AgentHandle, http: SkillHttpServer, **kwargs: Any) -> rpb.Skill:
    return create_skill(server, owner, endpoint=rpb.SkillEndpoint(https_url=http.url), **kwargs)


def execute(
    server: ServerHandle,
    caller: AgentHandle,
    skill: str,
    operation: str,
    payload: Any = None,
    *,
    key: str = "",
    timeout_ms: int = 0,
) -> epb.ExecuteSkillResponse:
    request = epb.ExecuteSkillRequest(
        skill=skill, operation=operation, idempotency_key=key, timeout_ms=timeout_ms
    )
    if payload is not None:
        request.payload.CopyFrom(to_value(payload))
    response: epb.ExecuteSkillResponse = server.execution.ExecuteSkill(
        request, metadata=caller.auth, timeout=30
    )
    return response


def result_of(response: epb.ExecuteSkillResponse) -> Any:
    return to_python(response.result)


def usage_records(
    server: ServerHandle, caller: AgentHandle, *, seller: bool = False, skill: str = ""
) -> list[epb.UsageRecord]:
    role = epb.USAGE_ROLE_SELLER if seller else epb.USAGE_ROLE_BUYER
    found: list[epb.UsageRecord] = []
    token = ""
    while True:
        page: epb.ListUsageRecordsResponse = server.execution.ListUsageRecords(
            epb.ListUsageRecordsRequest(role=role, skill=skill, page_size=100, page_token=token),
            metadata=caller.auth,
        )
        found.extend(page.usage_records)
        token = page.next_page_token
        if not token:
            return found


# --- a seller agent on the agent channel ------------------------------------------------------------

Answerer = Callable[[epb.ChannelCall], struct_pb2.Value | epb.ChannelError | None]


class ChannelAgent:
    """A seller agent holding one ConnectAgent stream, answering calls with `answer` on a thread.

    `answer` returns the result (a Value), a ChannelError, or None to leave the call unanswered.
    """

    def __init__(
        self,
        address: str,
        agent: AgentHandle,
        answer: Answerer,
        *,
        skills: list[str] | None = None,
        max_concurrency: int = 0,
    ) -> None:
        self._channel = grpc.insecure_channel(address)
        self._stub = execution_pb2_grpc.ExecutionServiceStub(self._channel)
        self._outgoing: queue.Queue[epb.ConnectAgentRequest | None] = queue.Queue()
        self._outgoing.put(
            epb.ConnectAgentRequest(
                hello=epb.ChannelHello(skills=skills or [], max_concurrency=max_concurrency)
            )
        )
        self.answer = answer
        self.calls: list[epb.ChannelCall] = []
        self.cancels: list[epb.ChannelCancel] = []
        self.pongs: list[int] = []
        self.welcome: epb.ChannelWelcome | None = None
        self.error: grpc.RpcError | None = None
        self._welcomed = threading.Event()
        self._stream = self._stub.ConnectAgent(self._requests(), metadata=agent.auth)
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _requests(self) -> Iterator[epb.ConnectAgentRequest]:
        while True:
            item = self._outgoing.get()
            if item is None:
                return
            yield item

    def _run(self) -> None:
        try:
            for message in self._stream:
                kind = message.WhichOneof("message")
                if kind == "welcome":
                    self.welcome = message.welcome
                    self._welcomed.set()
                elif kind == "call":
                    self.calls.append(message.call)
                    threading.Thread(target=self._serve, args=(message.call,), daemon=True).start()
                elif kind == "cancel":
                    self.cancels.append(message.cancel)
                elif kind == "pong":
                    self.pongs.append(message.pong.nonce)
        except grpc.RpcError as error:
            self.error = error
        finally:
            self._welcomed.set()

    def _serve(self, call: epb.ChannelCall) -> None:
        outcome = self.answer(call)
        if outcome is None:
            return
        if isinstance(outcome, epb.ChannelError):
            result = epb.ChannelResult(call_id=call.call_id, error=outcome)
        else:
            result = epb.ChannelResult(call_id=call.call_id, result=outcome)
        self._outgoing.put(epb.ConnectAgentRequest(result=result))

    def send(self, request: epb.ConnectAgentRequest) -> None:
        self._outgoing.put(request)

    def wait_welcome(self, timeout: float = 10) -> epb.ChannelWelcome:
        assert self._welcomed.wait(timeout), "no welcome"
        if self.welcome is None:
            raise AssertionError(f"the channel was refused: {self.error}")
        return self.welcome

    def close(self) -> None:
        """Ends the stream from the agent's side (as a process exit would)."""
        self._stream.cancel()
        self._outgoing.put(None)
        self._thread.join(timeout=10)
        self._channel.close()

    def finish(self) -> None:
        """Half-closes: the agent says it sends nothing more."""
        self._outgoing.put(None)


def echo_answer(call: epb.ChannelCall) -> struct_pb2.Value:
    return to_value({"echo": to_python(call.payload), "operation": call.operation, "buyer": call.buyer})


def wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.01)
