"""LIP messages: parse a line into a typed message, build the commands the hub sends.

Every message is ``<op><COMMAND>,<integration id>,<fields...>`` where op is ``#`` (execute),
``?`` (query) or ``~`` (report, the repeater's answer or unsolicited news). Wire codes follow the
Lutron Integration Protocol document (040249); each enum below names the table it comes from.
Parsing is strict about numbers and lenient about spaces after commas (the document's own
examples have them). Anything malformed raises RemoteProtocolError (from the peer) or
LocalProtocolError (a value we were asked to send that the protocol cannot carry).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import IntEnum, StrEnum

from hubd.core.errors import LocalProtocolError, RemoteProtocolError


class Op(StrEnum):
    """The first character of a message."""

    EXECUTE = "#"
    QUERY = "?"
    REPORT = "~"


class OutputAction(IntEnum):
    """OUTPUT action numbers (LIP, OUTPUT Command-specific fields)."""

    LEVEL = 1
    START_RAISING = 2
    START_LOWERING = 3
    STOP = 4
    START_FLASH = 5
    PULSE = 6
    MOTOR_JOG_RAISE = 18
    MOTOR_JOG_LOWER = 19


class DeviceAction(IntEnum):
    """DEVICE action numbers (LIP, DEVICE Command-specific fields)."""

    ENABLE = 1
    DISABLE = 2
    PRESS = 3  # also "close" and "occupied"
    RELEASE = 4  # also "open" and "unoccupied"
    HOLD = 5  # not sent by RadioRA 2: there, hold is synthesised from press/release timing
    MULTI_TAP = 6  # not sent by RadioRA 2
    SCENE = 7
    LED_STATE = 9
    LIGHT_LEVEL = 14
    BATTERY = 22  # 1 = normal, 2 = low
    HOLD_RELEASE = 32


class LedState(IntEnum):
    """Parameter of DEVICE action 9."""

    OFF = 0
    ON = 1
    NORMAL_FLASH = 2
    RAPID_FLASH = 3


class GroupAction(IntEnum):
    """GROUP action numbers (LIP, GROUP Command-specific fields)."""

    OCCUPANCY_STATE = 3


class OccupancyState(IntEnum):
    """Parameter of ~GROUP,id,3 (LIP, GROUP: Occupancy States)."""

    OCCUPIED = 3
    UNOCCUPIED = 4
    UNKNOWN = 255


class MonitoringType(IntEnum):
    """MONITORING types (LIP, MONITORING Command-specific fields)."""

    DIAGNOSTIC = 1
    EVENT = 2
    BUTTON = 3
    LED = 4
    ZONE = 5
    OCCUPANCY = 6
    SCENE = 8
    REPLY = 11
    PROMPT = 12
    ALL = 255  # every type except reply and prompt


class MonitoringAction(IntEnum):
    """MONITORING action numbers."""

    ENABLE = 1
    DISABLE = 2


class SystemAction(IntEnum):
    """SYSTEM action numbers used here (LIP, SYSTEM Command-specific fields)."""

    TIME = 1
    DATE = 2


class LipError(IntEnum):
    """~ERROR numbers (LIP, ERROR Command-specific fields)."""

    PARAMETER_COUNT = 1
    NO_SUCH_OBJECT = 2
    INVALID_ACTION = 3
    OUT_OF_RANGE = 4
    MALFORMED = 5
    UNSUPPORTED = 6

    @property
    def description(self) -> str:
        """The document's wording, for people."""
        return _ERROR_TEXT[self]


_ERROR_TEXT = {
    LipError.PARAMETER_COUNT: "parameter count mismatch",
    LipError.NO_SUCH_OBJECT: "object does not exist",
    LipError.INVALID_ACTION: "invalid action number",
    LipError.OUT_OF_RANGE: "parameter data out of range",
    LipError.MALFORMED: "parameter data malformed",
    LipError.UNSUPPORTED: "unsupported command",
}


@dataclass(frozen=True, slots=True)
class LipMessage:
    """One LIP line: op, command name and its comma-separated fields (as text)."""

    op: Op
    command: str
    fields: tuple[str, ...] = ()

    def encode(self) -> bytes:
        """The line on the wire, CR LF terminated."""
        body = ",".join((self.command, *self.fields))
        return f"{self.op}{body}\r\n".encode("ascii")


def parse_message(text: str) -> LipMessage:
    """Split a line into op, command and fields; RemoteProtocolError if it is not LIP."""
    text = text.strip()
    if len(text) < 2 or text[0] not in "#?~":
        raise RemoteProtocolError(f"not a LIP message: {text[:40]!r}")
    parts = [p.strip() for p in text[1:].split(",")]
    command = parts[0].upper()
    if not command.isascii() or not command.isalpha():
        raise RemoteProtocolError(f"bad LIP command name: {text[:40]!r}")
    return LipMessage(Op(text[0]), command, tuple(parts[1:]))


# -- numbers and times -------------------------------------------------------------------------

def parse_int(text: str, what: str = "field") -> int:
    """A decimal integer field; RemoteProtocolError otherwise."""
    if not text.isascii() or not text.isdigit():
        raise RemoteProtocolError(f"{what} is not a number: {text[:20]!r}")
    return int(text)


def parse_level(text: str) -> float:
    """A level: 0-100 or 0.00-100.00 (LIP, OUTPUT action 1); range is the caller's business."""
    digits = text.replace(".", "", 1)
    if not digits or not digits.isascii() or not digits.isdigit():
        raise RemoteProtocolError(f"level is not a number: {text[:20]!r}")
    return float(text)


def format_level(level_pct: float) -> str:
    """A level as the repeater writes it: two decimals."""
    if not 0.0 <= level_pct <= 100.0 or not math.isfinite(level_pct):
        raise LocalProtocolError(f"a LIP level is 0-100, not {level_pct!r}")
    return f"{level_pct:.2f}"


MAX_TIME_S = 4 * 3600.0  # LIP: fade and delay times are at most 4 hours


def quantise_time(seconds: float) -> float:
    """Round to the nearest quarter second, the repeater's resolution.

    The document says both "rounded up" and "rounded down" in different chapters; sending a value
    that is already a multiple of ¼ s makes the question moot.
    """
    return round(seconds * 4) / 4


def format_time(seconds: float) -> str:
    """A fade, delay or pulse time in LIP's formats: SS.ss below a minute, else [HH:]MM:SS."""
    if not 0.0 <= seconds <= MAX_TIME_S or not math.isfinite(seconds):
        raise LocalProtocolError(f"a LIP time is 0 to 4 hours, not {seconds!r} s")
    quarter = quantise_time(seconds)
    if quarter < 60:
        return f"{quarter:.2f}" if quarter != int(quarter) else str(int(quarter))
    whole = round(seconds)  # minutes and hours carry no fraction
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def parse_time(text: str) -> float:
    """SS.ss, SS, MM:SS or HH:MM:SS (the last part may carry a fraction); seconds, ¼ s floor."""
    parts = text.strip().split(":")
    if not 1 <= len(parts) <= 3 or not all(parts):
        raise RemoteProtocolError(f"bad LIP time: {text[:20]!r}")
    total = 0.0
    for n, part in enumerate(parts):
        is_last = n == len(parts) - 1
        digits = part.replace(".", "", 1) if is_last else part
        if not digits.isascii() or not digits.isdigit():
            raise RemoteProtocolError(f"bad LIP time: {text[:20]!r}")
        total = total * 60 + (float(part) if is_last else int(part))
    if total > MAX_TIME_S:
        raise RemoteProtocolError(f"LIP time over 4 hours: {text[:20]!r}")
    return math.floor(total * 4) / 4  # "fractional seconds will be rounded down" (Quantum notes)


# -- requests the hub sends --------------------------------------------------------------------

def output_set_level(integration_id: int, level_pct: float, fade_s: float | None = None,
                     delay_s: float | None = None) -> LipMessage:
    """#OUTPUT,id,1,level[,fade[,delay]]: a delay needs a fade before it (LIP, OUTPUT note 2)."""
    fields = [str(integration_id), str(OutputAction.LEVEL), format_level(level_pct)]
    if fade_s is not None or delay_s is not None:
        fields.append(format_time(fade_s or 0.0))
    if delay_s is not None:
        fields.append(format_time(delay_s))
    return LipMessage(Op.EXECUTE, "OUTPUT", tuple(fields))


def output_action(integration_id: int, action: OutputAction,
                  time_s: float | None = None) -> LipMessage:
    """#OUTPUT,id,action[,time]: raise, lower, stop, flash (period) or pulse (CCO, length)."""
    if action is OutputAction.LEVEL:
        raise LocalProtocolError("use output_set_level for OUTPUT action 1")
    fields = [str(integration_id), str(action)]
    if time_s is not None:
        if action not in (OutputAction.START_FLASH, OutputAction.PULSE):
            raise LocalProtocolError(f"OUTPUT action {action.name} takes no time")
        fields.append(format_time(time_s))
    return LipMessage(Op.EXECUTE, "OUTPUT", tuple(fields))


def output_query(integration_id: int) -> LipMessage:
    """?OUTPUT,id,1: the zone's level."""
    return LipMessage(Op.QUERY, "OUTPUT", (str(integration_id), str(OutputAction.LEVEL)))


def device_execute(integration_id: int, component: int, action: DeviceAction,
                   *params: str) -> LipMessage:
    """#DEVICE,id,component,action[,params]: press a (phantom) button, set an LED."""
    return LipMessage(Op.EXECUTE, "DEVICE",
                      (str(integration_id), str(component), str(action), *params))


def group_query(integration_id: int) -> LipMessage:
    """?GROUP,id,3: an occupancy group's state."""
    return LipMessage(Op.QUERY, "GROUP", (str(integration_id), str(GroupAction.OCCUPANCY_STATE)))


def monitoring_set(kind: MonitoringType, is_enabled: bool) -> LipMessage:
    """#MONITORING,type,1|2."""
    action = MonitoringAction.ENABLE if is_enabled else MonitoringAction.DISABLE
    return LipMessage(Op.EXECUTE, "MONITORING", (str(kind), str(action)))


def monitoring_query(kind: MonitoringType) -> LipMessage:
    """?MONITORING,type: answered by ~MONITORING,type,1|2."""
    return LipMessage(Op.QUERY, "MONITORING", (str(kind),))
