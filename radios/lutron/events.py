"""LIP reports as hub events: zone levels, button actions (with synthesised holds), occupancy.

A report that echoes one of our commands carries a child of that command's context with origin
digital, so the trace links the tap, the rule and the frame; every other report is physical (a
hand on a dimmer, a Pico, a person walking in), which is what loop protection keys on.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from hubd.core.clock import Clock
from hubd.core.events import ButtonEvent, Report
from hubd.core.model import ButtonAction, Context, Origin, Value, device_id
from radios.base import RadioSink
from radios.lutron.buttons import HoldTracker
from radios.lutron.codec import DeviceAction, OccupancyState, OutputAction
from radios.lutron.devices import BUTTON_KINDS, RADIO
from radios.lutron.reports import DeviceReport, GroupReport, LipReport, OutputReport
from radios.lutron.settings import LutronDeviceConfig, LutronKind

log = logging.getLogger(__name__)

_BUTTON_ACTIONS: dict[int, ButtonAction] = {
    DeviceAction.PRESS: ButtonAction.PRESS,
    DeviceAction.RELEASE: ButtonAction.RELEASE,
    DeviceAction.HOLD: ButtonAction.HOLD,
    DeviceAction.MULTI_TAP: ButtonAction.MULTI_TAP,
    DeviceAction.HOLD_RELEASE: ButtonAction.RELEASE,
}

_OCCUPANCY: dict[OccupancyState, bool | None] = {
    OccupancyState.OCCUPIED: True,
    OccupancyState.UNOCCUPIED: False,
    OccupancyState.UNKNOWN: None,
}


class EventMapper:
    """Turns reports into Report / ButtonEvent for the sink; remembers zone levels."""

    def __init__(self, devices: Mapping[int, LutronDeviceConfig], clock: Clock,
                 holds: HoldTracker) -> None:
        self._devices = devices
        self._clock = clock
        self._holds = holds
        self.sink: RadioSink | None = None
        self.contexts: dict[str, Context] = {}  # command id -> its context, while in flight
        self._levels: dict[int, float] = {}
        self.unknown_ids = 0

    def level_of(self, config: LutronDeviceConfig) -> float | None:
        """The zone's last reported level, if any."""
        return self._levels.get(config.integration_id)

    def on_report(self, report: LipReport, echo_of: str | None) -> None:
        """Report what a LIP report means; unknown ids are counted and skipped."""
        if not isinstance(report, OutputReport | DeviceReport | GroupReport):
            return
        config = self._devices.get(report.integration_id)
        if config is None:
            self.unknown_ids += 1
            log.debug("event=lutron_unknown_id report=%r", report)
            return
        if isinstance(report, OutputReport):
            self._on_output(config, report, echo_of)
        elif isinstance(report, DeviceReport):
            self._on_device(config, report)
        elif config.kind is LutronKind.OCCUPANCY:
            self._report(config, "motion.is_active", _OCCUPANCY[report.state], _physical())

    def poll_holds(self, now: float) -> None:
        """Report the holds that became due."""
        for iid, component in self._holds.poll(now):
            config = self._devices.get(iid)
            if config is not None:
                self._button(config, component, ButtonAction.HOLD)

    def _on_output(self, config: LutronDeviceConfig, report: OutputReport,
                   echo_of: str | None) -> None:
        if report.action != OutputAction.LEVEL or report.level_pct is None:
            return
        level = report.level_pct
        self._levels[config.integration_id] = level
        parent = self.contexts.get(echo_of) if echo_of is not None else None
        context = parent.child(Origin.DIGITAL) if parent is not None else _physical()
        if config.kind is LutronKind.DIMMER:
            self._report(config, "switch.on", level > 0, context)
            self._report(config, "level.level_pct", level, context)
        elif config.kind is LutronKind.SWITCH:
            self._report(config, "switch.on", level > 0, context)
        elif config.kind is LutronKind.SHADE:
            self._report(config, "shade.position_pct", level, context)

    def _on_device(self, config: LutronDeviceConfig, report: DeviceReport) -> None:
        if config.kind is LutronKind.OCCUPANCY and report.action in (DeviceAction.PRESS,
                                                                     DeviceAction.RELEASE):
            # LIP, DEVICE: action 3 is also "occupied" and 4 "unoccupied" for sensors.
            self._report(config, "motion.is_active", report.action == DeviceAction.PRESS,
                         _physical())
            return
        action = _BUTTON_ACTIONS.get(report.action)
        if config.kind not in BUTTON_KINDS or action is None:
            return  # LED states, scenes, battery: nothing on the vocabulary for them yet
        key = (config.integration_id, report.component)
        now = self._clock.monotonic()
        if action is ButtonAction.PRESS:
            self._holds.press(key, now)
        elif action is ButtonAction.RELEASE:
            self._holds.release(key)
        elif action is ButtonAction.HOLD:
            self._holds.native_hold(key)
        self._button(config, report.component, action,
                     2 if action is ButtonAction.MULTI_TAP else 1)

    def _button(self, config: LutronDeviceConfig, component: int, action: ButtonAction,
                count: int = 1) -> None:
        if self.sink is not None:
            self.sink.report(ButtonEvent(_id(config), str(component), action, self._clock.time(),
                                         _physical(), count))

    def _report(self, config: LutronDeviceConfig, attribute: str, value: Value,
                context: Context) -> None:
        if self.sink is not None:
            self.sink.report(Report(_id(config), attribute, value, self._clock.time(), context))


def _id(config: LutronDeviceConfig) -> str:
    return device_id(RADIO, str(config.integration_id))


def _physical() -> Context:
    return Context.new(Origin.PHYSICAL)
