"""The simulated repeater's command table: what each ``#`` and ``?`` line does, or which error.

Errors follow the LIP document (ERROR Command-specific fields): too few fields → 1, an id the
system does not have → 2, an action the object does not have → 3, a value out of range → 4, a
value that is not a number or time → 5, a command the repeater does not know → 6.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from hubd.core.errors import RemoteProtocolError
from radios.lutron.codec import (
    DeviceAction,
    GroupAction,
    LipError,
    LipMessage,
    MonitoringAction,
    MonitoringType,
    Op,
    OutputAction,
    SystemAction,
    format_level,
    parse_level,
    parse_message,
    parse_time,
)
from radios.lutron.sim.house import RAMP_PCT_PER_S

if TYPE_CHECKING:
    from radios.lutron.sim.engine import RepeaterEngine, SimSession


class SimError(Exception):
    """A command the repeater answers with ~ERROR,n."""

    def __init__(self, code: LipError) -> None:
        super().__init__(code.description)
        self.code = code


def _int(text: str) -> int:
    if not text.isascii() or not text.isdigit():
        raise SimError(LipError.MALFORMED)
    return int(text)


def _need(msg: LipMessage, count: int) -> None:
    if len(msg.fields) < count:
        raise SimError(LipError.PARAMETER_COUNT)


def _level(text: str) -> float:
    try:
        level = parse_level(text)
    except RemoteProtocolError:
        raise SimError(LipError.MALFORMED) from None
    if level > 100.0:
        raise SimError(LipError.OUT_OF_RANGE)
    return level


def _time(text: str) -> float:
    try:
        return parse_time(text)
    except RemoteProtocolError:
        raise SimError(LipError.MALFORMED) from None


def execute_line(engine: RepeaterEngine, session: SimSession, text: str) -> LipError | None:
    """Run one command line; the LIP error to answer, or None."""
    try:
        msg = parse_message(text)
    except RemoteProtocolError:
        return LipError.UNSUPPORTED
    handler = _HANDLERS.get((msg.op, msg.command))
    if handler is None:
        return LipError.UNSUPPORTED
    try:
        handler(engine, session, msg)
    except SimError as exc:
        return exc.code
    return None


def _output_set(engine: RepeaterEngine, session: SimSession, msg: LipMessage) -> None:
    _need(msg, 2)
    zone = engine.house.zones.get(_int(msg.fields[0]))
    if zone is None:
        raise SimError(LipError.NO_SUCH_OBJECT)
    action, now = _int(msg.fields[1]), engine.clock.monotonic()
    if action == OutputAction.LEVEL:
        _need(msg, 3)
        if len(msg.fields) > 5:
            raise SimError(LipError.PARAMETER_COUNT)
        level = _level(msg.fields[2])
        fade_s = _time(msg.fields[3]) if len(msg.fields) > 3 else 1.0  # LIP: default fade 1 s
        delay_s = _time(msg.fields[4]) if len(msg.fields) > 4 else 0.0
        zone.fade_to(now, level, fade_s, delay_s)
        if delay_s > 0:
            engine.schedule_report(now + delay_s, zone.integration_id)
        else:
            engine.report_zone(zone.integration_id, zone.target)
    elif action in (OutputAction.START_RAISING, OutputAction.START_LOWERING):
        target = 100.0 if action == OutputAction.START_RAISING else 0.0
        current = zone.level_at(now)
        zone.fade_to(now, target, abs(target - current) / RAMP_PCT_PER_S)
        zone.is_ramping = True
    elif action == OutputAction.STOP:
        engine.report_zone(zone.integration_id, zone.stop(now))
    elif action in (OutputAction.START_FLASH, OutputAction.PULSE):
        if len(msg.fields) > 2:
            _time(msg.fields[2])
        zone.is_flashing = action == OutputAction.START_FLASH
    else:
        raise SimError(LipError.INVALID_ACTION)


def _output_query(engine: RepeaterEngine, session: SimSession, msg: LipMessage) -> None:
    _need(msg, 2)
    iid = _int(msg.fields[0])
    zone = engine.house.zones.get(iid)
    if zone is None:
        raise SimError(LipError.NO_SUCH_OBJECT)
    if _int(msg.fields[1]) != OutputAction.LEVEL:
        raise SimError(LipError.INVALID_ACTION)
    level = round(zone.level_at(engine.clock.monotonic()), 2)
    session.emit(f"~OUTPUT,{iid},1,{format_level(level)}")


def _device(engine: RepeaterEngine, session: SimSession, msg: LipMessage) -> None:
    _need(msg, 3)
    iid, component, action = (_int(f) for f in msg.fields[:3])
    keypad = engine.house.keypads.get(iid)
    if keypad is None:
        raise SimError(LipError.NO_SUCH_OBJECT)
    if action == DeviceAction.LED_STATE:
        if component not in engine.house.led_components(keypad):
            raise SimError(LipError.NO_SUCH_OBJECT)
        if msg.op is Op.QUERY:
            session.emit(f"~DEVICE,{iid},{component},9,{keypad.leds.get(component, 0)}")
            return
        _need(msg, 4)
        state = _int(msg.fields[3])
        if state > 1:  # flashing LEDs: "not supported in RadioRA 2"
            raise SimError(LipError.OUT_OF_RANGE)
        keypad.leds[component] = state
        engine.broadcast(MonitoringType.LED, f"~DEVICE,{iid},{component},9,{state}")
        return
    if msg.op is Op.QUERY or action not in (DeviceAction.PRESS, DeviceAction.RELEASE):
        raise SimError(LipError.INVALID_ACTION)
    if component not in keypad.buttons:
        raise SimError(LipError.NO_SUCH_OBJECT)
    engine.broadcast(MonitoringType.BUTTON, f"~DEVICE,{iid},{component},{action}")
    preset = engine.house.presets.get(component) if keypad.is_repeater else None
    if preset is not None and action == DeviceAction.PRESS:
        for zone_id, level in preset.levels:
            engine.house.zones[zone_id].fade_to(engine.clock.monotonic(), level, 1.0)
            engine.report_zone(zone_id, level)


def _group_query(engine: RepeaterEngine, session: SimSession, msg: LipMessage) -> None:
    _need(msg, 2)
    group = engine.house.groups.get(_int(msg.fields[0]))
    if group is None:
        raise SimError(LipError.NO_SUCH_OBJECT)
    if _int(msg.fields[1]) != GroupAction.OCCUPANCY_STATE:
        raise SimError(LipError.INVALID_ACTION)
    session.emit(f"~GROUP,{group.integration_id},3,{int(group.state)}")


def _monitoring_set(engine: RepeaterEngine, session: SimSession, msg: LipMessage) -> None:
    _need(msg, 2)
    kind, action = _int(msg.fields[0]), _int(msg.fields[1])
    if action not in (MonitoringAction.ENABLE, MonitoringAction.DISABLE):
        raise SimError(LipError.INVALID_ACTION)
    if kind == MonitoringType.ALL:
        kinds = {int(k) for k in MonitoringType} - {MonitoringType.REPLY, MonitoringType.PROMPT,
                                                    MonitoringType.ALL}
    else:
        kinds = {kind}
    if action == MonitoringAction.ENABLE:
        session.monitoring |= kinds
    else:
        session.monitoring -= kinds


def _monitoring_query(engine: RepeaterEngine, session: SimSession, msg: LipMessage) -> None:
    _need(msg, 1)
    kind = _int(msg.fields[0])
    action = MonitoringAction.ENABLE if kind in session.monitoring else MonitoringAction.DISABLE
    session.emit(f"~MONITORING,{kind},{int(action)}")


def _system_query(engine: RepeaterEngine, session: SimSession, msg: LipMessage) -> None:
    _need(msg, 1)
    action = _int(msg.fields[0])
    if action == SystemAction.TIME:
        session.emit(f"~SYSTEM,1,{engine.system_time()}")
    elif action == SystemAction.DATE:
        session.emit(f"~SYSTEM,2,{engine.system_date()}")
    else:
        raise SimError(LipError.INVALID_ACTION)


_Handler = Callable[["RepeaterEngine", "SimSession", LipMessage], None]

_HANDLERS: dict[tuple[Op, str], _Handler] = {
    (Op.EXECUTE, "OUTPUT"): _output_set,
    (Op.QUERY, "OUTPUT"): _output_query,
    (Op.EXECUTE, "DEVICE"): _device,
    (Op.QUERY, "DEVICE"): _device,
    (Op.QUERY, "GROUP"): _group_query,
    (Op.EXECUTE, "MONITORING"): _monitoring_set,
    (Op.QUERY, "MONITORING"): _monitoring_query,
    (Op.QUERY, "SYSTEM"): _system_query,
}
