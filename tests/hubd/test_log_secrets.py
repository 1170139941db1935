"""No network key in the debug log of a real hub: the demo's daemon on its simulated Zigbee stick,
with zigpy, zigpy-znp and aiosqlite all at debug (they print the key in several forms)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def key_forms(hex_key: str) -> list[str]:
    """The ways a 128-bit key shows in those libraries' logs: hex, colon bytes, bytes repr."""
    raw = bytes.fromhex(hex_key)
    forms = []
    for data in (raw, raw[::-1]):
        text = data.hex()
        forms += [text, ":".join(text[i:i + 2] for i in range(0, 32, 2)), repr(data)[2:-1]]
    return forms + [f.upper() for f in forms] + [hex_key[:8]]


# Its own waits are bounded (40 s for the backup, 30 s to stop): the suite's 60 s would cut
# them short on a loaded machine.
@pytest.mark.timeout(120)
def test_debug_logs_hold_no_network_key(tmp_path: Path) -> None:
    config = tmp_path / "hub.toml"
    config.write_text((EXAMPLES / "hub.toml").read_text()
                      .replace('dir = "rules"', f'dir = "{EXAMPLES / "rules"}"')
                      .replace('level = "info"', 'level = "debug"\ndebug_loggers = '
                               '["zigpy", "zigpy_znp", "aiosqlite", "bellows"]'))
    state = tmp_path / "state"
    backup = state / "zigbee.backup.json"
    proc = subprocess.Popen([sys.executable, "-m", "hubd", "demo", "--config", str(config),
                             "--state-dir", str(state), "--log-level", "debug"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 40
        while not backup.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(1.0)  # the devices join and talk, at debug
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    log = err.decode()
    assert backup.exists(), log[-2000:]
    keys = json.loads(backup.read_text())
    network_key = keys["network_key"]["key"]  # the Open Coordinator Backup format
    assert log.count("logger=zigpy") > 50  # the libraries did talk at debug
    for form in key_forms(network_key):
        assert form not in log, form
    assert "<redacted>" in log
    assert os.stat(backup).st_mode & 0o077 == 0
