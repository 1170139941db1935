"""The Z-Wave JS Server API as data: messages in, typed values out (no I/O)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hubd.core.errors import RemoteProtocolError
from radios.zwave.session import (
    SCHEMA_MAX,
    ControllerStatus,
    NodeStatus,
    Requests,
    Result,
    ServerEvent,
    ServerVersion,
    ValueId,
    negotiate_schema,
    parse_message,
    parse_state,
    value_args,
)

DUMP = Path(__file__).with_name("state_dump.json")


def version(lo: int, hi: int) -> ServerVersion:
    return ServerVersion("15.29.0", "3.10.2", 1, lo, hi)


def test_the_greeting_of_zwave_js_server_3_10() -> None:
    frame = ('{"type":"version","homeId":2119630849,"driverVersion":"15.29.0",'
             '"serverVersion":"3.10.2","minSchemaVersion":0,"maxSchemaVersion":50}')
    assert parse_message(frame) == ServerVersion("15.29.0", "3.10.2", 2119630849, 0, 50)


@pytest.mark.parametrize(("lo", "hi", "expected"), [(0, 50, SCHEMA_MAX), (0, 40, 40),
                                                    (44, 44, 44)])
def test_the_schema_is_the_highest_both_speak(lo: int, hi: int, expected: int) -> None:
    assert negotiate_schema(version(lo, hi)) == expected


@pytest.mark.parametrize(("lo", "hi"), [(0, 20), (45, 60)])
def test_a_server_outside_our_schemas_is_refused_with_both_ranges(lo: int, hi: int) -> None:
    with pytest.raises(RemoteProtocolError, match=f"{lo}-{hi}"):
        negotiate_schema(version(lo, hi))


def test_results_carry_their_id_and_the_server_error() -> None:
    ok = parse_message('{"type":"result","success":true,"messageId":"7","result":{"a":1}}')
    assert ok == Result("7", True, {"a": 1})
    failed = parse_message('{"type":"result","success":false,"messageId":"8",'
                           '"errorCode":"zwave_error","zwaveErrorMessage":"Node 9 is dead"}')
    assert failed == Result("8", False, {}, "zwave_error: Node 9 is dead")


def test_a_value_event_gives_its_value_id_and_new_value() -> None:
    event = parse_message(json.dumps({"type": "event", "event": {
        "source": "node", "event": "value updated", "nodeId": 6, "args": {
            "commandClass": 113, "endpoint": 0, "property": "Home Security",
            "propertyKey": "Motion sensor status", "newValue": 8, "prevValue": 0}}}))
    assert isinstance(event, ServerEvent)
    assert (event.source, event.name, event.node_id) == ("node", "value updated", 6)
    assert value_args(event.body) == (ValueId(113, 0, "Home Security", "Motion sensor status"),
                                      8)


def test_a_value_notification_carries_value_not_new_value() -> None:
    body = {"args": {"commandClass": 91, "endpoint": 0, "property": "scene",
                     "propertyKey": "001", "value": 0}}
    assert value_args(body) == (ValueId(91, 0, "scene", "001"), 0)


@pytest.mark.parametrize("frame", ["not json", "[1, 2]", '{"type": "nonsense"}',
                                   '{"type": "event", "event": 3}'])
def test_garbage_is_a_remote_protocol_error(frame: str) -> None:
    with pytest.raises(RemoteProtocolError):
        parse_message(frame)


def test_the_state_dump_of_the_mock_network() -> None:
    status, nodes = parse_state(json.loads(DUMP.read_text()))
    assert status is ControllerStatus.READY
    assert [n.node_id for n in nodes] == list(range(1, 10))
    controller, switch = nodes[0], nodes[1]
    assert controller.is_controller and not switch.is_controller
    assert switch.is_ready and switch.status is NodeStatus.ALIVE
    assert switch.label == "Binary Power Switch" and switch.manufacturer == "0xffff"
    assert {0x25, 0x6C, 0x32} <= switch.command_classes
    setpoint = next(v for v in nodes[7].values if v.id == ValueId(67, 0, "setpoint", 1))
    assert (setpoint.value, setpoint.unit, setpoint.is_writeable) == (20, "°C", True)


def test_requests_are_numbered_and_flat() -> None:
    requests = Requests()
    first, text = requests.build("node.set_value", {"nodeId": 2, "value": True})
    second, _ = requests.build("start_listening")
    assert first != second
    assert json.loads(text) == {"messageId": first, "command": "node.set_value", "nodeId": 2,
                                "value": True}
