"""The state file's compatibility rules, the data snapshot, and update.toml."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from hubd.core.errors import ConfigError, UpdateError
from hubd.ota.config import BootEnvKind, load_update_config
from hubd.ota.host import booted_slot, make_bootenv, running_version
from hubd.ota.state import UpdateState, restore_snapshot, take_snapshot


def test_missing_or_corrupt_state_is_empty(tmp_path: Path) -> None:
    assert UpdateState.load(tmp_path / "none.json") == UpdateState()
    (tmp_path / "bad.json").write_text("{not json")
    assert UpdateState.load(tmp_path / "bad.json") == UpdateState()
    (tmp_path / "list.json").write_text("[1]")
    assert UpdateState.load(tmp_path / "list.json") == UpdateState()


def test_unknown_fields_survive_a_rewrite(tmp_path: Path) -> None:
    path = tmp_path / "update.json"
    path.write_text('{"schema": 1, "floor": "2", "added_in_3_0": [1, 2]}')
    state = UpdateState.load(path)
    state.floor = "2.1"
    state.save(path)
    again = UpdateState.load(path)
    assert (again.floor, again.extra) == ("2.1", {"added_in_3_0": [1, 2]})


def test_snapshot_and_restore_keep_files_modes_and_links(tmp_path: Path) -> None:
    data, snap = tmp_path / "data", tmp_path / "update/snapshot"
    (data / "zigbee").mkdir(parents=True)
    (data / "hubd.sqlite3").write_text("v1")
    (data / "zigbee/zigbee.db").write_text("net")
    os.chmod(data / "zigbee/zigbee.db", 0o600)
    (data / "link").symlink_to("hubd.sqlite3")
    take_snapshot(data, snap)
    (data / "hubd.sqlite3").write_text("v2")
    (data / "new-in-v2").write_text("x")
    assert restore_snapshot(snap, data)
    assert sorted(p.name for p in data.iterdir()) == ["hubd.sqlite3", "link", "zigbee"]
    assert (data / "hubd.sqlite3").read_text() == "v1"
    assert (data / "zigbee/zigbee.db").stat().st_mode & 0o777 == 0o600
    assert os.readlink(data / "link") == "hubd.sqlite3"
    assert not snap.exists()
    assert not restore_snapshot(snap, data)


def test_config_parses_and_names_bad_keys(tmp_path: Path) -> None:
    path = tmp_path / "update.toml"
    path.write_text('board = "hub-amd64"\nslot_a = "/dev/a"\nslot_b = "/dev/b"\n'
                    'bootenv = "grub"\ntries = 2\nhealthy_for_s = 5\n')
    config = load_update_config(path)
    assert (config.bootenv, config.tries, config.healthy_for_s) == (BootEnvKind.GRUB, 2, 5.0)
    assert config.slot_path("B") == Path("/dev/b")
    for text, key in [('board = "x"\nslot_a = "/a"\n', "slot_b"),
                      ('board = "x"\nslot_a = "/a"\nslot_b = "/b"\ntries = "3"\n', "tries"),
                      ('board = "x"\nslot_a = "/a"\nslot_b = "/b"\nslots = 2\n', "slots"),
                      ('board = "x"\nslot_a = "/a"\nslot_b = "/b"\nbootenv = "efi"\n', "bootenv")]:
        path.write_text(text)
        with pytest.raises(ConfigError, match=key):
            load_update_config(path)
    with pytest.raises(ConfigError, match="cannot read"):
        load_update_config(tmp_path / "missing.toml")


def test_booted_slot_comes_from_the_kernel_command_line(tmp_path: Path) -> None:
    path = tmp_path / "update.toml"
    path.write_text('board = "x"\nslot_a = "/a"\nslot_b = "/b"\n')
    config = load_update_config(path)
    cmdline = tmp_path / "cmdline"
    cmdline.write_text("root=PARTLABEL=root-b ro hubd.slot=B quiet\n")
    assert booted_slot(config, cmdline) == "B"
    cmdline.write_text("root=/dev/sda2 ro\n")
    with pytest.raises(UpdateError, match=r"no hubd\.slot="):
        booted_slot(config, cmdline)
    cmdline.write_text("hubd.slot=C\n")
    with pytest.raises(UpdateError, match="not one of"):
        booted_slot(config, cmdline)


def test_running_version_is_image_version_of_os_release(tmp_path: Path) -> None:
    release = tmp_path / "os-release"
    release.write_text('PRETTY_NAME="hub OS"\nIMAGE_ID=hubd\nIMAGE_VERSION="1.4.0"\n')
    assert str(running_version(release)) == "1.4"
    release.write_text("ID=debian\n")
    with pytest.raises(UpdateError):
        running_version(release)


def test_the_configured_backend_is_made(tmp_path: Path) -> None:
    path = tmp_path / "update.toml"
    path.write_text(f'board = "x"\nslot_a = "/a"\nslot_b = "/b"\nbootenv_path = "{tmp_path}/e"\n')
    env = make_bootenv(load_update_config(path))
    env.set({"BOOT_ORDER": "A"})
    assert (tmp_path / "e").read_text() == "BOOT_ORDER=A\n"
