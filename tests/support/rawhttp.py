"""Raw sockets for the tests of what the server does with slow, stalled or oversized requests."""

from __future__ import annotations

import socket
import struct
import time


def connect(port: int, source: str = "127.0.0.1") -> socket.socket:
    """A TCP connection to the server, from ``source`` (any 127.x.y.z address works)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10, source_address=(source, 0))
    sock.settimeout(10)
    return sock


def read_until_closed(sock: socket.socket, timeout_s: float = 10.0) -> bytes:
    """Everything the server sends until it closes the connection.

    Raises:
        TimeoutError: The connection was still open after ``timeout_s``.
    """
    deadline = time.monotonic() + timeout_s
    received = b""
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"still open after {timeout_s} s; received {received[:200]!r}")
        sock.settimeout(left)
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            return received
        except TimeoutError:
            continue
        if not chunk:
            return received
        received += chunk


def read_response_head(sock: socket.socket) -> bytes:
    """One response head (up to its blank line), leaving the connection open."""
    received = b""
    while b"\r\n\r\n" not in received:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"closed after {received!r}")
        received += chunk
    return received


def status_of(response: bytes) -> int:
    """The status code of a raw response."""
    return int(response.split(b" ", 2)[1])


def websocket_upgrade(path: str) -> bytes:
    """A websocket handshake request for ``path``."""
    return (
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
        "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        "Sec-WebSocket-Version: 13\r\n\r\n"
    ).encode()


def close_frame(data: bytes) -> tuple[int, str] | None:
    """The code and reason of the first close frame in unmasked server frames, if any."""
    at = 0
    while at + 2 <= len(data):
        opcode, length = data[at] & 0x0F, data[at + 1] & 0x7F
        at += 2
        if length == 126:
            (length,) = struct.unpack("!H", data[at : at + 2])
            at += 2
        elif length == 127:
            (length,) = struct.unpack("!Q", data[at : at + 8])
            at += 8
        payload = data[at : at + length]
        at += length
        if opcode == 0x8:
            code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005
            return code, payload[2:].decode()
    return None
