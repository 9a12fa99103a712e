"""Capped capture of one output stream, delivered live to an optional callback."""

from __future__ import annotations

from agentos_server.infra.sandbox.base import OutputCallback, StreamName


class CappedStream:
    """Keeps at most `cap` bytes of a stream and hands each kept chunk to `on_output` as it arrives.

    Bytes past the cap are neither kept nor delivered, so a script printing without end costs the
    server `cap` bytes of memory, not the size of its output.
    """

    def __init__(self, name: StreamName, cap: int, on_output: OutputCallback | None) -> None:
        self.name: StreamName = name
        self.cap = cap
        self._on_output = on_output
        self._kept = bytearray()
        self.overflowed = False

    async def feed(self, chunk: bytes) -> None:
        if not chunk or self.overflowed:
            return
        room = self.cap - len(self._kept)
        if len(chunk) > room:
            self.overflowed = True
            chunk = chunk[:room]
        if chunk:
            self._kept += chunk
            if self._on_output is not None:
                await self._on_output(self.name, chunk)

    def data(self) -> bytes:
        return bytes(self._kept)
