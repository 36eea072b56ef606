"""The client side of scripts/test-image, run inside the container's network namespace.

Prints one line per thing it saw, then a JSON line for scripts/image_check.py.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from support.yclient import YClient

BASE = "http://127.0.0.1:8000"  # the image's own port, inside its own network namespace
WS = "ws://127.0.0.1:8000/ws"
SERVE_TIMEOUT_S = 60.0


def wait_healthy() -> None:
    started = time.monotonic()
    while True:
        try:
            response = httpx.get(BASE + "/healthz", timeout=2)
            if response.status_code == 200:
                waited = time.monotonic() - started
                print(f"/healthz answers 200 {response.json()} ({waited:.1f} s after start)")
                return
        except httpx.TransportError:
            pass
        if time.monotonic() - started > SERVE_TIMEOUT_S:
            sys.exit(f"/healthz did not answer within {SERVE_TIMEOUT_S:.0f} s")
        time.sleep(0.1)


async def type_and_watch(token: str, chunk: str) -> str:
    """One client types, another receives it: the text both agree on."""
    async with YClient.connect(WS, token) as writer, YClient.connect(WS, token) as watcher:
        writer.append(chunk)
        expected = str(writer.text)
        await watcher.wait_text(expected, timeout_s=10)
    return expected


def stored(token: str) -> str:
    response = httpx.get(f"{BASE}/api/notes/{token}", timeout=10)
    response.raise_for_status()
    content: str = response.json()["content"]
    return content


async def create_and_edit() -> dict[str, str]:
    wait_healthy()
    created = await asyncio.to_thread(
        httpx.post, BASE + "/api/notes", json={"content": "# Made in a container\n"}, timeout=10
    )
    created.raise_for_status()
    token = created.json()["id"]
    print(f"POST /api/notes -> {created.status_code}, title {created.json()['title']!r}")
    text = await type_and_watch(token, "typed over a websocket, seen by a second client\n")
    print("a websocket edit by one Yjs client reached the other")
    if stored(token) != text:
        sys.exit(f"GET /api/notes shows {stored(token)!r}, not {text!r}")
    print("GET /api/notes shows the edit")
    return {"token": token, "content": text}


async def reopen_and_edit(token: str, content: str) -> dict[str, str]:
    wait_healthy()
    if stored(token) != content:
        sys.exit(f"after the restart the note reads {stored(token)!r}, not {content!r}")
    print("GET /api/notes: the note and its edit survived the new container")
    async with YClient.connect(WS, token) as reader:
        if str(reader.text) != content:
            sys.exit(f"a websocket sync gives {str(reader.text)!r}, not {content!r}")
    print("a websocket client syncs the same text from the new container")
    text = await type_and_watch(token, "and edited again\n")
    print("the note takes a new edit in the new container")
    return {"token": token, "content": text}


def main() -> None:
    match sys.argv[1:]:
        case ["create-and-edit"]:
            answer = asyncio.run(create_and_edit())
        case ["reopen-and-edit", token, content]:
            answer = asyncio.run(reopen_and_edit(token, content))
        case _:
            sys.exit(f"usage: {sys.argv[0]} create-and-edit | reopen-and-edit TOKEN CONTENT")
    print(json.dumps(answer))


if __name__ == "__main__":
    main()
