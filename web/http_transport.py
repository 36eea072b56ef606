"""The HTTP transport under Starlette: uvicorn's h11 protocol, plus the limits that a
server facing the open internet needs and uvicorn lacks.

uvicorn times out only an idle keep-alive connection, and any byte resets that
timer; a connection that has not sent a whole request head is never timed out.
Measured on 205f207: 1,030 sockets that each sent half a request head stayed
open for good, so a process with the common limit of 1,024 descriptors could
accept no one else, and nothing was logged. uvicorn's ``limit_concurrency``
does not help there: it is checked only once a request head has arrived, and
not at all for websockets. So this protocol adds:

* a cap on open connections (HTTP and websocket alike): one more is answered
  ``503`` and closed at once, before it can hold a descriptor for long;
* a deadline for each request head, counted from the connection's start or
  from the end of the previous response, so trickling bytes cannot reset it
  (``408``); a request body that stalls for as long is closed the same way;
* a cap on the size of a request head (``431``; ``414`` when even the request
  line is longer), enforced by h11 while it buffers the head, counted here as
  it arrives, and checked again on a pipelined head that came in the same read
  as the request before it (measured on 8da4d82: such a head of 120 KB passed);
* a cap on the size of a request body, checked against ``Content-Length``
  before the body is read and counted while it is read (``413``);
* ``400`` and a closed connection for a request with both ``Content-Length``
  and ``Transfer-Encoding`` (``web.request_checks``).

Each refusal is logged as a warning, at most one line per kind every
:data:`LOG_EVERY_S`, with a count of the others.
"""

from __future__ import annotations

import json
import logging
import re
import resource
from asyncio import TimerHandle, Transport
from dataclasses import dataclass
from typing import Any, ClassVar

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from web.logs import ThrottledLog
from web.request_checks import MULTIPART_SLACK_BYTES, BodyLimit, FramingCheck
from web.settings import Settings

logger = logging.getLogger("web.http")

HEAD_END = re.compile(rb"\n\r?\n")
"""The blank line that ends a request head (h11 also takes bare line feeds)."""

RETRY_AFTER_S = 5
"""What a client refused for too many connections is told to wait."""


@dataclass(frozen=True, slots=True)
class ConnectionLimits:
    """What one server accepts from its connections (``web.settings`` documents each)."""

    max_connections: int
    request_head_timeout_s: float
    max_request_head_bytes: int
    max_request_body_bytes: int
    max_upload_body_bytes: int = 0  # a file upload's body, when larger than the above


def plain_response(status: int, reason: str, detail: str, *headers: str) -> bytes:
    """A complete HTTP/1.1 response that closes the connection, with a JSON ``detail``."""
    body = json.dumps({"detail": detail}).encode()
    head = [
        f"HTTP/1.1 {status} {reason}",
        "content-type: application/json",
        f"content-length: {len(body)}",
        "connection: close",
        *headers,
    ]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


class HttpProtocol(H11Protocol):
    """uvicorn's h11 protocol with connection, time and size limits.

    Bind the limits with :func:`http_protocol`; uvicorn builds one instance per connection.
    """

    limits: ClassVar[ConnectionLimits]
    notices: ClassVar[ThrottledLog]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.limits.max_request_body_bytes:
            limits = self.limits
            self.app = BodyLimit(
                self.app,
                limits.max_request_body_bytes,
                self._body_refused,
                limits.max_upload_body_bytes,
            )
        self.app = FramingCheck(self.app, self._framing_refused)
        self._refused = False
        self._timer: TimerHandle | None = None
        self._waiting: str | None = None  # "head" or "body": what the timer is for
        self._head_bytes = 0  # of the head being received
        self._head_tail = b""  # its last bytes, to find its end across reads
        self._line_bytes = 0  # of its request line
        self._line_ended = False  # whether its request line is complete

    # -- the connection cap ------------------------------------------------------------

    def connection_made(self, transport: Transport) -> None:  # type: ignore[override]
        cap = self.limits.max_connections
        if cap and len(self.connections) >= cap:
            self._refused = True
            self.transport = transport
            peer = _peer(transport.get_extra_info("peername"))
            self.notices.warning(
                "connections", f"refused {peer}: the server has its maximum of {cap} connections"
            )
            detail = f"the server is at its limit of {cap} connections; try again later"
            transport.write(
                plain_response(503, "Service Unavailable", detail, f"retry-after: {RETRY_AFTER_S}")
            )
            transport.close()
            return
        super().connection_made(transport)
        self._wait_for("head")

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_timer()
        if not self._refused:
            super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return
        if self._waiting == "head" and self._head_too_large(data):
            self._refuse_head()
            return
        super().data_received(data)
        if self.transport.get_protocol() is not self:
            return  # upgraded to a websocket, which times its own peer: nothing to follow
        self._follow_state()

    # -- request heads and bodies that take too long -----------------------------------

    def on_response_complete(self) -> None:
        if self._pipelined_head_too_large():
            self._refuse_head()
            return
        super().on_response_complete()
        if not self.transport.is_closing():
            self._follow_state()

    def handle_websocket_upgrade(self, event: h11.Request) -> None:
        self._stop_timer()  # the websocket protocol has its own keepalive
        super().handle_websocket_upgrade(event)

    def _follow_state(self) -> None:
        """Time what the connection now waits for from its client, if anything."""
        state = self.conn.their_state
        if state is h11.IDLE and self.conn.our_state is h11.IDLE:
            if self._waiting != "head":  # a new head: its deadline starts now, once
                self._wait_for("head")
        elif state is h11.SEND_BODY:
            self._wait_for("body")  # a body may take long, but must not stall
        else:
            self._stop_timer()

    def _wait_for(self, what: str) -> None:
        self._stop_timer()
        self._waiting = what
        if what == "head":
            self._count_new_head()
        self._timer = self.loop.call_later(self.limits.request_head_timeout_s, self._timed_out)

    def _stop_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = None
        self._waiting = None

    def _timed_out(self) -> None:
        waiting, self._timer, self._waiting = self._waiting, None, None
        if self.transport.is_closing():
            return
        if waiting == "body" and self.flow.read_paused:
            self._wait_for("body")  # we stopped reading, not the client: the app is behind
            return
        seconds = f"{self.limits.request_head_timeout_s:g} s"
        buffered = len(self.conn.trailing_data[0])
        if waiting == "head" and not buffered:
            # Nothing sent at all: an idle or preconnected socket, closed quietly.
            logger.debug("closed %s: no request within %s", self._peer(), seconds)
            self.transport.close()
            return
        what = "request head" if waiting == "head" else "request body (it stalled)"
        self.notices.warning(
            "timeout", f"closed {self._peer()} with 408: no complete {what} within {seconds}"
        )
        if waiting == "head" or not self.cycle.response_started:  # (cycle: the last request)
            detail = f"the {what} did not arrive within {seconds}"
            self.transport.write(plain_response(408, "Request Timeout", detail))
        self.transport.close()

    # -- oversized heads and bodies ----------------------------------------------------

    def _head_too_large(self, data: bytes) -> bool:
        """Count the bytes of the head being received; True once they pass the limit.

        h11 limits only a head still incomplete in its buffer: one that arrives whole
        in one read is parsed whatever its size, so the head is counted here.
        """
        seen = self._head_tail + data
        end = HEAD_END.search(seen)
        self._head_bytes += end.end() - len(self._head_tail) if end else len(data)
        if not self._line_ended:
            newline = data.find(b"\n")
            self._line_bytes += len(data) if newline < 0 else newline
            self._line_ended = newline >= 0
        self._head_tail = seen[-3:]
        return self._head_bytes > self.limits.max_request_head_bytes

    def _pipelined_head_too_large(self) -> bool:
        """Whether the next request, already buffered, has a head over the limit.

        uvicorn parses a pipelined request from h11's buffer as soon as the response
        before it is complete, with no read in between: count its head first.
        """
        if not self.conn.trailing_data[0] or self.transport.is_closing():
            return False
        return self._count_new_head()

    def _count_new_head(self) -> bool:
        """Start counting a new head from what h11 already holds of it; True if over."""
        self._head_bytes, self._head_tail = 0, b""
        self._line_bytes, self._line_ended = 0, False
        buffered = self.conn.trailing_data[0]
        return bool(buffered) and self._head_too_large(bytes(buffered))

    def send_400_response(self, msg: str) -> None:
        buffered = self.conn.trailing_data[0]
        if len(buffered) > self.limits.max_request_head_bytes:
            # h11 stopped buffering an incomplete head at our limit (a pipelined one:
            # heads that come in reads of their own are counted by _head_too_large).
            newline = buffered.find(b"\n")
            self._line_bytes = len(buffered) if newline < 0 else newline
            self._refuse_head()
        else:
            super().send_400_response(msg)

    def _refuse_head(self) -> None:
        self._stop_timer()
        limit = self.limits.max_request_head_bytes
        if self._line_bytes <= limit:
            status, reason, what = 431, "Request Header Fields Too Large", "request head"
        else:
            status, reason, what = 414, "URI Too Long", "request line"
        self.notices.warning(
            "head size", f"refused {self._peer()} with {status}: its {what} is over {limit} bytes"
        )
        detail = f"the {what} is larger than the server accepts ({limit} bytes)"
        self.transport.write(plain_response(status, reason, detail))
        self.transport.close()

    def _framing_refused(self) -> None:
        self.notices.warning(
            "framing",
            f"refused {self._peer()} with 400 and closed: its request has both "
            "Content-Length and Transfer-Encoding",
        )

    def _body_refused(self, declared: int | None, limit: int) -> None:
        said = f"declares {declared} bytes" if declared is not None else "grew past that"
        self.notices.warning(
            "body size",
            f"refused {self._peer()} with 413: its request body is over {limit} bytes ({said})",
        )

    def _peer(self) -> str:
        return _peer(self.client)


DESCRIPTOR_RESERVE = 256
"""Files the process needs besides its connections: up to 50 pooled SQLite connections
(``storage.db``) with their database, WAL and index files, the event loop's, the log..."""


def limits_from(settings: Settings) -> ConnectionLimits:
    """The connection limits of these settings, the cap fitted to the descriptor limit."""
    return ConnectionLimits(
        max_connections=_fitted_cap(settings.max_connections),
        request_head_timeout_s=settings.request_head_timeout_s,
        max_request_head_bytes=settings.max_request_head_bytes,
        max_request_body_bytes=settings.max_request_body_bytes,
        max_upload_body_bytes=settings.max_file_bytes + MULTIPART_SLACK_BYTES,
    )


def _fitted_cap(wanted: int) -> int:
    """``wanted``, raising the descriptor limit to hold it if need be; fewer if it cannot."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    needed = wanted + DESCRIPTOR_RESERVE
    if not wanted or soft == resource.RLIM_INFINITY or soft >= needed:
        return wanted
    raised = needed if hard == resource.RLIM_INFINITY else min(hard, needed)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (raised, hard))
        soft = raised
    except (ValueError, OSError) as error:
        logger.debug("could not raise the descriptor limit to %d: %s", raised, error)
    if soft >= needed:
        return wanted
    usable = max(1, soft - DESCRIPTOR_RESERVE)
    logger.warning(
        "the process may open only %d files (ulimit -n, hard limit %s): serving at most %d "
        "connections, not --max-connections %d",
        soft,
        "unlimited" if hard == resource.RLIM_INFINITY else hard,
        usable,
        wanted,
    )
    return usable


def _peer(address: Any) -> str:
    if isinstance(address, tuple) and len(address) >= 2:
        return f"{address[0]}:{address[1]}"
    return "a client"


def http_protocol(limits: ConnectionLimits) -> type[HttpProtocol]:
    """The protocol class to give uvicorn (``http=``), bound to these limits."""

    class BoundHttpProtocol(HttpProtocol):
        pass

    BoundHttpProtocol.limits = limits
    BoundHttpProtocol.notices = ThrottledLog(logger)  # one per server: its refusals, counted
    return BoundHttpProtocol
