"""What the app sees of a request: an unambiguous framing and a bounded body (ASGI).

Both wrap the app inside :class:`web.http_transport.HttpProtocol`, one per
connection, and answer before the app is called when they can.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

UPLOAD_PATH = re.compile(r"/api/notes/[^/]+/files")
"""Where files are uploaded (``web.routes.files``): bodies up to ``--max-file-bytes``..."""
MULTIPART_SLACK_BYTES = 64 * 1024
"""...and this much: a multipart body's boundaries, part headers and file name."""


class BodyLimit:
    """ASGI: refuse request bodies over ``max_bytes`` with 413, before reading them if declared.

    A declared ``Content-Length`` over the limit is answered at once and the app is
    never called; a body without one is counted as the app reads it, and the read
    that passes the limit gets the 413 sent and a disconnect returned, so the app
    stops. The 413 closes the connection, so the rest of the body is never read.
    """

    def __init__(
        self,
        app: ASGIApp,
        max_bytes: int,
        on_refused: Callable[[int | None, int], None],
        upload_bytes: int = 0,
    ):
        self.app = app
        self.max_bytes = max_bytes
        self.upload_bytes = upload_bytes  # a file upload's bound, if larger
        self.on_refused = on_refused

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.max_bytes
        if scope["method"] == "POST" and UPLOAD_PATH.fullmatch(scope["path"]):
            limit = max(limit, self.upload_bytes)
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            self.on_refused(declared, limit)
            await self.send_413(send, limit)
            return
        await _LimitedRequest(self, limit, receive, send).run(scope)

    async def send_413(self, send: Send, limit: int) -> None:
        """Answer 413 and close the connection, so the rest of the body is never read."""
        if limit == self.upload_bytes > self.max_bytes:  # in the upload route's own words
            detail = f"the file is larger than {limit - MULTIPART_SLACK_BYTES} bytes"
        else:
            detail = f"the request body is larger than the server accepts ({limit} bytes)"
        await send_closing(send, 413, detail)


class _LimitedRequest:
    """One request whose body is counted as the app reads it."""

    def __init__(self, limit: BodyLimit, max_bytes: int, receive: Receive, send: Send) -> None:
        self.limit = limit
        self.max_bytes = max_bytes
        self._receive = receive
        self._send = send
        self.received = 0
        self.started = False
        self.refused = False

    async def run(self, scope: Scope) -> None:
        try:
            await self.limit.app(scope, self.receive, self.send)
        except Exception:
            if not self.refused:
                raise
            # The app failed on the disconnect it was handed after the 413: expected.

    async def receive(self) -> Message:
        message = await self._receive()
        if message["type"] == "http.request" and not self.refused:
            self.received += len(message.get("body", b""))
            if self.received > self.max_bytes:
                self.refused = True
                self.limit.on_refused(None, self.max_bytes)
                if not self.started:
                    self.started = True
                    await self.limit.send_413(self._send, self.max_bytes)
                return {"type": "http.disconnect"}
        return message

    async def send(self, message: Message) -> None:
        if self.refused:
            return  # the 413 went out instead of whatever the app answers now
        self.started = self.started or message["type"] == "http.response.start"
        await self._send(message)


class FramingCheck:
    """ASGI: refuse a request with both ``Content-Length`` and ``Transfer-Encoding``.

    RFC 9112 (6.3) calls such a request a possible smuggling attempt and says the
    server must close the connection after answering it: a front end that read the
    other header would see a different request boundary. It is answered 400 and
    the connection is closed (before, uvicorn used the chunked framing and kept the
    connection open). The app is never called.
    """

    def __init__(self, app: ASGIApp, on_refused: Callable[[], None]) -> None:
        self.app = app
        self.on_refused = on_refused

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _both_framings(scope):
            await self.app(scope, receive, send)
            return
        self.on_refused()
        detail = "a request may not have both Content-Length and Transfer-Encoding"
        await send_closing(send, 400, detail)


def _both_framings(scope: Scope) -> bool:
    names = {name for name, _value in scope["headers"]}
    return b"content-length" in names and b"transfer-encoding" in names


async def send_closing(send: Send, status: int, detail: str) -> None:
    """Answer ``status`` with a JSON ``detail`` and close the connection afterwards."""
    body = json.dumps({"detail": detail}).encode()
    headers = [(b"content-type", b"application/json"), (b"connection", b"close")]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None  # h11 refuses a malformed length before the app is called
    return None
