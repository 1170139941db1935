"""hubctl against a real daemon (in a thread): pair, info, devices, set, events (resumed),
rules apply and trace, health, join, discover; settings 0600; a changed key is refused."""

from __future__ import annotations

import json
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from hubd.core.events import Report
from hubd.core.model import Context, Origin
from hubd.ctl.cli import command_of, main
from tests.hubd.api.conftest import HubThread


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubThread]:
    hub = HubThread(tmp_path_factory.mktemp("hubctl"), zeroconf=True)
    yield hub
    hub.close()


@pytest.fixture(scope="module")
def config(live: HubThread, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("home") / "hubctl" / "config.json"
    result = run(path, "pair", live.url, "--code", live.setup_code, "--client", "cli")
    assert result.exit_code == 0, result.output
    return path


def run(config: Path, *args: str) -> Result:
    return CliRunner().invoke(main, ["--config", str(config), *args], catch_exceptions=False)


def run_json(config: Path, *args: str) -> Any:
    result = run(config, "--json", *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_pair_keeps_url_pin_and_token_private(config: Path, live: HubThread) -> None:
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    saved = json.loads(config.read_text())
    assert saved["url"] == live.url and saved["token"].startswith("hubd_")
    info = run_json(config, "info")
    assert saved["pin_sha256"] == info["pin_sha256"]
    human = run(config, "info")
    assert info["pin_sha256"] in human.stdout


def test_devices_table_and_set(config: Path) -> None:
    table = run(config, "devices").stdout
    assert "Hall light" in table and "virtual:1" in table and "NAME" in table
    result = run(config, "set", "Hall light", "level", "40")
    assert result.exit_code == 0 and "level.set confirmed" in result.stdout
    device = run_json(config, "devices")["devices"]
    light = next(d for d in device if d["id"] == "virtual:1")
    assert light["state"]["level.level_pct"] == 40
    bad = run(config, "set", "Front door", "on")
    assert bad.exit_code == 1 and "invalid_command" in bad.output


def test_command_words() -> None:
    assert command_of(("on",)) == ("switch.on", {})
    assert command_of(("level", "40")) == ("level.set", {"level_pct": 40})
    assert command_of(("color.set_color_temp", "color_temp_k=2700")) == (
        "color.set_color_temp", {"color_temp_k": 2700})


def test_events_follow_and_resume_from_where_they_stopped(config: Path, live: HubThread
                                                          ) -> None:
    health = run_json(config, "health")
    start = health["api"]["seq"]
    assert live.daemon.hub is not None
    for is_open in (True, False, True):
        live.soon(live.daemon.hub.report, Report("virtual:3", "contact.is_open", is_open, 0.0,
                                                 Context.new(Origin.PHYSICAL)))
    first = run(config, "events", "--since", str(start), "--count", "1")
    assert first.exit_code == 0 and "contact.is_open" in first.stdout
    seq_after_first = json.loads(config.read_text())["events_seq"]
    assert seq_after_first > start
    # The next run resumes after the last one shown, from the hub's ring.
    more = run(config, "--json", "events", "--count", "1")
    shown = json.loads(more.stdout.splitlines()[0])
    assert shown["seq"] == seq_after_first + 1


def test_rules_apply_with_located_errors_and_trace(config: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("- id: x\n  triggers: []\n  actions: []\n")
    result = run(config, "rules", "apply", str(bad))
    assert result.exit_code == 1 and "rule_invalid" in result.output
    assert "cli:" in result.output or ":2:" in result.output
    good = tmp_path / "good.yaml"
    good.write_text("- id: porch\n  triggers: [{kind: state, device: Front door, attribute: "
                    "is_open, to: true}]\n  actions: [{kind: command, device: Porch light, "
                    "command: switch.on}]\n")
    result = run(config, "rules", "apply", str(good))
    assert result.exit_code == 0 and "applied porch" in result.stdout
    assert "porch" in run(config, "rules", "list").stdout
    trace = run(config, "rules", "trace", "door-light")
    assert trace.exit_code == 0


def test_health_and_join(config: Path) -> None:
    assert "virtual" in run(config, "health").stdout
    result = run(config, "--json", "join", "virtual", "0.5")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"joined": []}


def test_discover_finds_the_hub_on_loopback(config: Path, live: HubThread) -> None:
    found = run_json(config, "discover", "--timeout-s", "1.5", "--interface", "127.0.0.1")
    assert any(f["url"] == live.url and f["pin_sha256"] == json.loads(
        config.read_text())["pin_sha256"] for f in found), found


def test_a_different_key_is_refused(config: Path, tmp_path: Path) -> None:
    other = tmp_path / "other.json"
    saved = json.loads(config.read_text())
    saved["pin_sha256"] = "00" * 32
    other.write_text(json.dumps(saved))
    result = run(other, "devices")
    assert result.exit_code == 1 and "someone may be in the middle" in result.output


def test_tokens_listed_and_revoked(config: Path, live: HubThread, tmp_path: Path) -> None:
    other = tmp_path / "other.json"
    result = run(other, "pair", live.url, "--code", live.setup_code, "--client", "old phone")
    assert result.exit_code == 0, result.output
    listed = run_json(config, "tokens")["tokens"]
    phone = next(t for t in listed if t["client"] == "old phone")
    assert "old phone" in run(config, "tokens").stdout
    assert run(config, "tokens", "revoke", phone["id"]).exit_code == 0
    refused = run(other, "devices")
    assert refused.exit_code == 1 and "unauthorized" in refused.output


def test_update_status_install_with_progress_and_reboot(config: Path, live: HubThread,
                                                        tmp_path: Path) -> None:
    status = run_json(config, "update")
    assert status["running_version"] == "1" and status["booted_slot"] == "A"
    assert "running  1 from slot A" in run(config, "update").stdout
    tampered = bytearray(live.slots.bundle("1.1"))
    tampered[-10] ^= 0xFF
    (tmp_path / "bad.bundle").write_bytes(bytes(tampered))
    refused = run(config, "update", "install", str(tmp_path / "bad.bundle"))
    assert refused.exit_code == 1 and "update_rejected" in refused.output
    assert "tampered" in refused.output
    (tmp_path / "hubd-1.1.bundle").write_bytes(live.slots.bundle("1.1"))
    result = run(config, "update", "install", "--reboot", str(tmp_path / "hubd-1.1.bundle"))
    assert result.exit_code == 0, result.output
    assert "installed 1.1" in result.stderr and "rebooting" in result.stdout
    assert live.slots.reboots == ["reboot"]
    assert run_json(config, "update")["phase"] == "rebooting"
