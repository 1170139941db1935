"""``[radios.zigbee]`` in the hub's TOML becomes ZigbeeSettings; the database lives in state."""

from __future__ import annotations

from pathlib import Path

import pytest

from hubd.config import load_config
from hubd.core.errors import ConfigError
from radios.zigbee.driver import ZigbeeDriver
from radios.zigbee.settings import FlowControl, RadioType, ZigbeeSettings


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
