"""pycrdt-websocket as its documentation shows it: a WebsocketServer behind uvicorn.

    python pycrdt_server.py <port>

Run by bench/run with the interpreter of the pycrdt-websocket venv in the scratch
folder; the room is the websocket path, documents live in memory while anyone is
connected (the defaults: rooms ready at once, rooms dropped when empty).

Two departures from the bare example:

- the server logs exceptions with the package's own ``exception_logger`` instead
  of raising them. Without it, one client leaving while the room was sending to
  it (``ClientDisconnected``) ended the whole server process in this benchmark;
- uvicorn does not offer permessage-deflate, like the three other servers (it is
  on by default in uvicorn and off in the others). With it, every connection
  holds a zlib context each way: about 145 KB per idle connection instead of 30.
  collab-notes' join storm is measured with deflate too, separately.
"""

from __future__ import annotations

import asyncio
import sys

import uvicorn
from pycrdt.websocket import ASGIServer, WebsocketServer, exception_logger


async def serve(port: int) -> None:
    """Serve until uvicorn is told to stop (SIGINT or SIGTERM)."""
    websocket_server = WebsocketServer(exception_handler=exception_logger)
    app = ASGIServer(websocket_server)
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", ws_per_message_deflate=False
    )
    async with websocket_server:
        await uvicorn.Server(config).serve()


def main() -> int:
    if len(sys.argv) != 2 or not sys.argv[1].isdigit():
        print("usage: python pycrdt_server.py <port>", file=sys.stderr)
        return 2
    asyncio.run(serve(int(sys.argv[1])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
