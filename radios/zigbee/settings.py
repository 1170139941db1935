"""Settings of the Zigbee radio (``[radios.zigbee]``): the adapter, the network, the timers."""

from __future__ import annotations

import string
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from hubd.core.fields import bounds

GROUP_ID_MAX = 0xFFF7  # ZCL 3.6.2.3.2: 0x0001-0xFFF7; higher ids are reserved
# IEEE 802.15.4 channels of the 2.4 GHz band, the only ones Zigbee 3.0 coordinators use.
CHANNEL_MIN, CHANNEL_MAX = 11, 26


class RadioType(StrEnum):
    """Which zigpy radio library drives the coordinator."""

    ZNP = "znp"  # TI CC2652 / CC1352 through zigpy-znp
    EZSP = "ezsp"  # Silicon Labs through bellows


class FlowControl(StrEnum):
    """Serial flow control of the adapter."""

    NONE = "none"
    HARDWARE = "hardware"
    SOFTWARE = "software"


def member_ieee(member: str) -> str:
    """The IEEE address of a group member given as ``zigbee:<ieee>`` or as the address alone;
    ValueError if it is neither."""
    address = member.removeprefix("zigbee:")
    parts = address.split(":")
    if len(parts) != 8 or not all(
        len(p) == 2 and all(c in string.hexdigits for c in p) for p in parts
    ):
        raise ValueError(f"group member {member!r} is not a zigbee device id or IEEE address "
                         "(like zigbee:00:17:88:01:02:03:04:05)")
    return address.lower()


@dataclass(frozen=True, slots=True)
class ZigbeeGroup:
    """``[[radios.zigbee.groups]]``: lights that take one multicast, shown as one device
    ``zigbee:group:<id>``; ``members`` are device ids (``zigbee:<ieee>``) or IEEE addresses."""

    id: int
    name: str
    members: tuple[str, ...] = ()
    room: str = ""

    def __post_init__(self) -> None:
        if not 1 <= self.id <= GROUP_ID_MAX:
            raise ValueError(f"group id must be 1..{GROUP_ID_MAX} (0x0001-0xFFF7), not {self.id}")
        if not self.name.strip():
            raise ValueError(f"group {self.id} needs a name")
        for member in self.members:
            member_ieee(member)

    @property
    def device_id(self) -> str:
        """The group's device id: ``zigbee:group:<id>``."""
        return f"zigbee:group:{self.id}"

    @property
    def member_ieees(self) -> frozenset[str]:
        """The members' IEEE addresses, as zigpy writes them."""
        return frozenset(member_ieee(m) for m in self.members)


@dataclass(frozen=True, slots=True)
class ZigbeeSettings:
    """``[radios.zigbee]``: where the coordinator is, how to talk to it, and how patient to be.

    ``database_path`` defaults to ``zigbee.db`` in the daemon's state directory; it holds the
    network key and backups, so it is created mode 0600.
    """

    path: str = ""  # /dev/serial/by-id/... or socket://host:port
    radio_type: RadioType = RadioType.ZNP
    baudrate: int = field(default=115200, metadata=bounds(1200, 4_000_000))
    flow_control: FlowControl = FlowControl.NONE
    # None: zigpy picks a quiet one when forming.
    channel: int | None = field(default=None, metadata=bounds(CHANNEL_MIN, CHANNEL_MAX))
    database_path: Path | None = None
    # A device not heard from for this long is unavailable (ZHA uses 2 h and 25 h).
    availability_mains_s: float = 2 * 3600.0
    availability_battery_s: float = 25 * 3600.0
    availability_check_interval_s: float = field(default=60.0, metadata=bounds(0.1))
    # A report this soon after a command that is what the command asked for (its attribute and
    # value) is that command's echo: it carries its context (origin digital), so traces link
    # and rule loops are seen by their depth; any other report is physical (radios.zigbee.echoes).
    echo_window_s: float = 5.0
    backoff_min_s: float = field(default=1.0, metadata=bounds(0.01))
    backoff_max_s: float = field(default=30.0, metadata=bounds(0.01))
    # A session up this long resets the backoff.
    stable_after_s: float = field(default=30.0, metadata=bounds(0.0))
    # Consecutive failed starts before health says "failed".
    failed_after_attempts: int = field(default=5, metadata=bounds(1))
    # A device's answer to a command, when it has no deadline.
    command_timeout_s: float = field(default=10.0, metadata=bounds(0.01))
    # The coordinator's answer to a serial request (MT SREQ), and its asynchronous one (AREQ).
    request_timeout_s: float = field(default=15.0, metadata=bounds(0.01))
    callback_timeout_s: float = field(default=30.0, metadata=bounds(0.01))
    # Coordinator ping; a failed ping counts as a lost link.
    watchdog_period_s: float = field(default=30.0, metadata=bounds(0.1))
    # Coordinators allow only a few broadcasts a second.
    group_commands_per_s: float = field(default=2.0, metadata=bounds(0.01))
    # Device frames the hub takes in a second (burst as large); the excess is dropped and
    # counted, so a flood (or a CPU slower than the network) cannot eat the hub.
    max_frames_per_s: float = field(default=400.0, metadata=bounds(1.0))
    # zigpy's Default Response to a device's frame waits this long, so that the command a rule
    # sends in reaction is the first frame on the serial line (0: zigpy's own order).
    default_response_hold_s: float = field(default=0.02, metadata=bounds(0.0, 1.0))
    skip_bootloader: bool = True  # toggle RTS/DTR and send the CC253x skip byte on connect
    # Connecting to the coordinator and forming or restoring its network: longer is a hang
    # in the radio library (a start that is retried), not a slow stick (forming takes seconds).
    start_timeout_s: float = field(default=180.0, metadata=bounds(0.01))
    # Bind + configure reporting of a newly joined device.
    configure_timeout_s: float = field(default=30.0, metadata=bounds(0.01))
    topology_scan: bool = False  # zigpy's periodic neighbour scan (radio traffic, off by default)
    groups: tuple[ZigbeeGroup, ...] = ()

    def __post_init__(self) -> None:
        ids = [g.id for g in self.groups]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"groups: group id {duplicates[0]} is configured twice")

    def effective_database_path(self, state_dir: Path) -> Path:
        """The zigpy database file: the configured one or ``zigbee.db`` in the state dir."""
        return self.database_path if self.database_path is not None else state_dir / "zigbee.db"
