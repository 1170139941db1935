"""The adapter's translations, checked against zigpy itself: config, files, values, ZCL payloads."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
import zigpy.exceptions
import zigpy.types as zt
from zigpy.zcl import Cluster
from zigpy.zcl.clusters.security import IasZone

from hubd.core.errors import ConfigError
from hubd.core.model import Capability, Command, Value
from radios.zigbee.adapter import secure_file, validate_config
from radios.zigbee.adapter.glue import PAN_IDS, delivery_words, plain, write_private
from radios.zigbee.commands import to_zcl
from radios.zigbee.settings import FlowControl, ZigbeeSettings


def test_config_has_no_internet_and_our_timeouts(tmp_path: Path) -> None:
    settings = ZigbeeSettings(path="/dev/ttyUSB0", channel=15, request_timeout_s=2.0,
                              flow_control=FlowControl.HARDWARE)
    config = validate_config(settings, tmp_path / "z.db")
    assert config["ota"]["enabled"] is False and config["ota"]["providers"] == []
    assert config["device"] == {"path": "/dev/ttyUSB0", "baudrate": 115200,
                                "flow_control": "hardware"}
    assert config["network"]["channel"] == 15
    assert config["znp_config"]["sync_request_timeout"] == 2.0
    assert config["database_path"] == str(tmp_path / "z.db")


def test_a_new_network_gets_a_pan_id_zstack_can_start(tmp_path: Path) -> None:
    # zigpy alone may draw 0xFFFE, which zigpy-znp then waits forever to see change.
    settings = ZigbeeSettings(path="/dev/ttyUSB0")
    drawn = {validate_config(settings, tmp_path / "z.db")["network"]["pan_id"]
             for _ in range(50)}
    assert len(drawn) > 1
    assert drawn <= set(PAN_IDS) and {0x0000, 0xFFFE, 0xFFFF}.isdisjoint(PAN_IDS)


@pytest.mark.parametrize(("settings", "key"), [
    (ZigbeeSettings(path=""), "radios.zigbee.path"),
    (ZigbeeSettings(path="/dev/x", channel=30), "radios.zigbee"),
    (ZigbeeSettings(path="/dev/x", backoff_min_s=5, backoff_max_s=1), "radios.zigbee"),
])
def test_bad_settings_are_config_errors(tmp_path: Path, settings: ZigbeeSettings, key: str
                                        ) -> None:
    with pytest.raises(ConfigError) as info:
        validate_config(settings, tmp_path / "z.db")
    assert info.value.key == key


def test_secure_file_creates_and_tightens(tmp_path: Path) -> None:
    db = tmp_path / "state" / "zigbee.db"
    secure_file(db)
    assert stat.S_IMODE(db.stat().st_mode) == 0o600
    wal = Path(f"{db}-wal")
    wal.write_bytes(b"")
    os.chmod(db, 0o644)
    os.chmod(wal, 0o644)
    secure_file(db)
    assert stat.S_IMODE(db.stat().st_mode) == 0o600
    assert stat.S_IMODE(wal.stat().st_mode) == 0o600


@pytest.mark.parametrize(("value", "expected"), [
    (zt.Bool.true, 1),
    (zt.uint8_t(200), 200),  # type: ignore[no-untyped-call]
    (IasZone.ZoneStatus(0x0009), 9),  # type: ignore[no-untyped-call]
    (IasZone.ZoneType.Contact_Switch, 0x15),
    (zt.CharacterString("Acme"), "Acme"),
    (1.5, 1.5),
    (True, True),
    (zt.EUI64.convert("00:11:22:33:44:55:66:77"), None),
])
def test_plain_values(value: object, expected: Value) -> None:
    assert plain(value) == expected


@pytest.mark.parametrize(("status", "words"), [
    (0xE9, "no ack from the device (MAC)"),
    (0xCD, "no route to the device"),
    (0x42, "delivery failed: status 0x42"),
    (None, "delivery failed: boom"),
])
def test_delivery_words(status: int | None, words: str) -> None:
    assert delivery_words(zigpy.exceptions.DeliveryError("boom", status=status)) == words


@pytest.mark.parametrize(("qualified", "args", "payload_hex"), [
    ("switch.on", {}, ""),
    ("level.set", {"level_pct": 50, "transition_s": 1}, "7f0a00"),
    ("level.raise", {}, "0040"),
    ("color.set_hue_saturation", {"hue": 360, "saturation": 50}, "fe7f0000"),
    ("color.set_color_temp", {"color_temp_k": 2700}, "72010000"),
    ("lock.unlock", {}, ""),
    ("shade.set_position", {"position_pct": 25}, "4b"),
])
def test_commands_fit_zigpys_schemas(qualified: str, args: dict[str, Value],
                                     payload_hex: str) -> None:
    cap, name = qualified.split(".")
    request = to_zcl(Command("zigbee:x", Capability(cap), name, args))
    assert request.command_id is not None
    cluster = Cluster._registry[request.cluster_id]
    schema = cluster.server_commands[request.command_id].schema
    assert schema(*request.args).serialize().hex() == payload_hex


@pytest.mark.parametrize(("qualified", "args"), [
    ("thermostat.set_mode", {"mode": "cool"}),
    ("thermostat.set_heat_setpoint", {"celsius": 20.5}),
])
def test_writes_fit_zigpys_attribute_types(qualified: str, args: dict[str, Value]) -> None:
    cap, name = qualified.split(".")
    request = to_zcl(Command("zigbee:x", Capability(cap), name, args))
    cluster = Cluster._registry[request.cluster_id]
    for write in request.writes:
        attr = cluster.attributes[write.attribute_id]
        assert attr.type(write.value).serialize()  # the value fits the attribute's ZCL type


def test_backup_written_privately_durably_and_never_through_a_stale_temp(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "zigbee.backup.json"
    stale = tmp_path / "zigbee.backup.tmp"  # what an older writer left, world-readable
    stale.write_text("old")
    os.chmod(stale, 0o644)
    calls: list[str] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        calls.append("fsync")
        real_fsync(fd)

    def replace(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
        calls.append("replace")
        real_replace(src, dst)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    write_private(target, b'{"key": "secret"}')
    assert calls == ["fsync", "replace", "fsync"]  # data, rename, directory
    assert target.read_bytes() == b'{"key": "secret"}'
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert stale.read_text() == "old"  # not reused
    assert sorted(p.name for p in tmp_path.iterdir()) == ["zigbee.backup.json",
                                                         "zigbee.backup.tmp"]
