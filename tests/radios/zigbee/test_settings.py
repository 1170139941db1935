"""``[radios.zigbee]`` in the hub's TOML becomes ZigbeeSettings; the database lives in state."""

from __future__ import annotations

from pathlib import Path

import pytest

from hubd.config import load_config
from hubd.core.errors import ConfigError
from radios.zigbee.driver import ZigbeeDriver
from radios.zigbee.settings import FlowControl, RadioType, ZigbeeGroup, ZigbeeSettings


def test_toml_table_builds_settings(tmp_path: Path) -> None:
    file = tmp_path / "hubd.toml"
    file.write_text(
        '[radios.zigbee]\n'
        'radio_type = "znp"\n'
        'path = "/dev/serial/by-id/usb-Texas_Instruments_CC2652-if00"\n'
        'baudrate = 115200\n'
        'flow_control = "hardware"\n'
        'channel = 20\n'
        'backoff_max_s = 60\n')
    settings = load_config(file).radios.zigbee
    assert settings == ZigbeeSettings(
        path="/dev/serial/by-id/usb-Texas_Instruments_CC2652-if00", radio_type=RadioType.ZNP,
        flow_control=FlowControl.HARDWARE, channel=20, backoff_max_s=60.0)


def test_absent_table_means_no_zigbee(tmp_path: Path) -> None:
    file = tmp_path / "hubd.toml"
    file.write_text("")
    assert load_config(file).radios.zigbee is None


def test_bad_radio_type_names_the_key(tmp_path: Path) -> None:
    file = tmp_path / "hubd.toml"
    file.write_text('[radios.zigbee]\npath = "/dev/x"\nradio_type = "xbee"\n')
    with pytest.raises(ConfigError, match="radio_type"):
        load_config(file)


def test_database_defaults_to_the_state_dir(tmp_path: Path) -> None:
    settings = ZigbeeSettings(path="socket://127.0.0.1:6638")
    assert settings.effective_database_path(tmp_path) == tmp_path / "zigbee.db"
    ZigbeeDriver(settings, tmp_path)  # a socket:// path is a valid coordinator path


def test_driver_refuses_bad_settings_at_construction(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="path"):
        ZigbeeDriver(ZigbeeSettings(), tmp_path)


def test_groups_tables_build_zigbee_groups(tmp_path: Path) -> None:
    file = tmp_path / "hubd.toml"
    file.write_text(
        '[radios.zigbee]\n'
        'path = "/dev/ttyUSB0"\n'
        '[[radios.zigbee.groups]]\n'
        'id = 1\n'
        'name = "Living room lights"\n'
        'members = ["zigbee:00:0d:6f:00:00:00:00:02", "00:0D:6F:00:00:00:00:04"]\n'
        'room = "Living room"\n'
        '[[radios.zigbee.groups]]\n'
        'id = 0x20\n'
        'name = "Hall"\n')
    settings = load_config(file).radios.zigbee
    assert settings is not None
    living, hall = settings.groups
    assert living == ZigbeeGroup(1, "Living room lights", (
        "zigbee:00:0d:6f:00:00:00:00:02", "00:0D:6F:00:00:00:00:04"), "Living room")
    assert living.member_ieees == {"00:0d:6f:00:00:00:00:02", "00:0d:6f:00:00:00:00:04"}
    assert (hall.id, hall.device_id, hall.members) == (32, "zigbee:group:32", ())


@pytest.mark.parametrize(("table", "message"), [
    ('id = 0\nname = "x"\n', "group id must be 1..65527"),
    ('id = 1\nname = "x"\nmembers = ["kitchen lamp"]\n', "not a zigbee device id"),
    ('id = 1\n', "name"),
    ('id = 1\nname = "x"\n[[radios.zigbee.groups]]\nid = 1\nname = "y"\n', "configured twice"),
])
def test_bad_groups_name_the_key(tmp_path: Path, table: str, message: str) -> None:
    file = tmp_path / "hubd.toml"
    file.write_text('[radios.zigbee]\npath = "/dev/x"\n[[radios.zigbee.groups]]\n' + table)
    with pytest.raises(ConfigError, match=r"radios\.zigbee") as info:
        load_config(file)
    assert message in str(info.value)
