"""A server restarted on a full disk: run as ``unshare -Urm python -m support.fulldisk DIR STOP``.

Inside its own mount namespace it mounts a small tmpfs on ``DIR/mnt`` (nothing
outside the namespace sees it), runs a server there, writes a note, stops the
server (STOP: ``kill``, as a crash, or ``term``, a clean stop, which deletes
SQLite's ``-shm`` index), fills the file system, and starts a server again; it
reads the note, tries to create one, frees the space and creates one again. It
prints one JSON object: whether the second server started, what it answered,
and its log.
"""

from __future__ import annotations

import errno
import json
import subprocess
import sys
import time
from pathlib import Path

from support.http import http
from support.server import ServerProcess

TMPFS_SIZE = "64m"  # /healthz wants 16 MB free before the disk is filled
NOTE = "# Kept\nwritten before the disk filled up"


def fill(directory: Path) -> None:
    """Write zeros until the file system says it is full."""
    with open(directory / "filler", "wb", buffering=0) as filler:  # nothing left to flush
        try:
            while True:
                filler.write(b"\0" * 65536)
                filler.flush()
        except OSError as error:
            if error.errno != errno.ENOSPC:
                raise


def main(work: Path, stop: str) -> dict[str, object]:
    mnt = work / "mnt"
    mnt.mkdir()
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={TMPFS_SIZE}", "tmpfs", str(mnt)], check=True
    )
    first = ServerProcess(mnt / "notes.db", work).start()
    token = first.post_note(NOTE)["id"]
    if stop == "kill":
        first.kill()  # as a crash would: the WAL and its index stay, their space already taken
    else:
        assert first.terminate() == 0  # the last connection deletes the WAL and its index
    fill(mnt)
    second = ServerProcess(mnt / "notes.db", work)
    try:
        second.start(healthy=False)  # /healthz rightly says 503: the disk is full
    except RuntimeError:
        return {"started": False, "log": second.log()}
    try:
        return {"started": True, **answers(second, token, mnt), "log": second.log()}
    finally:
        second.stop()


def answers(server: ServerProcess, token: str, mnt: Path) -> dict[str, object]:
    """What the server answers on the full disk, and once space is freed."""
    response = server.get_note(token)
    content = response.json().get("content") if response.status_code == 200 else None
    health = http.get(server.url + "/healthz", timeout=10).json()
    started = time.monotonic()
    refused = http.post(server.url + "/api/notes", json={"content": "x"}, timeout=60)
    took = time.monotonic() - started
    (mnt / "filler").unlink()
    created = http.post(server.url + "/api/notes", json={"content": "after"}, timeout=60)
    return {
        "content": content,
        "health": health,
        "post_while_full": [refused.status_code, refused.text, dict(refused.headers), took],
        "post_after_freeing": created.status_code,
    }


if __name__ == "__main__":
    print(json.dumps(main(Path(sys.argv[1]), sys.argv[2])))
