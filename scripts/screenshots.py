"""What the scripts that remake the docs' pictures share (``*_screenshot.py``).

Each starts ``collab-notes serve`` on a free port over a fresh SQLite file in a
temporary folder, makes its page through the REST API and Debian's Chromium
(driven by Playwright, as the browser tests do), and saves it reduced to 64
colours with Pillow, so that it stays small: :func:`remake` does all but the page.
"""

from __future__ import annotations

import argparse
import io
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
SAVED_COLOURS = 64
MAX_BYTES = 150_000


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_healthy(url: str, server: subprocess.Popen[bytes], timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"collab-notes serve exited with {server.returncode}")
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"the server was not healthy within {timeout_s} s")


def reduce(png: bytes) -> bytes:
    """The screenshot in ``SAVED_COLOURS`` colours, without dithering (flat UI colours)."""
    image = Image.open(io.BytesIO(png)).convert("RGB")
    few = image.quantize(SAVED_COLOURS, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    out = io.BytesIO()
    few.save(out, format="PNG", optimize=True)
    return out.getvalue()


def remake(doc: str, picture: str, shoot: Callable[[str], bytes]) -> int:
    """The command line of a screenshot script: ``--out`` (default ``docs/<picture>``),
    a server, ``shoot(its url)``'s PNG reduced and written; 1 if it is over ``MAX_BYTES``."""
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / picture)
    out: Path = parser.parse_args().out
    serve = Path(sys.executable).with_name("collab-notes")
    with tempfile.TemporaryDirectory() as folder:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        database = f"sqlite:///{Path(folder) / 'notes.db'}"
        command = [str(serve), "serve", "--port", str(port), "--database-url", database]
        with open(Path(folder) / "server.log", "wb") as log:
            server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
            try:
                wait_healthy(url, server)
                png = reduce(shoot(url))
            finally:
                server.terminate()
                server.wait(timeout=30)
    out.write_bytes(png)
    print(f"{out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}: {len(png):,} bytes")
    if len(png) > MAX_BYTES:
        print(f"over {MAX_BYTES:,} bytes: keep it smaller (fewer colours, a smaller viewport)")
        return 1
    return 0
