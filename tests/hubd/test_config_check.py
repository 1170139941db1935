"""`hubd run` and `hubd config check` find the same mistakes, before anything starts."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from hubd.cli import main
from hubd.config import check_config
from hubd.config.secrets import LUTRON_CREDENTIAL, resolve_secrets
from hubd.core.errors import ConfigError

ZIGBEE = '[hub]\nname = "h"\n\n[radios.zigbee]\npath = "/dev/ttyUSB0"\n'
LUTRON = '[radios.lutron]\npath = "/dev/ttyUSB1"\n'

BAD_FILES = {
    "missing rules dir": ('[rules]\ndir = "nowhere"\n', ":2: rules.dir: "),
    "zigbee channel": (ZIGBEE + "channel = 99\n", ":6: radios.zigbee.channel: must be at most 26"),
    "lutron backoff zero": (LUTRON + "backoff_min_s = 0\n",
                            ":3: radios.lutron.backoff_min_s: must be at least"),
    "lutron one-byte lines": (LUTRON + "max_line_bytes = 1\n",
                              ":3: radios.lutron.max_line_bytes: must be at least 64"),
    "lutron backoff order": (LUTRON + "backoff_min_s = 5.0\nbackoff_max_s = 1.0\n",
                             ":1: radios.lutron: backoff_max_s (1) must be at least"),
    "deep nesting": ("a = " + "[" * 3000 + "]" * 3000 + "\n", ": invalid TOML: "),
    "huge file": ("# " + "x" * (2 << 20) + "\n", ": the file is too large"),
}


# Checked by the radio's own library (radios.zigbee.adapter.glue, zigpy's schema): `hubd run`
# leaves them to the daemon, which imports zigpy while the other radios connect.
LIBRARY_CHECKED = {
    "zigbee no path": ('[radios.zigbee]\nchannel = 15\n', ":1: radios.zigbee.path: "),
    "zigbee backoff order": (ZIGBEE + "backoff_min_s = 5.0\nbackoff_max_s = 1.0\n",
                             ":4: radios.zigbee: "),
}


@pytest.mark.parametrize("name", list(BAD_FILES))
def test_run_and_check_reject_the_same_files_with_78_and_a_location(tmp_path: Path,
                                                                     name: str) -> None:
    text, where = BAD_FILES[name]
    path = tmp_path / "hub.toml"
    path.write_text(text)
    outputs = []
    for args in (["config", "check", str(path)], ["run", "--config", str(path)]):
        result = CliRunner().invoke(main, args)
        assert result.exit_code == os.EX_CONFIG, (args, result.output, result.exception)
        assert "Traceback" not in result.output
        outputs.append(result.output)
    assert outputs[0] == outputs[1]
    assert f"hubd: {path}{where}" in outputs[0]
    assert outputs[0].count("\n") == 1  # one line
    assert not (tmp_path / "state").exists()  # nothing started


@pytest.mark.parametrize("name", list(LIBRARY_CHECKED))
def test_run_stops_with_78_and_the_location_where_a_radio_library_rejects_the_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    text, where = LIBRARY_CHECKED[name]
    path = tmp_path / "hub.toml"
    path.write_text(text)
    monkeypatch.setenv("STATE_DIRECTORY", str(tmp_path / "state"))
    check = CliRunner().invoke(main, ["config", "check", str(path)])
    assert check.exit_code == os.EX_CONFIG, (check.output, check.exception)
    assert check.output.startswith(f"hubd: {path}{where}")
    run = CliRunner().invoke(main, ["run", "--config", str(path)])
    assert run.exit_code == os.EX_CONFIG, (run.output, run.exception)
    assert "Traceback" not in run.output
    assert run.output.splitlines()[-1] == "hubd: stopped: " + check.output.strip()[6:]


def test_check_reports_bad_rules_and_run_keeps_the_good_ones(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "bad.yaml").write_text("rules:\n  - id: x\n    triggers: 5\n")
    path = tmp_path / "hub.toml"
    path.write_text('[rules]\ndir = "rules"\n')
    result = CliRunner().invoke(main, ["config", "check", str(path)])
    assert result.exit_code == os.EX_CONFIG
    assert f"{rules / 'bad.yaml'}:" in result.output
    checked = check_config(path)  # what `run` hands the daemon: the problems, not an exit
    assert checked.rules == () and len(checked.rule_problems) >= 1


def test_the_lutron_password_comes_from_a_private_file(tmp_path: Path) -> None:
    secret = tmp_path / "lutron-password"
    secret.write_text("s3cret\n")
    os.chmod(secret, 0o644)
    path = tmp_path / "hub.toml"
    path.write_text(LUTRON + 'password_file = "lutron-password"\n')
    with pytest.raises(ConfigError, match="may be read by others") as info:
        check_config(path)
    assert (info.value.key, info.value.line) == ("radios.lutron.password_file", 3)
    os.chmod(secret, 0o600)
    lutron = check_config(path).config.radios.lutron
    assert lutron is not None and lutron.password == "s3cret"


def test_the_lutron_password_comes_from_a_systemd_credential(tmp_path: Path) -> None:
    credentials = tmp_path / "credentials"
    credentials.mkdir()
    (credentials / LUTRON_CREDENTIAL).write_text("from-systemd")
    os.chmod(credentials / LUTRON_CREDENTIAL, 0o400)
    path = tmp_path / "hub.toml"
    path.write_text(LUTRON)
    config = check_config(path).config
    resolved = resolve_secrets(config, {"CREDENTIALS_DIRECTORY": str(credentials)})
    assert resolved.radios.lutron is not None
    assert resolved.radios.lutron.password == "from-systemd"
    assert resolve_secrets(config, {}) == config
