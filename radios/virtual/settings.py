"""Settings of the virtual radio: which simulated devices it has."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class VirtualKind(StrEnum):
    """The kinds of simulated device the virtual radio offers."""

    SWITCH = "switch"
    DIMMER = "dimmer"
    CONTACT = "contact"
    MOTION = "motion"
    BUTTON = "button"


@dataclass(frozen=True, slots=True)
class VirtualDevice:
    """One simulated device."""

    address: str
    name: str
    kind: VirtualKind
    room: str = ""


@dataclass(frozen=True, slots=True)
class VirtualSettings:
    """``[radios.virtual]``: devices, how long a command takes, and how lively the house is."""

    devices: tuple[VirtualDevice, ...] = ()
    command_latency_s: float = 0.0
    activity_interval_s: float = 0.0  # > 0: a random sensor event this often (the demo)
