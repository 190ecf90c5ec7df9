"""A webhook receiver for tests: a real HTTP server on 127.0.0.1, in a thread of its own.

It keeps every request it gets (headers and body, in arrival order) and answers each with the
status its ``script`` gives for that path, so a test can make a receiver fail twice and then
succeed, answer 410, or be down for a while.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Self

from attrs import frozen

__all__ = ["Received", "WebhookReceiver"]

#: ``(path, how many requests with this webhook-id came before) -> status``.
Script = Callable[[str, int], int]


@frozen
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def webhook_id(self) -> str:
        return self.headers["webhook-id"]


class WebhookReceiver:
    def __init__(self, script: Script | None = None) -> None:
        self.script: Script = script or (lambda _path, _seen: 200)
        self.received: list[Received] = []
        self._changed = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", "0"))
                body = self.rfile.read(length)
                if len(body) < length:  # the sender died mid-request: nothing was delivered
                    self.close_connection = True
                    return
                headers = {key.lower(): value for key, value in self.headers.items()}
                with receiver._changed:
                    seen = sum(
                        1
                        for item in receiver.received
                        if item.headers.get("webhook-id") == headers.get("webhook-id")
                        and item.path == self.path
                    )
                    status = receiver.script(self.path, seen)
                    receiver.received.append(Received(self.path, headers, body))
                    receiver._changed.notify_all()
                self.send_response(status)
                self.send_header("content-length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, format: str, *args: object) -> None:
                del format, args

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def at(self, path: str) -> list[Received]:
        with self._changed:
            return [item for item in self.received if item.path == path]

    def wait_for(
        self, done: Callable[[list[Received]], bool], path: str, timeout: float = 30.0
    ) -> list[Received]:
        """Wait until ``done`` holds for the requests to ``path``; fail after ``timeout``."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                got = [item for item in self.received if item.path == path]
                if done(got):
                    return got
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{path}: still waiting after {timeout} s; got {len(got)}")
                self._changed.wait(left)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
