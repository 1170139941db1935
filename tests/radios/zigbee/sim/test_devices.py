"""Simulated devices as ZCL servers: direction bits, manufacturer flag, default-response
rules (ZCL 2.5.12.2), sequence numbers, reports and physical hooks. Synchronous."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from radios.zigbee.sim import DeviceKind
from radios.zigbee.sim.devices import SimDevice
from radios.zigbee.sim.kinds import DeviceSpec


@dataclass
class Air:
    """The devices' side of the radio: what they transmitted, in order."""

    sent: list[tuple[int, int, int, bytes]] = field(default_factory=list)

    def device_sent(
        self, device: SimDevice, src_ep: int, dst_ep: int, cluster_id: int, data: bytes
    ) -> None:
        self.sent.append((src_ep, dst_ep, cluster_id, data))

    def device_left(self, device: SimDevice) -> None:
        self.sent.append((0, 0, 0x0034, b"left"))

    def device_rejoined(self, device: SimDevice) -> None:
        self.sent.append((0, 0, 0x0013, b"announce"))


def make(kind: DeviceKind) -> tuple[SimDevice, Air]:
    device = SimDevice(DeviceSpec(0x000D6F0000000001, kind, model="M-1"), nwk=0x1234)
    air = Air()
    device.link = air
    device.joined_ext_pan = 0xDD
    return device, air


def test_basic_read_answers_server_to_client_with_the_request_tsn() -> None:
    device, air = make(DeviceKind.ON_OFF_LIGHT)
    device.handle_zcl(1, 1, 0x0000, bytes((0x00, 0x21, 0x00, 0x05, 0x00, 0x99, 0x00)),
                      is_unicast=True)  # fmt: skip
    # fc 0x18: server->client, default response disabled; model "M-1"; 0x0099 unsupported
    assert air.sent == [
        (1, 1, 0x0000, bytes((0x18, 0x21, 0x01, 0x05, 0x00, 0x00, 0x42, 3)) + b"M-1"
         + bytes((0x99, 0x00, 0x86)))
    ]  # fmt: skip


def test_a_command_gets_a_default_response_and_a_report() -> None:
    device, air = make(DeviceKind.ON_OFF_LIGHT)
    device.handle_zcl(1, 1, 0x0006, bytes((0x01, 0x42, 0x01)), is_unicast=True)
    default_rsp, report = air.sent
    assert default_rsp == (1, 1, 0x0006, bytes((0x18, 0x42, 0x0B, 0x01, 0x00)))
    assert report[3] == bytes((0x18, 0x01, 0x0A, 0x00, 0x00, 0x10, 0x01))  # own tsn 1


def test_no_default_response_when_disabled_but_always_on_error() -> None:
    device, air = make(DeviceKind.ON_OFF_LIGHT)
    device.handle_zcl(1, 1, 0x0006, bytes((0x11, 0x05, 0x00)), is_unicast=True)  # off, DDR
    assert air.sent == []  # already off: no report either
    device.handle_zcl(1, 1, 0x0006, bytes((0x11, 0x06, 0x7F)), is_unicast=True)  # unknown cmd
    assert air.sent == [(1, 1, 0x0006, bytes((0x18, 0x06, 0x0B, 0x7F, 0x81)))]


def test_manufacturer_specific_frames_are_refused_with_the_same_code() -> None:
    device, air = make(DeviceKind.ON_OFF_LIGHT)
    device.handle_zcl(1, 1, 0x0006, bytes((0x05, 0x5F, 0x11, 0x09, 0x01)), is_unicast=True)
    # UNSUP_MANUF_CLUSTER_COMMAND, manufacturer flag and code echoed
    assert air.sent == [(1, 1, 0x0006, bytes((0x1C, 0x5F, 0x11, 0x09, 0x0B, 0x01, 0x83)))]


def test_broadcasts_change_state_but_are_not_answered() -> None:
    device, air = make(DeviceKind.ON_OFF_LIGHT)
    device.handle_zcl(1, 0xFF, 0x0006, bytes((0x01, 0x07, 0x01)), is_unicast=False)
    assert [s[3][2] for s in air.sent] == [0x0A]  # only the attribute report


def test_writing_the_cie_address_starts_enrollment() -> None:
    device, air = make(DeviceKind.CONTACT_SENSOR)
    cie = bytes(range(8))
    device.handle_zcl(1, 1, 0x0500, bytes((0x00, 0x30, 0x02, 0x10, 0x00, 0xF0)) + cie,
                      is_unicast=True)  # fmt: skip
    write_rsp, enroll = air.sent
    assert write_rsp[3] == bytes((0x18, 0x30, 0x04, 0x00))
    # Zone Enroll Request: cluster-specific, server->client; zone type 0x0015, mfr 0x1234
    assert enroll[3] == bytes((0x09, 0x01, 0x01, 0x15, 0x00, 0x34, 0x12))
    device.open()
    assert len(air.sent) == 2  # not enrolled yet: no notification (8.2.2.4.1)
    device.handle_zcl(1, 1, 0x0500, bytes((0x01, 0x31, 0x00, 0x00, 0x05)), is_unicast=True)
    air.sent.clear()
    device.close()
    device.open()
    assert [s[3][3:5] for s in air.sent] == [b"\x00\x00", b"\x01\x00"]  # zone status


def test_read_only_and_unknown_attributes_are_refused_on_write() -> None:
    device, air = make(DeviceKind.ON_OFF_LIGHT)
    device.handle_zcl(1, 1, 0x0006, bytes((0x00, 0x40, 0x02, 0x00, 0x00, 0x10, 0x01)),
                      is_unicast=True)  # fmt: skip
    assert air.sent[0][3] == bytes((0x18, 0x40, 0x04, 0x88, 0x00, 0x00))  # READ_ONLY


def test_configure_reporting_is_stored_and_read_back() -> None:
    device, air = make(DeviceKind.TEMP_HUMIDITY_SENSOR)
    record = bytes((0x00, 0x00, 0x00, 0x29, 0x01, 0x00, 0x10, 0x0E, 0x32, 0x00))
    device.handle_zcl(1, 1, 0x0402, bytes((0x00, 0x50, 0x06)) + record, is_unicast=True)
    assert air.sent[0][3] == bytes((0x18, 0x50, 0x07, 0x00))
    device.handle_zcl(1, 1, 0x0402, bytes((0x00, 0x51, 0x08, 0x00, 0x00, 0x00)), is_unicast=True)
    assert air.sent[1][3] == bytes((0x18, 0x51, 0x09, 0x00)) + record


def test_remote_buttons_send_client_commands() -> None:
    device, air = make(DeviceKind.REMOTE)
    device.press(1)
    device.press(3)
    on, step = air.sent
    assert on[2:] == (0x0006, bytes((0x01, 0x01, 0x01)))  # client->server, cluster-specific
    assert step[2:] == (0x0008, bytes((0x01, 0x02, 0x06, 0x00, 51, 5, 0)))
    with pytest.raises(ValueError):
        device.press(5)


def test_hooks_report_measurements() -> None:
    device, air = make(DeviceKind.TEMP_HUMIDITY_SENSOR)
    device.set_temperature(21.57)
    assert air.sent[0][2:] == (
        0x0402,
        bytes((0x18, 0x01, 0x0A, 0x00, 0x00, 0x29)) + (2157).to_bytes(2, "little"),
    )
    with pytest.raises(ValueError, match="no ON_OFF"):
        device.switch(True)


def test_a_silent_device_answers_nothing() -> None:
    device, air = make(DeviceKind.ON_OFF_LIGHT)
    device.is_silent = True
    device.handle_zcl(1, 1, 0x0006, bytes((0x01, 0x42, 0x01)), is_unicast=True)
    assert device.handle_zdo(0x0002, b"\x34\x12") is None
    assert air.sent == []
