"""Hostile rule files on a real daemon: their rules are off, the hub and the other rules run."""

from __future__ import annotations

import signal
import time
from pathlib import Path

from tests.hubd.test_daemon import RULES_TOML, NotifySocket, _wait_row, finish, start
from tests.hubd.test_daemon import notify as notify  # the fixture, re-exported for pytest
from tests.rules.test_parse_bounds import _bomb, _nested_ifs

PORCH_ON = """
- id: porch-on
  triggers: [{kind: hub_started}]
  actions: [{kind: command, device: Porch light, command: switch.on}]
"""


def test_bombs_and_deep_nesting_disable_only_their_rules(tmp_path: Path,
                                                         notify: NotifySocket) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "a_bomb.yaml").write_text(_bomb())
    (rules / "b_brackets.yaml").write_text("[" * 1024 + "]" * 1024 + "\n")
    (rules / "c_ifs.yaml").write_text(_nested_ifs(250))
    (rules / "d_good.yaml").write_text(PORCH_ON)
    config = tmp_path / "hub.toml"
    config.write_text(RULES_TOML.format(state=tmp_path / "state"))
    started = time.monotonic()
    proc = start(config, {"NOTIFY_SOCKET": str(notify.path)})
    try:
        notify.wait_for("READY=1")
        ready_s = time.monotonic() - started
        db = tmp_path / "state" / "hubd.sqlite3"
        assert _wait_row(db, "SELECT value FROM state WHERE attribute = 'switch.on' "
                             "AND value = 'true'") == "true"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        log = finish(proc)
    assert ready_s < 10, ready_s  # a hung parse took > 90 s; a RecursionError stopped the hub
    assert f"{rules / 'a_bomb.yaml'}:" in log and "aliases are expanded" in log
    assert f"{rules / 'b_brackets.yaml'}:1: " in log and "nest" in log
    assert f"{rules / 'c_ifs.yaml'}:3: [0].actions[0].then[0]" in log
    assert "Traceback" not in log
