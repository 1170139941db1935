"""Settings of the LAN API (the ``[api]`` table of the hub's configuration)."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from hubd.core.errors import InvalidValueError

API_VERSION = "1"


def is_loopback(host: str) -> bool:
    """Whether a listen address is loopback only (``localhost`` counts)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _bounded(minimum: float) -> dict[str, object]:
    # The metadata hubd.config.convert reads, spelled here so that the API needs no config.
    return {"minimum": minimum}


@dataclass(frozen=True, slots=True)
class ApiSettings:
    """``[api]``: where the LAN API listens and how it guards itself."""

    host: str = "0.0.0.0"
    port: int = 8443
    is_tls: bool = True  # plain HTTP only when false, and then only on loopback
    is_zeroconf: bool = True
    mdns_interfaces: tuple[str, ...] = ()  # empty: every interface (tests: ("127.0.0.1",))
    pair_window_s: float = 60.0
    max_bad_codes: int = field(default=5, metadata=_bounded(1))
    lockout_s: float = 300.0
    rate_per_s: float = field(default=50.0, metadata=_bounded(0.1))
    rate_burst: int = field(default=100, metadata=_bounded(1))
    ring_size: int = field(default=2000, metadata=_bounded(10))
    ping_interval_s: float = 20.0
    send_queue: int = field(default=512, metadata=_bounded(8))  # per WebSocket client
    max_body_bytes: int = field(default=256 * 1024, metadata=_bounded(1024))

    def __post_init__(self) -> None:
        if not self.is_tls and not is_loopback(self.host):
            raise InvalidValueError(f"plain HTTP (is_tls = false) is allowed only on loopback, not "
                             f"on {self.host!r}")
