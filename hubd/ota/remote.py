"""hubd's side of the root update helper: the Installer port over its unix socket.

Each call is one connection (systemd starts a helper per connection, hubd.ota.helper); the
bundle goes across as the descriptor of hubd's spooled file. The calls block: the update
service runs them in a thread. An install's progress comes back line by line and is handed to
``phases``; if ``phases`` raises (hubd stopping), the connection is closed and the helper stops
at its next chunk, the slot left disarmed.
"""

from __future__ import annotations

import base64
import io
import os
import socket
from pathlib import Path
from typing import Any

from hubd.core.errors import UpdateError
from hubd.core.events import UpdatePhase
from hubd.ota import wire
from hubd.ota.bundle import Manifest, Version, read_header
from hubd.ota.install import Installed, PhaseProgress
from hubd.ota.installer import InstallerInfo

# A query (info, check) is answered within this: the helper's Python starts and reads a few
# files. hubd's start waits for the first info, so this bounds what a stuck helper costs it.
QUERY_TIMEOUT_S = 60.0
# During an install progress lines come at least once per MiB (and while the payload's hash is
# checked), so a silence this long means the helper is stuck.
REPLY_TIMEOUT_S = 120.0


class HelperInstaller:
    """Installs through the helper listening on socket_path (hubd-update.socket)."""

    def __init__(self, socket_path: Path, query_timeout_s: float = QUERY_TIMEOUT_S,
                 timeout_s: float = REPLY_TIMEOUT_S) -> None:
        self.socket_path = socket_path
        self.query_timeout_s = query_timeout_s
        self.timeout_s = timeout_s

    def info(self) -> InstallerInfo:
        """The helper's view of the hub (update.json and the slots are root's)."""
        result = self._call({"op": "info"})
        try:
            return InstallerInfo(str(result["running_version"]), str(result["booted_slot"]),
                                 int(result["max_bundle_bytes"]), result.get("last_event"),
                                 result.get("committed_version"))
        except (KeyError, TypeError, ValueError) as exc:
            raise UpdateError(f"the update helper's info is malformed: {exc!r}") from exc

    def check_header(self, header: bytes) -> Manifest:
        """The helper checks the header; the manifest is read here from the same bytes."""
        self._call({"op": "check", "header": base64.b64encode(header).decode()})
        return read_header(io.BytesIO(header)).manifest

    def install(self, bundle: Path, phases: PhaseProgress) -> Installed:
        """Pass the open bundle to the helper and follow its progress until it commits."""
        fd = os.open(bundle, os.O_RDONLY | os.O_CLOEXEC)
        try:
            result = self._call({"op": "install"}, fd, phases)
        finally:
            os.close(fd)
        try:
            return Installed(str(result["slot"]), Version.parse(str(result["version"])),
                             str(result["key_id"]))
        except (KeyError, TypeError, ValueError, UpdateError) as exc:
            raise UpdateError(f"the update helper's answer is malformed: {exc!r}") from exc

    def reboot(self) -> None:
        """Have the helper reboot the hub into the committed update (hubd may not reboot)."""
        self._call({"op": "reboot"})

    def _call(self, request: dict[str, Any], fd: int | None = None,
              phases: PhaseProgress | None = None) -> dict[str, Any]:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.settimeout(self.query_timeout_s if fd is None else self.timeout_s)
            try:
                conn.connect(str(self.socket_path))
                line = wire.encode(request)
                if fd is None:
                    conn.sendall(line)
                else:
                    socket.send_fds(conn, [line], [fd])
            except OSError as exc:
                raise UpdateError(f"the update helper at {self.socket_path} is not reachable: "
                                  f"{exc.strerror or exc}") from exc
            return self._replies(conn, phases)

    def _replies(self, conn: socket.socket, phases: PhaseProgress | None) -> dict[str, Any]:
        with conn.makefile("rb") as replies:
            while True:
                try:
                    line = replies.readline(wire.MAX_REPLY_BYTES)
                except OSError as exc:
                    raise UpdateError(f"the update helper stopped answering: "
                                      f"{exc.strerror or exc}") from exc
                if not line.endswith(b"\n"):
                    raise UpdateError("the update helper ended without an answer (see "
                                      "journalctl -u 'hubd-update@*')")
                message = wire.decode(line)
                progress = message.get("progress")
                if isinstance(progress, dict):
                    if phases is not None:
                        phases(_phase(progress), int(progress.get("done", 0)),
                               int(progress.get("total", 0)))
                    continue
                if message.get("ok") is True and isinstance(message.get("result"), dict):
                    result: dict[str, Any] = message["result"]
                    return result
                wire.raise_failure(message)


def _phase(progress: dict[str, Any]) -> UpdatePhase:
    try:
        return UpdatePhase(str(progress.get("phase")))
    except ValueError as exc:
        raise UpdateError(f"the update helper sent an unknown phase: {exc}") from exc

