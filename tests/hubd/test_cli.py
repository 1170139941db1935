"""The `hubd` command as people use it: checking configs, the version, the demo's printer."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

import hubd
from hubd.bus import Bus
from hubd.cli import main
from hubd.core.clock import ManualClock
from hubd.core.events import (
    CommandResult,
    DeviceJoined,
    RadioHealth,
    RadioStatus,
    RuleRan,
    StateChanged,
)
from hubd.core.model import Capability, Command, CommandStatus, Context, Device, rule_origin
from hubd.core.state import StateStore
from hubd.demo import DemoPrinter
from hubd.hub import Hub

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_config_check_accepts_the_example() -> None:
    result = CliRunner().invoke(main, ["config", "check", str(EXAMPLES / "hub.toml")])
    assert result.exit_code == 0, result.output
    assert "ok (radios: virtual)" in result.output


def test_config_check_names_file_line_and_key(tmp_path: Path) -> None:
    broken = tmp_path / "hub.toml"
    broken.write_text('[hub]\nname = "home"\n\n[radios.virtual]\nactivity_interval_s = "often"\n')
    result = CliRunner().invoke(main, ["config", "check", str(broken)])
    assert result.exit_code == os.EX_CONFIG  # systemd does not restart a broken config
    assert f"{broken}:5: radios.virtual.activity_interval_s:" in result.output


def test_run_with_a_broken_config_exits_78_before_starting(tmp_path: Path) -> None:
    broken = tmp_path / "hub.toml"
    broken.write_text("[hub\n")
    result = CliRunner().invoke(main, ["run", "--config", str(broken)])
    assert result.exit_code == os.EX_CONFIG
    assert str(broken) in result.output


def test_version() -> None:
    result = CliRunner().invoke(main, ["version"])
    assert result.output.strip() == f"hubd {hubd.__version__}"


def test_run_does_not_load_the_simulators_or_zigpy() -> None:
    code = ("import sys, hubd.cli; "
            "print(sorted(m for m in sys.modules if m.startswith(("
            "'radios.zigbee.sim', 'radios.zigbee.driver', 'radios.lutron.sim', 'zigpy'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=60)
    assert out.stdout.strip() == "[]"


async def test_demo_printer_says_what_happens() -> None:
    hub = Hub(ManualClock(), Bus(), StateStore())
    out = io.StringIO()
    printer = DemoPrinter(hub, out)
    lamp = Device("virtual:1", "virtual", "1", "Hall light", room="Hall",
                  capabilities=frozenset({Capability.SWITCH}))
    ctx = Context.new("physical").child(rule_origin("door"))
    hub.state.apply(DeviceJoined(lamp, 0.0, ctx))
    for event in (DeviceJoined(lamp, 0.0, ctx),
                  StateChanged("virtual:1", "switch.on", False, True, 0.0, ctx),
                  CommandResult(Command("virtual:1", Capability.SWITCH, "on", context=ctx),
                                CommandStatus.CONFIRMED, 0.0042),
                  RuleRan("door", "r1", "done", "Front door contact.is_open", 0.0, 0.0061, 1,
                          ctx)):
        printer.show(event)
    text = out.getvalue()
    assert "+ Hall light" in text and "[Hall]" in text
    assert "switch.on" in text and "False → True" in text and "(rule:door)" in text
    assert "confirmed in 4.20 ms" in text
    assert "done 6.10 ms after Front door contact.is_open (1 command)" in text
    await hub.bus.close()


def test_demo_printer_says_a_radio_retrying_once() -> None:
    hub = Hub(ManualClock(), Bus(), StateStore())
    out = io.StringIO()
    printer = DemoPrinter(hub, out)
    refused = RadioHealth("zwave", RadioStatus.RECONNECTING, "connection refused", 0.0)
    for event in (refused, refused, RadioHealth("zwave", RadioStatus.OK, "ready", 1.0),
                  refused):
        printer.show(event)
    assert [line.split(maxsplit=2)[2] for line in out.getvalue().splitlines()] == [
        "zwave reconnecting: connection refused", "zwave ok: ready",
        "zwave reconnecting: connection refused"]
