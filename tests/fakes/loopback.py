"""What every fake API shares: an HTTP server on 127.0.0.1 on a thread of its own, started and
stopped by `with`."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self


class LoopbackServer(ThreadingHTTPServer):
    """Accepts as a real API's front end does: http.server's listen backlog of 5 resets
    connections when 20 arrive at once on a busy machine, which no real service does."""

    request_queue_size = 128
    daemon_threads = True


class Served:
    """Base of a fake: call `self._listen(handler)` in `__init__`; `url` is its base URL."""

    _server: LoopbackServer
    _thread: threading.Thread

    def _listen(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self._server = LoopbackServer(("127.0.0.1", 0), handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._server.shutdown()
        self._server.server_close()
