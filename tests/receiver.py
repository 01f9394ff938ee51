"""A real HTTP server on 127.0.0.1 that plays webhook and engagement endpoint.

It records every request as it arrives (before any delay), counts how many are in
flight at once, and answers from a script per path: a status, headers, a body and
a delay. Paths without a script answer 200.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.parse
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | str | dict[str, Any] | list[Any] | None = None
    delay: float = 0.0


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    at: float

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def key(self) -> str | None:
        return self.headers.get("x-idempotency-key")


class Receiver:
    """Start with ``Receiver()``; stop with ``close()`` (the fixture does both)."""

    def __init__(self, latency: float = 0.0) -> None:
        self.latency = latency
        self.requests: list[Recorded] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._scripts: dict[str, deque[Reply]] = defaultdict(deque)
        self._responders: dict[str, Callable[[Recorded], Reply]] = {}
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def script(self, path: str, *replies: Reply) -> None:
        """Answer the next requests to a path with these replies, then 200."""
        with self._lock:
            self._scripts[path].extend(replies)

    def respond(self, path: str, responder: Callable[[Recorded], Reply]) -> None:
        """Answer every request to a path with what a function returns."""
        self._responders[path] = responder

    def to(self, path: str) -> list[Recorded]:
        return [r for r in self.requests if r.path == path]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _next_reply(self, recorded: Recorded) -> Reply:
        with self._lock:
            script = self._scripts.get(recorded.path)
            if script:
                return script.popleft()
        responder = self._responders.get(recorded.path)
        if responder is not None:
            return responder(recorded)
        return Reply(delay=self.latency)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return None

            def do_GET(self) -> None:
                self._handle()

            def do_POST(self) -> None:
                self._handle()

            def _handle(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urllib.parse.urlsplit(self.path)
                recorded = Recorded(
                    self.command,
                    parts.path,
                    urllib.parse.parse_qs(parts.query),
                    {k.lower(): v for k, v in self.headers.items()},
                    body,
                    time.monotonic(),
                )
                with receiver._lock:
                    receiver.requests.append(recorded)
                    receiver.in_flight += 1
                    receiver.max_in_flight = max(
                        receiver.max_in_flight, receiver.in_flight
                    )
                try:
                    reply = receiver._next_reply(recorded)
                    if reply.delay:
                        time.sleep(reply.delay)
                    self._write(reply)
                except (BrokenPipeError, ConnectionResetError):
                    pass
                finally:
                    with receiver._lock:
                        receiver.in_flight -= 1

            def _write(self, reply: Reply) -> None:
                body = reply.body
                content_type = "text/plain"
                if body is None:
                    body = b'{"ok": true}'
                    content_type = "application/json"
                elif isinstance(body, dict | list):
                    body = json.dumps(body).encode()
                    content_type = "application/json"
                elif isinstance(body, str):
                    body = body.encode()
                self.send_response(reply.status)
                headers = {"Content-Type": content_type, **reply.headers}
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        return Handler
