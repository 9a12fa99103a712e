"""A real HTTP server on loopback that plays recorded provider responses and records what it got.

The adapters talk to it over TCP exactly as they would to the vendor, so these tests exercise the
real httpx client, real headers and real JSON on the wire.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "providers"


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def fixture_json(name: str) -> Any:
    return json.loads(fixture_bytes(name))


@dataclass(frozen=True)
class Reply:
    status: int = 200
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)
    delay: float = 0.0


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    headers: Mapping[str, str]  # lower-cased names
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class RecordingServer:
    def __init__(self) -> None:
        self.requests: list[Received] = []
        self._replies: deque[Reply] = deque()
        self._default: Reply | None = None
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length)
                owner._record(
                    Received(
                        method="POST",
                        path=self.path,
                        headers={k.lower(): v for k, v in self.headers.items()},
                        body=body,
                    )
                )
                reply = owner._next_reply()
                if reply.delay and owner._stopping.wait(reply.delay):
                    return
                self.send_response(reply.status)
                headers = {"content-type": "application/json", **reply.headers}
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("content-length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            block_on_close = False

            def handle_error(self, request: object, client_address: object) -> None:
                # A client that timed out and hung up is what some tests are about.
                pass

        self._server = Server(("127.0.0.1", 0), Handler)
        # A short poll keeps shutdown() (which waits for the next poll) from dominating test time.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )
        self._thread.start()

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def reply(
        self,
        body: bytes | str | Mapping[str, Any] = b"",
        *,
        status: int = 200,
        headers: Mapping[str, str] | None = None,
        delay: float = 0.0,
        fixture: str | None = None,
        always: bool = False,
    ) -> None:
        """Queue the next reply (or, with ``always``, the reply to every request)."""
        if fixture is not None:
            data = fixture_bytes(fixture)
        elif isinstance(body, Mapping):
            data = json.dumps(body).encode()
        elif isinstance(body, str):
            data = body.encode()
        else:
            data = body
        reply = Reply(status=status, body=data, headers=dict(headers or {}), delay=delay)
        with self._lock:
            if always:
                self._default = reply
            else:
                self._replies.append(reply)

    @property
    def last(self) -> Received:
        assert self.requests, "the server received no request"
        return self.requests[-1]

    def _record(self, received: Received) -> None:
        with self._lock:
            self.requests.append(received)

    def _next_reply(self) -> Reply:
        with self._lock:
            if self._replies:
                return self._replies.popleft()
            if self._default is not None:
                return self._default
        return Reply(status=500, body=b'{"error": {"message": "test server: no reply scripted"}}')

    def close(self) -> None:
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
