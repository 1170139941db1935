"""Settings of the Lutron radio (``[radios.lutron]``): the link, the pacing, the devices."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from hubd.core.fields import bounds

# The longest line the repeater sends in normal use is ~40 bytes (``~DEVICE,id,comp,action,..``,
# the login prompts); below this a valid line would be dropped as too long, and the link with it.
MIN_LINE_BYTES = 64


class LutronTransport(StrEnum):
    """How the hub reaches the repeater."""

    SERIAL = "serial"  # RS232 through a USB serial adapter: no login
    TELNET = "telnet"  # RA2 / Smart Bridge Pro / HomeWorks QS over TCP: login, password


class LutronKind(StrEnum):
    """What a Lutron integration id is, which decides its capabilities."""

    DIMMER = "dimmer"
    SWITCH = "switch"
    SHADE = "shade"
    KEYPAD = "keypad"
    PICO = "pico"
    OCCUPANCY = "occupancy"  # an occupancy group (GROUP command), reported as motion


@dataclass(frozen=True, slots=True)
class LutronDeviceConfig:
    """One integration id of the repeater: a zone, a keypad, a Pico or an occupancy group."""

    integration_id: int
    name: str
    kind: LutronKind
    room: str = ""
    buttons: tuple[int, ...] = ()  # component numbers of a keypad's or Pico's buttons


@dataclass(frozen=True, slots=True)
class LutronSettings:
    """``[radios.lutron]``: where the repeater is, how to talk to it, and what it controls.

    Devices come from ``devices``, from ``integration_report`` (a DbXmlInfo.xml file, for serial
    links) or, for telnet, from the repeater's own report fetched over HTTP; ``devices`` wins
    where an integration id appears in both.
    """

    transport: LutronTransport = LutronTransport.SERIAL
    path: str = ""  # serial device, e.g. /dev/serial/by-id/usb-...
    baudrate: int = field(default=9600, metadata=bounds(50, 4_000_000))
    host: str = ""
    port: int = field(default=23, metadata=bounds(1, 65535))
    http_port: int = field(default=80, metadata=bounds(1, 65535))  # serves DbXmlInfo.xml
    username: str = "lutron"
    password: str = "integration"
    # The password in a file of its own (0600), so hub.toml can be shared; hubd.config reads it.
    password_file: Path | None = None
    fetch_integration_report: bool = True  # telnet only: GET http://host/DbXmlInfo.xml
    integration_report: Path | None = None
    devices: tuple[LutronDeviceConfig, ...] = ()
    pace_s: float = 0.05  # LIP: the repeater drops commands that arrive closer than this
    # No ~OUTPUT echo in this time: the command failed.
    confirm_timeout_s: float = field(default=2.0, metadata=bounds(0.01))
    # Query this often; silence for two intervals: reconnect.
    liveness_interval_s: float = field(default=30.0, metadata=bounds(0.1))
    login_timeout_s: float = field(default=10.0, metadata=bounds(0.1))
    hold_after_s: float = 0.75  # a press not released within this is reported as a hold
    # Zero would reconnect in a tight loop while the repeater is down (a CPU at 99 %).
    backoff_min_s: float = field(default=0.5, metadata=bounds(0.01))
    backoff_max_s: float = field(default=30.0, metadata=bounds(0.01))
    # A link up this long resets the backoff (not a mere login).
    stable_after_s: float = field(default=30.0, metadata=bounds(0.0))
    # Longer lines are dropped and counted.
    max_line_bytes: int = field(default=256, metadata=bounds(MIN_LINE_BYTES, 1 << 20))

    def __post_init__(self) -> None:
        if self.backoff_max_s < self.backoff_min_s:
            raise ValueError(f"backoff_max_s ({self.backoff_max_s:g}) must be at least "
                             f"backoff_min_s ({self.backoff_min_s:g})")
