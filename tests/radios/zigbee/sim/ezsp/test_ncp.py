"""The NCP engine over ASH bytes, synchronous: version exchange, strictness, configuration
rules, formation and a unicast with its callbacks, in the order EmberZNet sends them."""

from __future__ import annotations

import pytest

from radios.zigbee.sim import DeviceKind
from radios.zigbee.sim.ezsp.commands import BY_NAME, EmberStatus, EzspStatus
from radios.zigbee.sim.ezsp.framing import Ack, Data, Deframer, Rst, RstAck, encode
from radios.zigbee.sim.ezsp.layouts import Value, decode
from radios.zigbee.sim.ezsp.layouts import encode as encode_params
from radios.zigbee.sim.ezsp.ncp import Ncp, NcpConfig
from radios.zigbee.sim.ezsp.registry import HANDLERS
from radios.zigbee.sim.kinds import DeviceSpec

LIGHT = 0x000D6F0000000001


class Host:
    """A minimal host: numbers ASH frames, acknowledges every NCP frame, decodes EZSP."""

    def __init__(self) -> None:
        self.ncp = Ncp(NcpConfig(seed=1))
        self.ncp.reset()
        self.deframer = Deframer()
        self.tx = self.rx = self.seq = 0
        self.now = 0.0
        self.ncp.receive_data(encode(Rst()), self.now)
        # power-on announced unasked, then the RST answered with a software reset
        assert self.frames() == [RstAck(0x02), RstAck(0x0B)]

    def frames(self) -> list[object]:
        self.deframer.receive_data(self.ncp.data_to_send())
        return list(self.deframer.frames_received())

    def exchange(self, payload: bytes) -> list[tuple[int, int, bytes]]:
        """Send one EZSP frame; (frame control, frame id, parameters) of each answer."""
        self.ncp.receive_data(encode(Data(self.tx, self.rx, payload)), self.now)
        self.tx = (self.tx + 1) % 8
        answers = []
        for _ in range(20):
            data = [f for f in self.frames() if isinstance(f, Data)]
            if not data:
                break
            for frame in data:
                self.rx = (frame.frm_num + 1) % 8
                answers.append(frame.payload)
            self.ncp.receive_data(encode(Ack(self.rx)), self.now)
        return [(p[1], int.from_bytes(p[3:5], "little"), p[5:]) for p in answers]

    def call(self, name: str, *values: Value) -> list[tuple[int, int, bytes]]:
        command = BY_NAME[name]
        self.seq = (self.seq + 1) & 0xFF
        header = bytes((self.seq, 0x00, 0x01)) + command.frame_id.to_bytes(2, "little")
        return self.exchange(header + encode_params(command.params, values))


def started() -> Host:
    host = Host()
    # UG100 2.1: the first version command is in the legacy header; the answer too
    host.ncp.receive_data(encode(Data(0, 0, bytes((0, 0x00, 0x00, 4)))), 0.0)
    host.tx = 1
    (answer,) = [f for f in host.frames() if isinstance(f, Data)]
    assert answer.payload == bytes((0, 0x80, 0x00, 13, 2)) + (0x7440).to_bytes(2, "little")
    host.rx = 1
    return host


def test_nothing_before_the_version_and_unknown_ids_get_invalid_command() -> None:
    host = Host()
    ((fc, frame_id, params),) = host.call("networkState")
    assert (frame_id, params) == (0x0058, bytes((EzspStatus.ERROR_VERSION_NOT_SET,)))
    host = started()
    ((fc, frame_id, params),) = host.exchange(bytes((9, 0x00, 0x01, 0x34, 0x12)))
    assert (fc, frame_id, params) == (0x80, 0x0058, bytes((EzspStatus.ERROR_INVALID_FRAME_ID,)))
    assert [u.frame_id for u in host.ncp.unknown_requests] == [0x1234]


def test_configuration_is_fixed_once_the_network_runs() -> None:
    host = started()
    ((_, _, ok),) = host.call("setConfigurationValue", 0x05, 16)
    assert ok == bytes((EzspStatus.SUCCESS,))
    network = (0xDDDDDDDDDDDDDDDD, 0x1A2B, 8, 15, 0, 0, 0, 1 << 15)
    response, stack_status = host.call("formNetwork", network)
    assert response[2] == bytes((EmberStatus.SUCCESS,))
    assert (stack_status[0], stack_status[1], stack_status[2]) == (0x90, 0x0019, b"\x90")
    ((_, _, refused),) = host.call("setConfigurationValue", 0x05, 32)
    assert refused == bytes((EzspStatus.ERROR_INVALID_CALL,))
    ((_, _, params),) = host.call("getNetworkParameters")
    status, node_type, stored = decode(BY_NAME["getNetworkParameters"].response, params)
    assert (status, node_type, stored) == (0, 1, network)


def test_a_unicast_is_answered_then_confirmed_then_the_device_replies() -> None:
    host = started()
    host.call("formNetwork", (0xDD, 0x1A2B, 8, 15, 0, 0, 0, 1 << 15))
    light = host.ncp.network.add(DeviceSpec(LIGHT, DeviceKind.ON_OFF_LIGHT), is_joined=True)
    aps = (0x0104, 0x0006, 1, 1, 0x0140, 0, 0)
    answers = host.call("sendUnicast", 0, light.nwk, aps, 7, bytes((0x01, 0x42, 0x01)))
    names = [next(c.name for c in BY_NAME.values() if c.frame_id == a[1]) for a in answers]
    assert names[:2] == ["sendUnicast", "messageSentHandler"]
    assert answers[1][0] == 0x90  # an asynchronous callback
    sent = decode(BY_NAME["messageSentHandler"].response, answers[1][2])
    assert (sent[1], sent[3], sent[4]) == (light.nwk, 7, EmberStatus.SUCCESS)
    incoming = [decode(BY_NAME["incomingMessageHandler"].response, a[2])
                for a in answers if a[1] == 0x0045]  # fmt: skip
    assert incoming and incoming[0][4] == light.nwk  # the default response, then the report


def _sample(kind: str) -> Value:
    from radios.zigbee.sim.ezsp.layouts import STRUCTS

    if kind in STRUCTS:
        return tuple(_sample(k) for k in STRUCTS[kind])
    if kind == "key":
        return bytes(range(16))
    if kind in ("lv", "lv32", "rest"):
        return b"\x01\x02"
    if kind in ("relays", "u16s"):
        return (0x1234, 0x5678)
    return 0


@pytest.mark.parametrize("version", [12, 13, 14, 16, 17])
def test_every_layout_matches_bellows_own_schema(version: int) -> None:
    """Cross-check only (the simulator never imports bellows): what we encode, bellows
    decodes completely, for every parameter and response layout of the table; and every
    command has a handler."""
    import bellows.types as t
    from bellows.ezsp.v12 import EZSPv12
    from bellows.ezsp.v13 import EZSPv13
    from bellows.ezsp.v14 import EZSPv14
    from bellows.ezsp.v16 import EZSPv16
    from bellows.ezsp.v17 import EZSPv17

    classes = {12: EZSPv12, 13: EZSPv13, 14: EZSPv14, 16: EZSPv16, 17: EZSPv17}
    theirs = classes[version].COMMANDS
    ours = Ncp(NcpConfig(protocol_version=version)).commands
    assert set(ours) - set(theirs) == set()
    for command in ours.values():
        assert command.is_callback or command.name in HANDLERS, command.name
        frame_id, tx_schema, rx_schema = theirs[command.name]
        assert frame_id == command.frame_id, command.name
        for layout, schema in ((command.params, tx_schema), (command.response, rx_schema)):
            data = encode_params(layout, tuple(_sample(k) for k in layout))
            if layout == ("u32", "rest"):  # v14 token data: the value follows an OK only
                data = bytes(4) + encode_params(("lv32",), (b"\x01\x02",))
            if isinstance(schema, dict):
                _, rest = t.deserialize_dict(data, schema)
            else:
                _, rest = schema.deserialize(data)
            assert rest == b"", (command.name, layout)
