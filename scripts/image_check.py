"""Build the Docker image on a Debian base and prove that it serves (run by scripts/test-image).

What it proves, each printed as it is checked:

1. The Dockerfile builds (podman, ``--isolation chroot``) on a base made from
   Debian's packages, passed as ``BASE_IMAGE``.
2. The image declares a non-root USER, a HEALTHCHECK, the /data volume, port 8000
   and ``collab-notes serve`` as its command; its size is printed. The fan-out
   (``cluster``) and the PostgreSQL and Redis drivers import in it. Its Python
   packages are exactly those of the lock, ``requirements/server.txt``, for the
   image's Python and platform: same names, same versions, nothing more.
3. Its command, run as its USER with its ENV and WORKDIR in the image's own
   filesystem (read-only, as mounted by ``podman image mount``), in a network
   namespace of its own with a host folder as /data, answers ``/healthz``; the
   process runs as the image's user, not root.
4. The HEALTHCHECK command, run inside that "container", passes; in one where
   nothing listens, it fails.
5. A note is created over REST and edited over a real websocket by two Yjs
   clients (tests/support/yclient.py): one types, the other receives it.
6. ``collab-notes backup`` run inside the container while it serves writes a
   copy to the volume.
7. SIGTERM stops the server with exit status 0.
8. A second "container" on the same /data folder serves the note with every
   edit, over REST and over a websocket sync, and takes a new edit; after it
   stops, ``collab-notes check`` inside the image finds nothing wrong, in the
   database and in the backup.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RUN = os.getpid()
BASE_TAG = f"localhost/collab-notes-test-base:run-{RUN}"
IMAGE_TAG = f"localhost/collab-notes:test-{RUN}"
SUITE = "bookworm"  # Debian 12: python3 is 3.11, what pyproject.toml's requires-python allows
BASE_PACKAGES = "python3,python3-venv,passwd,ca-certificates"
LOCAL_CAS = Path("/usr/local/share/ca-certificates")
SERVE_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 30.0
DEVICES = ("null", "zero", "full", "random", "urandom")
CLUSTER_IMPORTS = (
    "import cluster.redis_fanout, psycopg, redis; "
    "print(f'psycopg {psycopg.__version__}, redis {redis.__version__}')"
)
"""What ``--redis-url`` with PostgreSQL needs in the image (deploy/compose.yaml uses it)."""
INSTALLED = (
    "import json, os, platform, sys; from importlib import metadata; "
    "print(json.dumps({'env': {'python_version': '.'.join(platform.python_version_tuple()[:2]), "
    "'python_full_version': platform.python_version(), 'sys_platform': sys.platform, "
    "'os_name': os.name, 'platform_machine': platform.machine(), "
    "'platform_system': platform.system(), "
    "'platform_python_implementation': platform.python_implementation(), "
    "'implementation_name': sys.implementation.name}, "
    "'dists': {d.metadata['Name']: d.version for d in metadata.distributions()}}))"
)
"""The image's marker environment and installed distributions, as JSON."""
LOCK = ROOT / "requirements" / "server.txt"
NOT_KEPT = {"pip", "setuptools"}  # in the lock to build collab-notes; the Dockerfile removes them


class Failed(Exception):
    """A claim did not hold."""


def claim(text: str) -> None:
    print(f"  ok  {text}", flush=True)


def step(text: str) -> None:
    print(f"\n==> {text}", flush=True)


def run(cmd: Sequence[str], *, timeout: float = 600, check: bool = True) -> str:
    """Run a command; its output, or Failed with its output if it fails."""
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if check and result.returncode != 0:
        raise Failed(
            f"{shlex.join(cmd)} exited with {result.returncode}:\n{result.stdout}{result.stderr}"
        )
    return result.stdout


# -- building ---------------------------------------------------------------------------


def build_base(workdir: Path) -> None:
    """A base image with Debian's python3 and venv, nothing else worth naming."""
    tarball = workdir / "base.tar"
    hooks = []
    if LOCAL_CAS.is_dir() and any(LOCAL_CAS.glob("*.crt")):
        # The machine's own trusted CAs (a TLS-inspecting proxy's, say), so that
        # pip inside the build reaches PyPI as the machine does.
        hooks = [
            f"--customize-hook=copy-in {LOCAL_CAS} /usr/local/share",
            '--customize-hook=chroot "$1" update-ca-certificates',
        ]
    run(
        [
            "mmdebstrap",
            "--variant=essential",
            "--hook-dir=/usr/share/mmdebstrap/hooks/merged-usr",
            f"--include={BASE_PACKAGES}",
            "--aptopt=APT::Install-Recommends false",
            *(f"--dpkgopt=path-exclude=/usr/share/{d}/*" for d in ("doc", "man", "locale", "info")),
            *hooks,
            "--format=tar",
            SUITE,
            str(tarball),
        ]
    )
    run(["podman", "import", "--quiet", str(tarball), BASE_TAG])
    tarball.unlink()
    claim(f"base image {BASE_TAG} built from Debian {SUITE}: {BASE_PACKAGES}")


def build_image() -> None:
    run(
        [
            "podman",
            "build",
            "--isolation",
            "chroot",
            "--format",
            "docker",  # the OCI format has no HEALTHCHECK; podman would drop it
            "--layers=false",
            "--build-arg",
            f"BASE_IMAGE={BASE_TAG}",
            "--tag",
            IMAGE_TAG,
            str(ROOT),
        ],
        timeout=1200,
    )
    claim(f"the Dockerfile builds: {IMAGE_TAG} (--build-arg BASE_IMAGE={BASE_TAG})")


# -- what the image declares ----------------------------------------------------------


@dataclass(frozen=True)
class Image:
    """What ``docker run`` takes from the image's configuration."""

    root: Path
    user: str
    uid: int
    gid: int
    env: dict[str, str]
    workdir: str
    cmd: list[str]
    healthcheck: list[str]


def inspect(root: Path) -> Image:
    [info] = json.loads(run(["podman", "image", "inspect", IMAGE_TAG]))
    config = info["Config"]
    size_mb = info["Size"] / 1e6
    [base] = json.loads(run(["podman", "image", "inspect", BASE_TAG]))
    added_mb = size_mb - base["Size"] / 1e6
    claim(f"image size {size_mb:.0f} MB: {added_mb:.0f} MB of collab-notes over the base")
    version = run(
        ["chroot", str(root), "python3", "-c", "import sys; print(sys.version.split()[0])"]
    )
    if tuple(int(part) for part in version.strip().split(".")[:2]) < (3, 11):
        raise Failed(f"the image's python3 is {version.strip()}; collab-notes needs 3.11 or newer")
    claim(f"the image's python3 is {version.strip()} (requires-python >=3.11)")
    drivers = run(
        ["chroot", str(root), "/opt/collab-notes/bin/python", "-c", CLUSTER_IMPORTS]
    ).strip()
    claim(f"it can serve several processes: the fan-out and its drivers import ({drivers})")
    installed_as_locked(root)
    user = config.get("User") or "root"
    uid, gid = _user_ids(root, user)
    if uid == 0:
        raise Failed(f"the image runs as {user} (uid 0)")
    claim(f"USER {user}: uid {uid}, gid {gid} in the image's /etc/passwd")
    # podman shows it beside Config, docker inside it; the docker format keeps it at all.
    declared = info.get("Healthcheck") or config.get("Healthcheck") or {}
    health = declared.get("Test") or []
    if not health or health[0] not in ("CMD", "CMD-SHELL"):
        raise Failed(f"no HEALTHCHECK in the image: {declared}")
    claim(f"HEALTHCHECK {shlex.join(health[1:])[:70]}...")
    if "/data" not in (config.get("Volumes") or {}) or "8000/tcp" not in (
        config.get("ExposedPorts") or {}
    ):
        raise Failed(f"expected VOLUME /data and EXPOSE 8000: {config}")
    claim(f"VOLUME /data, EXPOSE 8000, CMD {shlex.join(config['Cmd'])}")
    env = dict(item.split("=", 1) for item in config.get("Env") or [])
    env.setdefault("HOME", pwd_home(root, user))
    return Image(
        root=root,
        user=user,
        uid=uid,
        gid=gid,
        env=env,
        workdir=config.get("WorkingDir") or "/",
        cmd=list(config["Cmd"]),
        healthcheck=health[1:] if health[0] == "CMD" else ["/bin/sh", "-c", health[1]],
    )


def installed_as_locked(root: Path) -> None:
    """The image holds exactly the lock's packages for its Python and platform."""
    from packaging.markers import Marker
    from packaging.utils import canonicalize_name

    found = json.loads(run(["chroot", str(root), "/opt/collab-notes/bin/python", "-c", INSTALLED]))
    expected: dict[str, str] = {}
    for line in LOCK.read_text().splitlines():
        if not line or line[0] in " #-":
            continue
        pin, _, marker = line.rstrip(" \\").partition(";")
        name, version = pin.strip().split("==")
        if not marker.strip() or Marker(marker.strip()).evaluate(found["env"]):
            expected[canonicalize_name(name)] = version
    for name in NOT_KEPT:
        expected.pop(name, None)
    installed = {canonicalize_name(n): v for n, v in found["dists"].items()}
    installed.pop("collab-notes", None)
    if installed != expected:
        moved = sorted(set(installed.items()) ^ set(expected.items()))
        raise Failed(f"the image's packages are not the lock's ({LOCK.name}): {moved}")
    claim(f"its {len(installed)} Python packages are exactly {LOCK.name}'s, same versions")


def _user_ids(root: Path, user: str) -> tuple[int, int]:
    for line in (root / "etc/passwd").read_text().splitlines():
        name, _, uid, gid, *_ = line.split(":")
        if user in (name, uid):
            return int(uid), int(gid)
    raise Failed(f"USER {user} is not in the image's /etc/passwd")


def pwd_home(root: Path, user: str) -> str:
    for line in (root / "etc/passwd").read_text().splitlines():
        fields = line.split(":")
        if user in (fields[0], fields[2]):
            return fields[5]
    return "/"


@contextmanager
def mounted() -> Iterator[Path]:
    root = Path(run(["podman", "image", "mount", IMAGE_TAG]).strip())
    try:
        yield root
    finally:
        run(["podman", "image", "unmount", IMAGE_TAG], check=False)


# -- running it as a container ----------------------------------------------------------


def container_shell(image: Image, data: Path, command: Sequence[str]) -> list[str]:
    """``unshare`` a mount and network namespace, set up the mounts, run ``command`` in the image.

    Every step ends in ``exec``, so the command keeps the pid of ``unshare``.
    """
    root = shlex.quote(str(image.root))
    lines = [
        "set -e",
        "ip link set lo up",
        f"mount --bind {shlex.quote(str(data))} {root}/data",
        f"mount -t proc proc {root}/proc",
        f"mount -t tmpfs -o mode=1777 tmpfs {root}/tmp",
        f"mount -t tmpfs -o mode=755 tmpfs {root}/dev",
    ]
    for device in DEVICES:
        lines.append(f"touch {root}/dev/{device} && mount --bind /dev/{device} {root}/dev/{device}")
    lines.append("exec " + shlex.join(in_image(image, command)))
    return [
        "unshare",
        "--mount",
        "--net",
        "--propagation",
        "private",
        "--",
        "/bin/sh",
        "-c",
        "\n".join(lines),
    ]


def in_image(image: Image, command: Sequence[str]) -> list[str]:
    """``command`` as the image's user, with only its environment, in its working directory."""
    env = [f"{key}={value}" for key, value in image.env.items()]
    return [
        "chroot",
        f"--userspec={image.uid}:{image.gid}",
        str(image.root),
        "/usr/bin/env",
        "-i",
        f"--chdir={image.workdir}",
        *env,
        *command,
    ]


def exec_in(
    image: Image, pid: int, command: Sequence[str], timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """``docker exec``: the command in the running container's namespaces and root, as its user."""
    env = [f"{key}={value}" for key, value in image.env.items()]
    return subprocess.run(
        [
            "nsenter",
            f"--target={pid}",
            "--net",
            "--mount",
            "--root",
            "--wd",
            f"--setuid={image.uid}",
            f"--setgid={image.gid}",
            "--",
            "/usr/bin/env",
            "-i",
            *env,
            *command,
        ],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


class Container:
    """One run of the image's command: a fresh mount and network namespace, the same /data."""

    def __init__(self, image: Image, data: Path, name: str, logs: Path) -> None:
        self.image, self.data, self.name = image, data, name
        self.log_path = logs / f"{name}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> int:
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                container_shell(self.image, self.data, self.image.cmd),
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self._wait_for_own_network()
        return self.proc.pid

    def _wait_for_own_network(self) -> None:
        """Until unshare has made the namespace, its pid is still in ours: never probe that."""
        ours = os.readlink("/proc/self/ns/net")
        deadline = time.monotonic() + SERVE_TIMEOUT_S
        while os.readlink(f"/proc/{self.pid}/ns/net") == ours:
            if self.proc is not None and self.proc.poll() is not None:
                raise Failed(f"the container exited with {self.proc.returncode}:\n{self.log()}")
            if time.monotonic() > deadline:
                raise Failed("unshare made no network namespace")
            time.sleep(0.01)

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def probe(self, *args: str) -> dict[str, Any]:
        """Run the client side of a check inside the container's network namespace."""
        result = subprocess.run(
            [
                "nsenter",
                f"--net=/proc/{self.pid}/ns/net",
                "--",
                sys.executable,
                str(Path(__file__).with_name("image_probe.py")),
                *args,
            ],
            capture_output=True,
            text=True,
            timeout=SERVE_TIMEOUT_S + 60,
        )
        for line in result.stdout.splitlines():
            if not line.startswith("{"):
                claim(line)
        if result.returncode != 0:
            output = result.stdout + result.stderr
            raise Failed(f"probe {args[0]} failed:\n{output}\n--- server log ---\n{self.log()}")
        answer: dict[str, Any] = json.loads(result.stdout.splitlines()[-1])
        return answer

    def runs_as(self) -> tuple[int, int]:
        status = Path(f"/proc/{self.pid}/status").read_text()
        uid = next(line for line in status.splitlines() if line.startswith("Uid:")).split()[1:]
        gid = next(line for line in status.splitlines() if line.startswith("Gid:")).split()[1:]
        if len(set(uid)) != 1 or len(set(gid)) != 1:
            raise Failed(f"mixed ids: Uid {uid} Gid {gid}")
        return int(uid[0]), int(gid[0])

    def stop(self) -> int:
        """SIGTERM, as ``docker stop`` sends it; the exit status."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            raise Failed(
                f"still running {STOP_TIMEOUT_S:.0f} s after SIGTERM:\n{self.log()}"
            ) from None

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


def healthcheck_fails_with_nothing_listening(image: Image, data: Path) -> None:
    result = subprocess.run(
        container_shell(image, data, image.healthcheck), capture_output=True, text=True, timeout=60
    )
    if result.returncode == 0:
        raise Failed("the HEALTHCHECK passed with no server listening")
    claim(f"the HEALTHCHECK fails where nothing listens (exit {result.returncode})")


def first_container(image: Image, data: Path, logs: Path) -> dict[str, Any]:
    step("first container: serve, edit, back up, SIGTERM")
    container = Container(image, data, "first", logs)
    try:
        pid = container.start()
        note = container.probe("create-and-edit")
        uid, gid = container.runs_as()
        if (uid, gid) != (image.uid, image.gid) or uid == 0:
            raise Failed(f"the server runs as uid {uid} gid {gid}, not {image.user}")
        claim(f"the server (pid {pid}) runs as uid {uid} gid {gid} ({image.user}), not root")
        health = exec_in(image, pid, image.healthcheck)
        if health.returncode != 0:
            raise Failed(f"HEALTHCHECK failed while serving: {health.stdout}{health.stderr}")
        claim("the HEALTHCHECK passes inside the running container")
        backup = exec_in(image, pid, ["collab-notes", "backup", "/data/backup.db"])
        if backup.returncode != 0:
            raise Failed(f"collab-notes backup failed: {backup.stdout}{backup.stderr}")
        claim(f"collab-notes backup inside the container: {backup.stdout.strip().splitlines()[-1]}")
        status = container.stop()
        if status != 0:
            raise Failed(f"SIGTERM: exit status {status}, not 0:\n{container.log()}")
        claim("SIGTERM stops the server with exit status 0")
        if "serving notes from sqlite:////data/collab-notes.db" not in container.log():
            raise Failed(
                f"the server did not say it serves /data/collab-notes.db:\n{container.log()}"
            )
        owner = (data / "collab-notes.db").stat().st_uid
        if owner != image.uid:
            raise Failed(f"the database on the volume belongs to uid {owner}")
        claim(f"the database is on the volume, owned by uid {owner}")
        return note
    finally:
        container.kill()


def second_container(image: Image, data: Path, logs: Path, note: dict[str, Any]) -> None:
    step("second container on the same volume: the note survived")
    container = Container(image, data, "second", logs)
    try:
        container.start()
        container.probe("reopen-and-edit", note["token"], note["content"])
        status = container.stop()
        if status != 0:
            raise Failed(f"SIGTERM: exit status {status}, not 0:\n{container.log()}")
        claim("SIGTERM stops the second server with exit status 0 too")
    finally:
        container.kill()
    for database in ("collab-notes.db", "backup.db"):
        url = f"sqlite:////data/{database}"
        checked = subprocess.run(
            container_shell(image, data, ["collab-notes", "check", "--database-url", url]),
            capture_output=True,
            text=True,
            timeout=120,
        )
        if checked.returncode != 0:
            raise Failed(f"collab-notes check {database}: {checked.stdout}{checked.stderr}")
        claim(f"collab-notes check inside the image: /data/{database}: nothing is wrong")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", action="store_true", help="keep the images afterwards")
    args = parser.parse_args(argv)
    started = time.monotonic()
    timings: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="collab-notes-image-") as tmp:
        work = Path(tmp)
        data, logs = work / "data", work / "logs"
        data.mkdir()
        logs.mkdir()
        try:
            step(f"base image from Debian {SUITE} (mmdebstrap)")
            build_base(work)
            timings["base image"] = time.monotonic() - started
            step("podman build --isolation chroot")
            build_image()
            timings["image build"] = time.monotonic() - started - sum(timings.values())
            with mounted() as root:
                step("what the image declares")
                image = inspect(root)
                # docker initialises a new named volume with the image's /data, owner included.
                os.chown(data, image.uid, image.gid)
                healthcheck_fails_with_nothing_listening(image, data)
                note = first_container(image, data, logs)
                second_container(image, data, logs, note)
            timings["runs"] = time.monotonic() - started - sum(timings.values())
        except (Failed, subprocess.TimeoutExpired) as error:
            print(f"\nFAILED: {error}", file=sys.stderr)
            return 1
        finally:
            if not args.keep:
                for tag in (IMAGE_TAG, BASE_TAG):
                    run(["podman", "rmi", "--force", tag], check=False)
    spent = ", ".join(f"{name} {seconds:.0f} s" for name, seconds in timings.items())
    print(f"\nThe image builds and serves: {time.monotonic() - started:.0f} s ({spent})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
