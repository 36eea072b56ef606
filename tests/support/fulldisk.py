"""A server restarted on a full disk: run as ``unshare -Urm python -m support.fulldisk DIR``.

Inside its own mount namespace it mounts a small tmpfs on ``DIR/mnt`` (nothing
outside the namespace sees it), runs a server there, writes a note, kills the
server, fills the file system, and starts a server again. It prints one JSON
object: whether the second server started, what it serves, and its log.
"""

from __future__ import annotations

import errno
import json
import subprocess
import sys
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


def main(work: Path) -> dict[str, object]:
    mnt = work / "mnt"
    mnt.mkdir()
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={TMPFS_SIZE}", "tmpfs", str(mnt)], check=True
    )
    first = ServerProcess(mnt / "notes.db", work).start()
    token = first.post_note(NOTE)["id"]
    first.kill()  # as a crash would: the WAL and its index stay, their space already taken
    fill(mnt)
    second = ServerProcess(mnt / "notes.db", work)
    try:
        second.start(healthy=False)  # /healthz rightly says 503: the disk is full
    except RuntimeError:
        return {"started": False, "log": second.log()}
    try:
        response = second.get_note(token)
        content = response.json().get("content") if response.status_code == 200 else None
        health = http.get(second.url + "/healthz", timeout=10).json()
        return {"started": True, "content": content, "health": health, "log": second.log()}
    finally:
        second.stop()


if __name__ == "__main__":
    print(json.dumps(main(Path(sys.argv[1]))))
