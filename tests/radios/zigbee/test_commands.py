"""Pure command mapping: hub Commands to ZCL requests with the spec's numbers."""

from __future__ import annotations

import pytest

from hubd.core.model import Capability, Command, Value
from radios.zigbee.commands import AttributeWrite, ZclRequest, to_zcl
from radios.zigbee.model import ClusterId as C

DEV = "zigbee:00:17:88:01:02:03:04:05"


def command(qualified: str, **args: Value) -> Command:
    cap, name = qualified.split(".")
    return Command(DEV, Capability(cap), name, args)


@pytest.mark.parametrize(("cmd", "expected"), [
    (command("switch.on"), ZclRequest(C.ON_OFF, 0x01)),
    (command("switch.off"), ZclRequest(C.ON_OFF, 0x00)),
    (command("switch.toggle"), ZclRequest(C.ON_OFF, 0x02)),
    (command("level.set", level_pct=50), ZclRequest(C.LEVEL_CONTROL, 0x04, (127, 0))),
    (command("level.set", level_pct=100, transition_s=1.5),
     ZclRequest(C.LEVEL_CONTROL, 0x04, (254, 15))),
    (command("level.stop"), ZclRequest(C.LEVEL_CONTROL, 0x07)),
    (command("color.set_hue_saturation", hue=180, saturation=100),
     ZclRequest(C.COLOR_CONTROL, 0x06, (127, 254, 0))),
    (command("color.set_color_temp", color_temp_k=2700, transition_s=0.4),
     ZclRequest(C.COLOR_CONTROL, 0x0A, (370, 4))),
    (command("lock.lock"), ZclRequest(C.DOOR_LOCK, 0x00)),
    (command("lock.unlock"), ZclRequest(C.DOOR_LOCK, 0x01)),
    (command("thermostat.set_mode", mode="heat"),
     ZclRequest(C.THERMOSTAT, writes=(AttributeWrite(0x001C, 4),))),
    (command("thermostat.set_heat_setpoint", celsius=21.5),
     ZclRequest(C.THERMOSTAT, writes=(AttributeWrite(0x0012, 2150),))),
    (command("thermostat.set_cool_setpoint", celsius=25),
     ZclRequest(C.THERMOSTAT, writes=(AttributeWrite(0x0011, 2500),))),
    (command("shade.set_position", position_pct=30), ZclRequest(C.WINDOW_COVERING, 0x05, (70,))),
    (command("shade.open"), ZclRequest(C.WINDOW_COVERING, 0x00)),
    (command("shade.close"), ZclRequest(C.WINDOW_COVERING, 0x01)),
    (command("shade.stop"), ZclRequest(C.WINDOW_COVERING, 0x02)),
])
def test_command_to_zcl(cmd: Command, expected: ZclRequest) -> None:
    assert to_zcl(cmd) == expected


def test_write_is_a_write() -> None:
    assert to_zcl(command("thermostat.set_mode", mode="off")).is_write
    assert not to_zcl(command("switch.on")).is_write


@pytest.mark.parametrize("cmd", [
    command("level.set"),  # missing level
    command("level.set", level_pct=150),  # out of range
    command("thermostat.set_mode", mode="dry"),
    command("switch.on", level_pct=3),  # extra argument
])
def test_bad_commands_say_why(cmd: Command) -> None:
    with pytest.raises(ValueError, match=r"\w"):
        to_zcl(cmd)
