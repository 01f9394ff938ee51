"""A lean webhook receiver for benchmarks: asyncio, HTTP/1.1 keep-alive, 127.0.0.1.

It answers every request 200 after a fixed latency and counts the requests and the
most it saw in flight at once. It parses only what httpx sends (a request line,
headers, a Content-Length body), which is enough for a loopback benchmark and keeps
the receiver from being the bottleneck at 0 ms.
"""

from __future__ import annotations

import asyncio
import threading
from collections import Counter

_REPLY = (
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
    b"Content-Length: 12\r\n\r\n"
    b'{"ok": true}'
)
MAX_HEADER_BYTES = 64 * 1024


class FastReceiver:
    """Start with ``FastReceiver(latency)``; stop with ``close()``."""

    def __init__(self, latency: float = 0.0) -> None:
        self.latency = latency
        self.count = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self.by_path: Counter[str] = Counter()
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._server: asyncio.Server | None = None
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the benchmark receiver did not start within 10 s")

    @property
    def port(self) -> int:
        assert self._server is not None
        return self._server.sockets[0].getsockname()[1]

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def reset(self) -> None:
        """Forget the counts, between two measurements."""
        self.count = 0
        self.max_in_flight = 0
        self.by_path.clear()

    def close(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(
            asyncio.start_server(self._handle, "127.0.0.1", 0, backlog=1024)
        )
        self._ready.set()
        try:
            self._loop.run_forever()
        finally:
            self._server.close()
            self._loop.close()

    async def _handle(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                if len(head) > MAX_HEADER_BYTES:
                    break
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value.strip())
                if length:
                    await reader.readexactly(length)
                path = head.split(b" ", 2)[1].decode("latin-1").split("?")[0]

                self.count += 1
                self.by_path[path] += 1
                self.in_flight += 1
                self.max_in_flight = max(self.max_in_flight, self.in_flight)
                try:
                    # Even at 0 ms, yield once so overlapping requests are counted.
                    await asyncio.sleep(self.latency)
                finally:
                    self.in_flight -= 1
                writer.write(_REPLY)
                await writer.drain()
        except (
            asyncio.IncompleteReadError,
            ConnectionError,
            asyncio.LimitOverrunError,
        ):
            pass
        finally:
            writer.close()
