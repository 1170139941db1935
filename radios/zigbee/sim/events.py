"""What the simulated radio world tells its coordinator, in no coordinator's wire format.

The Network (network.py) and its SimDevices speak Zigbee, not MT or EZSP: they report what
happened over the air as these events, and a coordinator family turns each into its own
frames (znp_events.py: MT AREQs for Z-Stack; ezsp/: EZSP callbacks for EmberZNet). A new
event type makes mypy point at every family that forgot it (``assert_never``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from radios.zigbee.sim.network import DataRequest

ZDO_PROFILE = 0x0000


@dataclass(frozen=True, slots=True)
class ApsIncoming:
    """An APS data frame from a device (or the coordinator's own ZDO) reached the coordinator.

    ZDO frames come from endpoint 0 with profile 0; ``payload`` then starts with the ZDO
    transaction sequence number (Zigbee spec 2.4.2.8)."""

    src_nwk: int
    src_ieee: int | None
    profile_id: int
    cluster_id: int
    src_endpoint: int
    dst_endpoint: int
    payload: bytes
    lqi: int = 200
    rssi_dbm: int = -50
    is_broadcast: bool = False
    group_id: int | None = None


@dataclass(frozen=True, slots=True)
class DeviceJoined:
    """The trust centre let a device in (Z-Stack: ZDO.TcDevInd; EZSP: trustCenterJoinHandler)."""

    nwk: int
    ieee: int
    parent_nwk: int
    is_router: bool


@dataclass(frozen=True, slots=True)
class DeviceAnnounced:
    """A device broadcast its Device_annce (2.4.3.1.11) after joining or a power cycle."""

    nwk: int
    ieee: int
    capabilities: int


@dataclass(frozen=True, slots=True)
class DeviceLeft:
    """A device left the network (by itself or asked by the coordinator)."""

    nwk: int
    ieee: int


@dataclass(frozen=True, slots=True)
class PermitJoinChanged:
    """The coordinator opened (duration > 0) or closed its permit-join window."""

    duration_s: int


@dataclass(frozen=True, slots=True)
class SendConfirmed:
    """The outcome of one host data request over the air (Z-Stack status codes).

    ``request`` is the network's DataRequest, so a family finds its own tag in it."""

    request: DataRequest
    status: int


NetworkEvent = (
    ApsIncoming | DeviceJoined | DeviceAnnounced | DeviceLeft | PermitJoinChanged | SendConfirmed
)


class EventSink(Protocol):
    """A coordinator family: turns network events into frames for its host."""

    def report(self, event: NetworkEvent, delay_s: float = 0.0) -> None:
        """Tell the host about an event, now or after a delay."""
        ...


__all__ = [
    "ZDO_PROFILE",
    "ApsIncoming",
    "DeviceAnnounced",
    "DeviceJoined",
    "DeviceLeft",
    "EventSink",
    "NetworkEvent",
    "PermitJoinChanged",
    "SendConfirmed",
]
