"""The headers every answer of the REST API carries, whatever route or error made it.

An answer of ``/api/`` may hold an edit token or a note's text: ``no-store``
keeps it out of the browser's and any proxy's cache, and ``nosniff`` stops a
browser from reading a note's Markdown (``export.md``) as anything but what its
``Content-Type`` says. Pages set their own (``web.routes.pages``).
"""

from __future__ import annotations

from web.request_checks import ASGIApp, Message, Receive, Scope, Send

API_PREFIX = "/api/"
API_HEADERS = ((b"cache-control", b"no-store"), (b"x-content-type-options", b"nosniff"))


class ApiHeaders:
    """ASGI middleware: add :data:`API_HEADERS` to answers under ``/api/`` that lack them."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(API_PREFIX):
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                present = {name.lower() for name, _value in headers}
                headers += [(name, value) for name, value in API_HEADERS if name not in present]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)
