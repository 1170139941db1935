"""``[radios.lutron]`` in the hub's TOML file builds LutronSettings."""

from pathlib import Path

import pytest

from hubd.config import parse_config
from hubd.core.errors import ConfigError
from radios.lutron.settings import LutronDeviceConfig, LutronKind, LutronSettings, LutronTransport

EXAMPLE = """
[radios.lutron]
transport = "telnet"
host = "192.168.1.50"
username = "lutron"
password = "integration"
pace_s = 0.1
confirm_timeout_s = 2.5
integration_report = "DbXmlInfo.xml"

[[radios.lutron.devices]]
integration_id = 20
name = "Dining lights"
kind = "dimmer"
room = "Dining room"

[[radios.lutron.devices]]
integration_id = 30
name = "Living Pico"
kind = "pico"
buttons = [2, 3, 4, 5, 6]
"""


def test_example_table_loads() -> None:
    config = parse_config(EXAMPLE, "/etc/hubd/hubd.toml")
    lutron = config.radios.lutron
    assert isinstance(lutron, LutronSettings)
    assert lutron.transport is LutronTransport.TELNET
    assert (lutron.host, lutron.port, lutron.pace_s, lutron.baudrate) == (
        "192.168.1.50", 23, 0.1, 9600)
    assert lutron.integration_report == Path("/etc/hubd/DbXmlInfo.xml")
    assert lutron.devices == (
        LutronDeviceConfig(20, "Dining lights", LutronKind.DIMMER, "Dining room"),
        LutronDeviceConfig(30, "Living Pico", LutronKind.PICO, "", (2, 3, 4, 5, 6)))


def test_absent_table_means_no_lutron_radio() -> None:
    assert parse_config("", "hubd.toml").radios.lutron is None


def test_bad_kind_names_the_key() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(EXAMPLE.replace('kind = "pico"', 'kind = "remote"'), "hubd.toml")
    assert "radios.lutron.devices[1].kind" in str(caught.value)
