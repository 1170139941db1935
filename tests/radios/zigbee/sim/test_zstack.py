"""The simulated Z-Stack engine, sans-I/O: MT frames in, exact bytes out, time passed in."""

from __future__ import annotations

from radios.zigbee.sim import DeviceKind, Status, ZStack, ZStackConfig
from radios.zigbee.sim.commands import Rsp
from radios.zigbee.sim.kinds import DeviceSpec
from radios.zigbee.sim.mt import CommandType, MtDecoder, MtFrame, Subsystem
from radios.zigbee.sim.wire import u8, u16

SYS, AF, ZDO, APP_CNF = Subsystem.SYS, Subsystem.AF, Subsystem.ZDO, Subsystem.APP_CNF


def sreq(subsystem: Subsystem, command_id: int, payload: bytes = b"") -> bytes:
    return MtFrame(CommandType.SREQ, subsystem, command_id, payload).encode()


def frames(engine: ZStack) -> list[MtFrame]:
    decoder = MtDecoder()
    decoder.receive_data(engine.data_to_send())
    return decoder.frames_received()


def formed() -> ZStack:
    engine = ZStack(ZStackConfig(seed=1, pan_id=0x1A62))
    engine.receive_data(sreq(APP_CNF, 0x05, u8(0x04)), now=0.0)  # BDBStartCommissioning
    engine.data_to_send()
    return engine


def test_ping_is_answered_byte_exact() -> None:
    engine = ZStack()
    engine.receive_data(bytes.fromhex("fe00210120"), now=0.0)
    # capabilities SYS|AF|ZDO|UTIL|GP|APP_CNF = 0x0659
    assert engine.data_to_send() == bytes.fromhex("fe026101590 63d".replace(" ", ""))


def test_unknown_requests_get_an_rpc_error_and_are_recorded() -> None:
    engine = ZStack()
    engine.receive_data(bytes.fromhex("fe00217f5e"), now=0.0)  # SYS 0x7F: no such command
    # MT API 2.1.3: RPC_Error SRSP, code 2 (invalid command id), the request's CMD0/CMD1
    assert engine.data_to_send() == bytes.fromhex("fe0360000221 7f3f".replace(" ", ""))
    engine.receive_data(sreq(Subsystem.MAC, 0x01), now=0.0)
    assert frames(engine)[0].payload == bytes((0x01, 0x22, 0x01))  # invalid subsystem
    assert [u.name for u in engine.unknown_requests] == ["SREQ SYS 0x7F", "SREQ MAC 0x01"]


def test_osal_nv_items_round_trip() -> None:
    engine = ZStack()
    nv_id = u16(0x0F01)
    engine.receive_data(sreq(SYS, 0x07, nv_id + u16(3) + u8(1) + b"\xaa"), now=0.0)
    engine.receive_data(sreq(SYS, 0x1D, nv_id + u16(1) + u16(2) + b"\xbb\xcc"), now=0.0)
    engine.receive_data(sreq(SYS, 0x13, nv_id), now=0.0)
    engine.receive_data(sreq(SYS, 0x1C, nv_id + u16(0)), now=0.0)
    engine.receive_data(sreq(SYS, 0x12, nv_id + u16(3)), now=0.0)
    engine.receive_data(sreq(SYS, 0x13, nv_id), now=0.0)
    payloads = [f.payload for f in frames(engine)]
    assert payloads == [
        u8(Status.NV_ITEM_UNINIT),
        u8(Status.SUCCESS),
        u16(3),
        u8(Status.SUCCESS) + u8(3) + b"\xaa\xbb\xcc",
        u8(Status.SUCCESS),
        u16(0),
    ]


def test_formation_answers_the_srsp_before_its_callbacks() -> None:
    engine = ZStack(ZStackConfig(seed=1))
    engine.receive_data(sreq(APP_CNF, 0x05, u8(0x04)), now=0.0)
    out = frames(engine)
    assert (out[0].type, out[0].payload) == (CommandType.SRSP, u8(Status.SUCCESS))
    assert out[-2] == Rsp.STATE_CHANGE_IND.frame(u8(0x09))  # started as coordinator
    assert out[-1] == Rsp.BDB_COMMISSIONING_NOTIFICATION.frame(bytes((0x00, 0x04, 0x00)))
    assert engine.is_started and engine.network.identity is not None


def test_data_requests_are_refused_before_the_network_runs() -> None:
    engine = ZStack()
    request = u16(0x1234) + u8(1) + u8(1) + u16(6) + u8(9) + u8(0) + u8(30) + u8(0)
    engine.receive_data(sreq(AF, 0x01, request), now=0.0)
    assert frames(engine)[0].payload == u8(Status.NWK_INVALID_REQUEST)


def _data_request_ext(nwk: int, tsn: int, data: bytes, mode: int = 0x02) -> bytes:
    address = u16(nwk) + bytes(6)
    fields = u8(mode) + address + u8(1) + u16(0) + u8(1) + u16(0x0006) + u8(tsn) + u8(0) + u8(30)
    return sreq(AF, 0x02, fields + u16(len(data)) + data)


def test_a_unicast_is_confirmed_then_answered() -> None:
    engine = formed()
    engine.receive_data(sreq(AF, 0x00, bytes((1, 4, 1, 0, 0, 0, 0, 0, 0))), now=0.0)  # ep 1
    light = engine.network.add(DeviceSpec(0x0D6F01, DeviceKind.ON_OFF_LIGHT), is_joined=True)
    engine.data_to_send()
    engine.receive_data(_data_request_ext(light.nwk, 7, bytes((0x01, 0x42, 0x01))), now=1.0)
    out = frames(engine)
    assert out[0].payload == u8(Status.SUCCESS)  # SRSP
    assert out[1] == Rsp.DATA_CONFIRM.frame(bytes((Status.SUCCESS, 1, 7)))
    # AF.IncomingMsg with the default response (ZCL 2.5.12): on (0x01) succeeded
    assert out[2].command_id == Rsp.INCOMING_MSG.command_id
    assert bytes((0x18, 0x42, 0x0B, 0x01, 0x00)) in out[2].payload
    assert light.endpoint.clusters[0x0006].get(0x0000) == 1


def test_delivery_failures_and_missing_confirms() -> None:
    engine = formed()
    light = engine.network.add(DeviceSpec(0x0D6F01, DeviceKind.ON_OFF_LIGHT), is_joined=True)
    light.fail_next(Status.MAC_NO_ACK)
    engine.receive_data(_data_request_ext(light.nwk, 1, bytes((0x01, 0x01, 0x01))), now=0.0)
    assert frames(engine)[1] == Rsp.DATA_CONFIRM.frame(bytes((Status.MAC_NO_ACK, 1, 1)))
    engine.receive_data(_data_request_ext(0x4444, 2, bytes((0x01, 0x02, 0x01))), now=0.0)
    assert frames(engine)[1].payload[0] == Status.NWK_NO_ROUTE
    engine.faults.is_dropping_confirms = True
    engine.receive_data(_data_request_ext(light.nwk, 3, bytes((0x11, 0x03, 0x01))), now=0.0)
    assert [f.command_id for f in frames(engine)] == [0x02]  # only the SRSP


def test_late_confirms_come_at_their_deadline() -> None:
    engine = formed()
    light = engine.network.add(DeviceSpec(0x0D6F01, DeviceKind.ON_OFF_LIGHT), is_joined=True)
    engine.faults.confirm_delay_s = 2.0
    engine.receive_data(_data_request_ext(light.nwk, 1, bytes((0x11, 0x01, 0x01))), now=10.0)
    assert len(frames(engine)) == 1
    assert engine.next_deadline() == 12.0
    engine.handle_timers(12.0)
    assert frames(engine) == [Rsp.DATA_CONFIRM.frame(bytes((Status.SUCCESS, 1, 1)))]


def test_broadcasts_are_limited_by_the_broadcast_table() -> None:
    engine = formed()
    statuses = []
    for tsn in range(10):
        engine.receive_data(_data_request_ext(0xFFFD, tsn, b"\x11\x00\x01", mode=0x0F), now=5.0)
        statuses.append(frames(engine)[0].payload[0])
    assert statuses == [Status.SUCCESS] * 9 + [Status.BUFFER_FULL]
    engine.receive_data(_data_request_ext(0xFFFD, 11, b"\x11\x00\x01", mode=0x0F), now=8.1)
    assert frames(engine)[0].payload[0] == Status.SUCCESS


def test_hang_and_corruption_faults() -> None:
    engine = ZStack()
    engine.faults.is_hung = True
    engine.receive_data(sreq(SYS, 0x01), now=0.0)
    assert engine.data_to_send() == b""
    engine.faults.is_hung = False
    engine.faults.corrupt_next_frames = 1
    engine.receive_data(sreq(SYS, 0x01), now=0.0)
    decoder = MtDecoder()
    decoder.receive_data(engine.data_to_send())
    assert decoder.frames_received() == [] and decoder.bad_fcs_frames == 1


def test_a_reset_keeps_nv_and_loses_ram_state() -> None:
    engine = formed()
    engine.receive_data(sreq(AF, 0x00, bytes((1, 4, 1, 0, 0, 0, 0, 0, 0))), now=0.0)
    engine.data_to_send()
    ext_pan = engine.network.identity.extended_pan_id if engine.network.identity else None
    engine.receive_data(MtFrame(CommandType.AREQ, SYS, 0x00, b"\x01").encode(), now=1.0)
    assert frames(engine) == [Rsp.RESET_IND.frame(bytes((0x01, 2, 1, 2, 7, 1)))]
    assert engine.network.endpoints == {} and not engine.is_started
    engine.receive_data(sreq(APP_CNF, 0x05, u8(0x04)), now=2.0)
    statuses = [f.payload[0] for f in frames(engine) if f.command_id == 0x80]
    assert statuses == [0x0D, 0x08]  # network restored, then "formation failure": not new
    assert engine.network.identity is not None
    assert engine.network.identity.extended_pan_id == ext_pan
