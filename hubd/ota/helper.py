"""The root update helper: installs bundles for the unprivileged hubd (python -m hubd.ota.helper).

systemd starts one helper per connection to /run/hubd-update.sock (hubd-update.socket,
Accept=yes; the socket is mode 0660, group hubd), as root in a sandbox that may write only the
two slot partitions, the boot environment and the updater's directory on /data. The helper serves
one request (hubd.ota.wire) and exits.

It takes nothing on hubd's word. Its settings come from its own command line (update.toml), the
trusted keys from the read-only root; the bundle arrives as an open file descriptor (never a
path), read with its own offsets, and goes through the same ``Updater`` as ``hubd update
install``: signature by a trusted key, board, version floor and size cap, the payload's signed
hash before the slot is touched, the written bytes hashed again and read back before the one
commit. Progress goes back over the socket; when hubd goes away (the socket breaks) the install
stops at the next chunk with the slot left disarmed. One install at a time (a lock file in the
update directory): a second one gets "busy". It also reboots the hub into a committed update
(hubd may not reboot; the helper does only when an update waits to be booted).
"""

from __future__ import annotations

import argparse
import base64
import binascii
import fcntl
import io
import logging
import os
import socket
import stat
import struct
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO, cast

from hubd.core.errors import BundleRejectedError, HubError, UpdateBusyError, UpdateError
from hubd.core.events import UpdatePhase
from hubd.ota import wire
from hubd.ota.config import DEFAULT_PATH, load_update_config
from hubd.ota.host import open_updater
from hubd.ota.install import Updater
from hubd.ota.installer import info_of

log = logging.getLogger("hubd.ota.helper")

SOCKET_TIMEOUT_S = 30.0  # hubd sends its request at once and reads progress as it comes
REPORT_STEPS = 100  # progress lines per phase at most (and at its ends)
LOCK_NAME = "install.lock"
SD_LISTEN_FDS_START = 3  # sd_listen_fds(3): the first passed descriptor


class _PreadFile(io.RawIOBase):
    """A received file read at offsets of its own: hubd's copy of the descriptor shares the
    file offset, which must not move the helper's reads."""

    def __init__(self, fd: int) -> None:
        super().__init__()
        self.fd = fd
        self.position = 0

    def readable(self) -> bool:
        """Always."""
        return True

    def seekable(self) -> bool:
        """Always (the helper takes regular files only)."""
        return True

    def readinto(self, buffer: Any) -> int:
        """Read at this reader's offset."""
        count = os.preadv(self.fd, [memoryview(buffer).cast("B")], self.position)
        self.position += count
        return count

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        """Move this reader's offset only."""
        base = {os.SEEK_SET: 0, os.SEEK_CUR: self.position,
                os.SEEK_END: os.fstat(self.fd).st_size}[whence]
        self.position = max(0, base + offset)
        return self.position

    def tell(self) -> int:
        """This reader's offset."""
        return self.position


class _Reporter:
    """Sends an install's progress to hubd, a line per hundredth of a phase at most."""

    def __init__(self, conn: socket.socket) -> None:
        self.conn = conn
        self.last: tuple[UpdatePhase, int] | None = None

    def __call__(self, phase: UpdatePhase, done: int, total: int) -> None:
        step = (done * REPORT_STEPS // total) if total else 0
        if (phase, step) == self.last and done != total:
            return
        self.last = (phase, step)
        try:
            self.conn.sendall(wire.encode({"progress": {"phase": str(phase), "done": done,
                                                        "total": total}}))
        except OSError as exc:
            # hubd stopped or gave up: stop at this chunk; the slot stays disarmed.
            raise UpdateError(f"hubd went away during the install ({exc.strerror or exc})"
                              ) from exc


def read_request(conn: socket.socket) -> tuple[dict[str, Any], list[int]]:
    """The request line and the descriptors that came with it (the caller closes them)."""
    data, fds = b"", []
    while b"\n" not in data:
        chunk, received, _, _ = socket.recv_fds(conn, 64 * 1024, 1)
        fds.extend(received)
        if not chunk:
            break
        data += chunk
        if len(data) > wire.MAX_REQUEST_BYTES:
            raise UpdateError(f"a request is at most {wire.MAX_REQUEST_BYTES} bytes")
    line, _, rest = data.partition(b"\n")
    if not line or rest:
        raise UpdateError("expected exactly one request line")
    return wire.decode(line), fds


@contextmanager
def install_lock(updater: Updater) -> Iterator[None]:
    """Hold the update directory's install lock, or refuse at once (UpdateBusyError)."""
    updater.config.update_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(updater.config.update_dir / LOCK_NAME, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC,
                 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise UpdateBusyError("another install is under way; one at a time") from None
        yield
    finally:
        os.close(fd)  # releases the lock


def _install(conn: socket.socket, updater: Updater, fds: list[int]) -> dict[str, Any]:
    if len(fds) != 1:
        raise UpdateError(f"install needs the bundle as one descriptor, got {len(fds)}")
    mode = os.fstat(fds[0]).st_mode
    if not stat.S_ISREG(mode):
        raise BundleRejectedError("the bundle must be a regular file")
    with install_lock(updater):
        stream = io.BufferedReader(_PreadFile(fds[0]), buffer_size=1 << 20)
        installed = updater.install_stream(cast(BinaryIO, stream), phases=_Reporter(conn))
    log.info("event=helper_installed slot=%s version=%s key=%s", installed.slot,
             installed.version, installed.key_id)
    return {"slot": installed.slot, "version": str(installed.version),
            "key_id": installed.key_id}


def systemctl_reboot() -> None:
    """Ask systemd for a reboot and return at once (hubd, unprivileged, may not)."""
    try:
        subprocess.run(["systemctl", "--no-block", "reboot"], capture_output=True, text=True,
                       timeout=30, check=True)
    except (OSError, subprocess.SubprocessError) as exc:
        raise UpdateError(f"systemctl reboot failed: {exc}") from exc


def _answer(conn: socket.socket, request: dict[str, Any], fds: list[int],
            open_hub_updater: Callable[[], Updater], reboot: Callable[[], None]
            ) -> dict[str, Any]:
    op = request.get("op")
    if op not in wire.OPS:
        raise UpdateError(f"unknown op {op!r} (ops: {', '.join(wire.OPS)})")
    updater = open_hub_updater()
    if op == "info":
        return info_of(updater).as_json()
    if op == "reboot":
        # Only into a committed update: hubd cannot use the helper to reboot the hub at will.
        committed = info_of(updater).committed_version
        if committed is None:
            raise UpdateError("no committed update to reboot into")
        log.warning("event=helper_reboot version=%s", committed)
        reboot()
        return {"version": committed}
    if op == "check":
        try:
            header = base64.b64decode(str(request.get("header", "")), validate=True)
        except binascii.Error as exc:
            raise UpdateError(f"check: the header is not base64: {exc}") from exc
        manifest = updater.check_header(io.BytesIO(header))
        return {"version": str(manifest.version)}
    return _install(conn, updater, fds)


def serve(conn: socket.socket, open_hub_updater: Callable[[], Updater],
          reboot: Callable[[], None] = systemctl_reboot) -> None:
    """Answer one request on conn; every failure becomes a failure reply, none escapes."""
    conn.settimeout(SOCKET_TIMEOUT_S)
    fds: list[int] = []
    try:
        uid = struct.unpack("3i", conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED,
                                                  struct.calcsize("3i")))[1]
        request, fds = read_request(conn)
        log.info("event=helper_request op=%s peer_uid=%d", request.get("op"), uid)
        reply = {"ok": True, "result": _answer(conn, request, fds, open_hub_updater, reboot)}
    except (HubError, OSError) as exc:
        reply = wire.failure(exc)
        log.warning("event=helper_refused error=%s reason=%r", reply["error"], reply["reason"])
    finally:
        for fd in fds:
            os.close(fd)
    try:
        conn.sendall(wire.encode(reply))
    except OSError as exc:
        log.warning("event=helper_reply_lost error=%r", exc)


def activated_socket() -> socket.socket:
    """The connection systemd accepted for this instance (Accept=yes: one descriptor, fd 3)."""
    if os.environ.get("LISTEN_PID") != str(os.getpid()) or os.environ.get("LISTEN_FDS") != "1":
        raise UpdateError("start me through hubd-update.socket (one accepted connection "
                          "as LISTEN_FDS=1)")
    for name in ("LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"):
        os.environ.pop(name, None)
    return socket.socket(fileno=SD_LISTEN_FDS_START)


def main(argv: list[str] | None = None) -> int:
    """Serve the connection systemd passed; 0 once answered (a refusal is an answer too)."""
    parser = argparse.ArgumentParser(prog="python -m hubd.ota.helper",
                                     description="Install update bundles for hubd (as root).")
    parser.add_argument("--config", type=Path, default=DEFAULT_PATH,
                        help="the updater's settings (slots, boot env, keys)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(levelname)s %(message)s")
    try:
        conn = activated_socket()
    except UpdateError as exc:
        log.error("event=helper_not_activated reason=%s", exc)
        return 2
    with conn:
        serve(conn, lambda: open_updater(load_update_config(args.config)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
