"""Settings of the Lutron radio (``[radios.lutron]``): the link, the pacing, the devices."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path


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
    baudrate: int = 9600
    host: str = ""
    port: int = 23
    http_port: int = 80  # where the repeater serves DbXmlInfo.xml
    username: str = "lutron"
    password: str = "integration"
    fetch_integration_report: bool = True  # telnet only: GET http://host/DbXmlInfo.xml
    integration_report: Path | None = None
    devices: tuple[LutronDeviceConfig, ...] = ()
    pace_s: float = 0.05  # LIP: the repeater drops commands that arrive closer than this
    confirm_timeout_s: float = 2.0  # no ~OUTPUT echo in this time: the command failed
    liveness_interval_s: float = 30.0  # query this often; silence for two intervals: reconnect
    login_timeout_s: float = 10.0
    hold_after_s: float = 0.75  # a press not released within this is reported as a hold
    backoff_min_s: float = 0.5
    backoff_max_s: float = 30.0
    stable_after_s: float = 30.0  # a link up this long resets the backoff (not a mere login)
    max_line_bytes: int = 256  # longer lines are dropped and counted
