"""Settings of the Z-Wave radio (``[radios.zwave]``): the server, the sidecar, the timers."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

# The repository's own npm install (``make npm``): the sidecar hubd spawns in development.
REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_SERVER_BIN = REPO_ROOT / "node_modules" / ".bin" / "zwave-server"


@dataclass(frozen=True, slots=True)
class ZwaveSettings:
    """``[radios.zwave]``: how hubd reaches zwave-js-server, and whether it runs it itself.

    On the hub, systemd runs zwave-js-server (``systemd/zwave-js-server.service``) and hubd only
    connects to ``url``. With ``serial_path`` set (development, tests, ``make demo``), hubd spawns
    the server itself on ``url``'s port and supervises it; its network keys live in
    ``state_dir/zwave`` (mode 0600).
    """

    url: str = "ws://127.0.0.1:3000"
    serial_path: str = ""  # /dev/serial/by-id/... or tcp://127.0.0.1:5555; empty: do not spawn
    server_bin: Path = DEFAULT_SERVER_BIN
    node_bin: str = "node"
    connect_timeout_s: float = 5.0
    request_timeout_s: float = 30.0  # the server's answer to a request (includes the radio's)
    command_timeout_s: float = 15.0  # a set_value's answer, when the command has no deadline
    backoff_min_s: float = 0.5
    backoff_max_s: float = 30.0
    failed_after_attempts: int = 10  # connection attempts in a row before health says "failed"
    # A device's reports this soon after a command to it are that command's echo (origin digital).
    echo_window_s: float = 5.0
    heartbeat_s: float = 20.0  # WebSocket ping; a missing pong ends the session
    # SIGTERM to SIGKILL for the spawned server: inside the 2.5 s the daemon gives a component
    # to stop, or hubd could exit first and leave the server running.
    stop_timeout_s: float = 2.0

    def __post_init__(self) -> None:
        parts = urlsplit(self.url)
        if parts.scheme not in ("ws", "wss") or not parts.hostname:
            raise ValueError(f"url must be ws://host:port, not {self.url!r}")
        if self.serial_path and parts.hostname not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError("a server hubd spawns listens on 127.0.0.1 only: url must name it")
        if not 0 < self.backoff_min_s <= self.backoff_max_s:
            raise ValueError("need 0 < backoff_min_s <= backoff_max_s")

    @property
    def spawns_server(self) -> bool:
        """Whether hubd runs zwave-js-server itself (development, tests, demo)."""
        return bool(self.serial_path)

    @property
    def port(self) -> int:
        """The server's TCP port, from ``url``."""
        parts = urlsplit(self.url)
        return parts.port or (443 if parts.scheme == "wss" else 80)
