"""The sidecar's files and command line, and its systemd unit."""

from __future__ import annotations

import json
import re
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from hubd.core.errors import ConfigError
from radios.zwave.settings import ZwaveSettings
from radios.zwave.sidecar import (
    KEY_NAMES,
    NODE_FLAGS,
    ServerProcess,
    main,
    server_command,
    write_server_config,
)
from tests.test_units import ROOT, one, parse_unit

UNIT = ROOT / "systemd" / "zwave-js-server.service"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_keys_are_made_once_and_only_the_owner_reads_them(tmp_path: Path) -> None:
    directory = tmp_path / "zwave"
    config = write_server_config(directory)
    keys = json.loads((directory / "keys.json").read_text())["securityKeys"]
    assert set(keys) == set(KEY_NAMES)
    assert all(re.fullmatch(r"[0-9a-f]{32}", k) for k in keys.values())
    assert len(set(keys.values())) == 4
    assert mode(directory / "keys.json") == 0o600 and mode(config) == 0o600
    assert mode(directory) == 0o700
    assert main([str(directory)]) == 0  # ExecStartPre on every start: the keys stay
    again = json.loads(config.read_text())
    assert again["securityKeys"] == keys
    assert again["storage"] == {"cacheDir": str(directory / "cache")}


def test_damaged_keys_are_a_config_error_not_new_keys(tmp_path: Path) -> None:
    tmp_path.joinpath("keys.json").write_text('{"securityKeys": {}}')
    with pytest.raises(ConfigError, match="four Z-Wave network keys"):
        write_server_config(tmp_path)


def test_the_server_binds_loopback_without_mdns(tmp_path: Path) -> None:
    settings = ZwaveSettings(url="ws://127.0.0.1:3111", serial_path="tcp://127.0.0.1:5555")
    argv = server_command(settings, tmp_path / "c.json")
    assert argv[argv.index(str(settings.server_bin)) + 1] == "tcp://127.0.0.1:5555"
    assert "--max-semi-space-size=1" in argv[:argv.index(str(settings.server_bin))]
    assert argv[argv.index("--host") + 1] == "127.0.0.1"
    assert argv[argv.index("--port") + 1] == "3111"
    assert "--disable-dns-sd" in argv


def test_settings_refuse_a_spawned_server_off_loopback() -> None:
    with pytest.raises(ValueError, match=r"127\.0\.0\.1"):
        ZwaveSettings(url="ws://192.168.1.2:3000", serial_path="/dev/ttyACM0")
    with pytest.raises(ValueError, match="ws://"):
        ZwaveSettings(url="http://127.0.0.1:3000")


def test_a_missing_npm_install_is_a_config_error(tmp_path: Path) -> None:
    settings = ZwaveSettings(serial_path="tcp://127.0.0.1:5555",
                             server_bin=tmp_path / "zwave-server")
    with pytest.raises(ConfigError, match="npm ci"):
        ServerProcess(settings, tmp_path)


def test_the_unit_serves_loopback_only_and_keeps_its_keys_private() -> None:
    service = parse_unit(UNIT)["Service"]
    argv = one(service, "ExecStart").split()
    assert argv[argv.index("--host") + 1] == "127.0.0.1" and "--disable-dns-sd" in argv
    assert argv[1:1 + len(NODE_FLAGS)] == list(NODE_FLAGS)  # Node's flags as hubd spawns it
    assert one(service, "IPAddressDeny") == "any"
    assert one(service, "IPAddressAllow") == "localhost"
    assert (one(service, "StateDirectoryMode"), one(service, "UMask")) == ("0700", "0077")
    assert one(service, "ExecStartPre").endswith("-m radios.zwave.sidecar /var/lib/zwave-js")
    assert one(service, "DynamicUser") == "yes"
    assert one(service, "SupplementaryGroups") == "dialout"


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze here")
def test_the_unit_exposure_is_at_most_2_and_systemd_knows_every_key(tmp_path: Path) -> None:
    done = subprocess.run(
        ["systemd-analyze", "security", "--offline=yes", "--no-pager", str(UNIT)],
        capture_output=True, text=True, timeout=30, check=False)
    found = re.search(r"Overall exposure level for zwave-js-server\.service: (\d+\.\d+)",
                      done.stdout)
    assert found, done.stdout + done.stderr
    assert float(found.group(1)) <= 2.0
    copy = tmp_path / UNIT.name
    true = shutil.which("true") or "/bin/true"
    copy.write_text(UNIT.read_text().replace("/opt/node/bin/node", true)
                    .replace("/opt/hubd/bin/python3", true))
    done = subprocess.run(["systemd-analyze", "verify", str(copy)], capture_output=True,
                          text=True, timeout=30, check=False)
    assert [line for line in (done.stdout + done.stderr).splitlines()
            if UNIT.name in line] == []
