"""The capability vocabulary and contexts."""

import pytest

from hubd.core.errors import ConfigError, DeviceError
from hubd.core.model import (
    Capability,
    Command,
    Context,
    Origin,
    rule_origin,
    validate_args,
    validate_value,
)


def test_validate_args_coerces_and_checks_ranges() -> None:
    assert validate_args("level", "set", {"level_pct": 40}) == {"level_pct": 40.0}
    assert validate_args("level", "set", {"level_pct": 40, "transition_s": 2}) == {
        "level_pct": 40.0, "transition_s": 2.0}
    with pytest.raises(ValueError, match="between 0 and 100"):
        validate_args("level", "set", {"level_pct": 140})
    with pytest.raises(ValueError, match="needs level_pct"):
        validate_args("level", "set", {})
    with pytest.raises(ValueError, match="takes no argument speed"):
        validate_args("switch", "on", {"speed": 1})
    with pytest.raises(ValueError, match="unknown command"):
        validate_args("switch", "explode", {})
    with pytest.raises(ValueError, match="must be a number"):
        validate_args("level", "set", {"level_pct": True})
    with pytest.raises(ValueError, match="one of"):
        validate_args("thermostat", "set_mode", {"mode": "turbo"})


def test_validate_value() -> None:
    assert validate_value("switch.on", True) is True
    assert validate_value("switch.on", None) is None
    assert validate_value("lock.state", "jammed") == "jammed"
    with pytest.raises(ValueError, match="true or false"):
        validate_value("switch.on", 1)
    with pytest.raises(ValueError, match="unknown attribute"):
        validate_value("switch.power", 1)


def test_context_chain_counts_depth() -> None:
    root = Context.new(Origin.PHYSICAL)
    child = root.child(rule_origin("r1"))
    assert (child.parent_id, child.depth, child.origin) == (root.id, 1, "rule:r1")
    assert child.id != root.id


def test_errors_say_where() -> None:
    err = ConfigError("must be a number", file="hub.toml", key="zigbee.baudrate", line=3)
    assert str(err) == "hub.toml:3: zigbee.baudrate: must be a number"
    assert str(DeviceError("zwave:5", "no ack")) == "zwave:5: no ack"


def test_a_command_left_without_context_or_id_gets_fresh_ones() -> None:
    first = Command("virtual:1", Capability.SWITCH, "on")
    second = Command("virtual:1", Capability.SWITCH, "on")
    assert first.context.origin == Origin.DIGITAL
    assert first.context.depth == 0
    assert first.id != second.id
    assert first.context.id != second.context.id
    assert (dict(first.args), first.deadline, first.qualified_name) == ({}, None, "switch.on")
    ctx = Context.new(Origin.PHYSICAL)
    given = Command("virtual:1", Capability.LEVEL, "set", {"level_pct": 5.0}, ctx, 9.0, "c1")
    assert (given.context, given.deadline, given.id) == (ctx, 9.0, "c1")


def test_a_command_is_immutable() -> None:
    command = Command("virtual:1", Capability.SWITCH, "on")
    with pytest.raises(AttributeError):
        command.name = "off"  # type: ignore[misc]
    with pytest.raises(TypeError):
        command.args["speed"] = 1  # type: ignore[index]
