"""Typed reports (``~`` lines) from the repeater: what the driver acts on.

``decode_report`` turns a parsed ``~`` message into one of the dataclasses below and raises
RemoteProtocolError when a known report is malformed; reports the hub has no use for (``~AREA``,
``~HVAC``, ...) come back as ``OtherReport`` so that they are skipped without being called garbage.
Numbers the document names arrive as their enums (``OutputAction.LEVEL``); a number it does not
name (a newer firmware's) stays a plain int, so it is carried, never refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import TypeVar

from hubd.core.errors import RemoteProtocolError
from radios.lutron.codec import (
    DeviceAction,
    LipError,
    LipMessage,
    MonitoringAction,
    MonitoringType,
    OccupancyState,
    Op,
    OutputAction,
    SystemAction,
    parse_int,
    parse_level,
)


@dataclass(frozen=True, slots=True)
class OutputReport:
    """~OUTPUT,id,action[,params]: a zone's level (action 1) or another output action."""

    integration_id: int
    action: OutputAction | int
    level_pct: float | None = None  # set for action 1


@dataclass(frozen=True, slots=True)
class DeviceReport:
    """~DEVICE,id,component,action[,params]: a button, an LED, a sensor, a battery."""

    integration_id: int
    component: int
    action: DeviceAction | int
    params: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class GroupReport:
    """~GROUP,id,3,state: an occupancy group became occupied, unoccupied or unknown."""

    integration_id: int
    state: OccupancyState


@dataclass(frozen=True, slots=True)
class MonitoringReport:
    """~MONITORING,type,1|2: whether a kind of monitoring is on for this session."""

    kind: MonitoringType | int
    is_enabled: bool


@dataclass(frozen=True, slots=True)
class ErrorReport:
    """~ERROR,n: the repeater rejected the last command."""

    code: LipError | int

    @property
    def description(self) -> str:
        """The document's wording of the error, or the bare number."""
        code = _named(LipError, self.code)
        return code.description if isinstance(code, LipError) else f"error {code}"


@dataclass(frozen=True, slots=True)
class SystemReport:
    """~SYSTEM,action,params: time, date and the like."""

    action: SystemAction | int
    params: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class OtherReport:
    """A well-formed report the hub does not interpret."""

    message: LipMessage


LipReport = (OutputReport | DeviceReport | GroupReport | MonitoringReport | ErrorReport
             | SystemReport | OtherReport)


E = TypeVar("E", bound=IntEnum)


def _named(enum: type[E], number: int) -> E | int:
    """The enum member for a number the document names, else the number itself."""
    try:
        return enum(number)
    except ValueError:
        return number


def _need(msg: LipMessage, count: int) -> None:
    if len(msg.fields) < count:
        raise RemoteProtocolError(f"~{msg.command} needs {count} fields, got {len(msg.fields)}")


def decode_report(msg: LipMessage) -> LipReport:
    """The typed form of a ``~`` message; RemoteProtocolError if a known one is malformed."""
    if msg.op is not Op.REPORT:
        raise RemoteProtocolError(f"not a report: {msg.op}{msg.command}")
    f = msg.fields
    if msg.command == "OUTPUT":
        _need(msg, 2)
        iid, action = parse_int(f[0], "integration id"), parse_int(f[1], "action")
        if action == OutputAction.LEVEL:
            _need(msg, 3)
            level = parse_level(f[2])
            if level > 100.0:
                raise RemoteProtocolError(f"level out of range: {f[2]!r}")
            return OutputReport(iid, OutputAction.LEVEL, level)
        return OutputReport(iid, _named(OutputAction, action))
    if msg.command == "DEVICE":
        _need(msg, 3)
        return DeviceReport(parse_int(f[0], "integration id"), parse_int(f[1], "component"),
                            _named(DeviceAction, parse_int(f[2], "action")), f[3:])
    if msg.command == "GROUP":
        _need(msg, 3)
        try:
            state = OccupancyState(parse_int(f[2], "occupancy state"))
        except ValueError:
            raise RemoteProtocolError(f"unknown occupancy state {f[2]!r}") from None
        return GroupReport(parse_int(f[0], "integration id"), state)
    if msg.command == "MONITORING":
        _need(msg, 2)
        action = parse_int(f[1], "monitoring action")
        return MonitoringReport(_named(MonitoringType, parse_int(f[0], "monitoring type")),
                                action == MonitoringAction.ENABLE)
    if msg.command == "ERROR":
        _need(msg, 1)
        return ErrorReport(_named(LipError, parse_int(f[0], "error number")))
    if msg.command == "SYSTEM":
        _need(msg, 1)
        return SystemReport(_named(SystemAction, parse_int(f[0], "action")), f[1:])
    return OtherReport(msg)


def is_button_action(action: int) -> bool:
    """Whether a DEVICE action is something a button did."""
    return action in (DeviceAction.PRESS, DeviceAction.RELEASE, DeviceAction.HOLD,
                      DeviceAction.MULTI_TAP, DeviceAction.HOLD_RELEASE)
