"""What goes up: bus events as outbox messages, the state mirror's delta or snapshot, settings."""

from __future__ import annotations

import cbor2
import pytest

from hubd.config import parse_config
from hubd.core.errors import ConfigError
from hubd.core.events import ButtonEvent, DeviceJoined, Report, RuleRan, StateChanged
from hubd.core.model import ButtonAction, Capability, Context, Device, Origin
from hubd.core.state import StateStore
from hubd.tunnel.uplink import EVENT, STATE, TELEMETRY, StateMirror, to_message

CTX = Context("c1", Origin.PHYSICAL)
LAMP = Device("virtual:1", "virtual", "1", "Lamp", capabilities=frozenset({Capability.SWITCH}))


def test_messages_by_kind_with_state_coalesced_per_attribute() -> None:
    state = to_message(StateChanged("virtual:1", "switch.on", False, True, 5.0, CTX))
    assert state.kind == STATE and state.coalesce_key == "virtual:1/switch.on"
    assert cbor2.loads(state.body) == {
        "type": "state", "device": "virtual:1", "attribute": "switch.on", "old": False,
        "new": True, "ts": 5.0, "ctx": {"id": "c1", "origin": "physical", "parent": None}}
    press = to_message(ButtonEvent("virtual:5", "1", ButtonAction.PRESS, 6.0, CTX))
    assert press.kind == EVENT and press.coalesce_key is None
    ran = to_message(RuleRan("r1", "run1", "done", "door", 1.0, 1.002, 1, CTX))
    assert ran.kind == TELEMETRY and cbor2.loads(ran.body)["duration_ms"] == 2.0


def _store() -> StateStore:
    store = StateStore()
    store.apply(DeviceJoined(LAMP, 0.0, CTX))
    store.apply(Report("virtual:1", "switch.on", False, 0.0, CTX))
    return store


def test_a_cloud_at_this_epoch_gets_a_delta_else_a_snapshot() -> None:
    store = _store()
    mirror = StateMirror(store, epoch="boot-1")
    changed = store.apply(Report("virtual:1", "switch.on", True, 1.0, CTX))
    assert changed is not None
    mirror.observe(changed)
    snapshot = mirror.body(None, None)
    assert snapshot["full"] and snapshot["values"] == [["virtual:1", "switch.on", True]]
    assert [d["id"] for d in snapshot["devices"]] == ["virtual:1"]
    assert mirror.body("boot-1", 1) == {"epoch": "boot-1", "version": 1, "full": False,
                                        "since": 1, "devices": [], "removed": [], "values": []}
    delta = mirror.body("boot-1", 0)
    assert not delta["full"] and delta["values"] == [["virtual:1", "switch.on", True]]
    assert mirror.body("boot-0", 1)["full"]  # another boot's version means nothing here
    assert mirror.body("boot-1", 99)["full"]  # a version from the future: start over


def test_tunnel_settings_are_checked_with_their_key() -> None:
    config = parse_config('[tunnel]\nurl = "wss://relay:8443/"\nbackoff_max_s = 60\n', "t.toml")
    assert config.tunnel is not None and config.tunnel.backoff_max_s == 60.0
    assert parse_config("", "t.toml").tunnel is None
    with pytest.raises(ConfigError, match="wss://") as info:
        parse_config('[tunnel]\nurl = "ws://relay/"\n', "t.toml")
    assert info.value.key == "tunnel"
    with pytest.raises(ConfigError, match=r"tunnel\.window"):
        parse_config("[tunnel]\nwindow = 0\n", "t.toml")
