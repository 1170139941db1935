"""Simulated Zigbee end devices and routers: small ZCL servers with "physical" hooks.

A SimDevice answers ZDO (descriptors, bind, leave) and ZCL (Basic reads, attribute reads and
writes, reporting configuration, cluster commands) from the coordinator, and reports attribute
changes. Hooks such as ``open()``, ``press(1)`` or ``set_temperature(21.5)`` make the device do
what the physical thing would: send a report or a command to the coordinator. Everything a
device sends goes through its DeviceLink (the simulated coordinator).
"""

from __future__ import annotations

from collections import deque
from typing import Protocol

from radios.zigbee.sim.clusters import (
    Cluster,
    ClusterId,
    EndpointState,
    make_cluster,
    run_command,
    zone_enroll_request,
    zone_status_change,
)
from radios.zigbee.sim.foundation import ReportingConfig, report_payload, run_global
from radios.zigbee.sim.kinds import KINDS, DeviceKind, DeviceSpec
from radios.zigbee.sim.wire import PayloadError, u8, u16
from radios.zigbee.sim.zcl import (
    Foundation,
    ZclHeader,
    ZclStatus,
    decode_header,
    default_response,
    is_default_response_due,
)
from radios.zigbee.sim.zdo import LogicalType, NodeInfo, SimpleDescriptor, answer

HA_PROFILE = 0x0104
COORDINATOR_ENDPOINT = 1


class DeviceLink(Protocol):
    """How a device reaches the coordinator (implemented by the simulated Z-Stack)."""

    def device_sent(
        self, device: SimDevice, src_ep: int, dst_ep: int, cluster_id: int, data: bytes
    ) -> None:
        """The device transmitted a ZCL frame to the coordinator."""
        ...

    def device_left(self, device: SimDevice) -> None:
        """The device left the network on its own."""
        ...

    def device_rejoined(self, device: SimDevice) -> None:
        """The device announced itself again (power cycle, rejoin)."""
        ...


class SimDevice:
    """One simulated device: descriptors, cluster servers, and hooks for physical events."""

    def __init__(self, spec: DeviceSpec, nwk: int) -> None:
        kind = KINDS[spec.kind]
        self.spec = spec
        self.ieee = spec.ieee
        self.kind = spec.kind
        overrides = dict(kind.overrides)
        overrides[ClusterId.BASIC] = {
            **overrides.get(ClusterId.BASIC, {}),
            0x0004: spec.manufacturer,
            0x0005: spec.model or kind.model,
        }
        clusters: dict[int, Cluster] = {
            c: make_cluster(c, overrides.get(c)) for c in kind.in_clusters
        }
        self.endpoint = EndpointState(clusters)
        self.descriptor = SimpleDescriptor(
            endpoint=1,
            profile=HA_PROFILE,
            device_type=kind.device_type,
            input_clusters=tuple(int(c) for c in kind.in_clusters),
            output_clusters=kind.out_clusters,
        )
        self.node = NodeInfo(
            spec.ieee, nwk, kind.logical_type, spec.manufacturer_code, [self.descriptor]
        )
        self.reporting: dict[int, dict[int, ReportingConfig]] = {}
        self.link: DeviceLink | None = None
        self.joined_ext_pan: int | None = None
        self.is_silent = False
        self.delivery_failures: deque[int] = deque()
        self.frames_received = 0
        # Fault injection for the host's answer matching: answers carry the request's TSN plus
        # this; and cluster commands refused with this status (a Default Response, 2.5.12).
        self.answer_tsn_skew = 0
        self.refuse_commands_with: ZclStatus | None = None
        self._tsn = 0

    @property
    def nwk(self) -> int:
        """The device's current network address."""
        return self.node.nwk

    @property
    def is_router(self) -> bool:
        """Whether the device routes (mains powered) rather than sleeping."""
        return self.node.logical_type is LogicalType.ROUTER

    def next_tsn(self) -> int:
        """The device's own ZCL sequence number for frames it originates."""
        self._tsn = (self._tsn + 1) & 0xFF
        return self._tsn

    # --- from the coordinator -------------------------------------------------------------

    def handle_zdo(self, cluster_id: int, payload: bytes) -> tuple[int, bytes] | None:
        """Answer a ZDO request addressed to this device."""
        if self.is_silent:
            return None
        return answer(self.node, cluster_id, payload)

    def group_endpoints(self, group_id: int) -> list[int]:
        """Our endpoints that are members of a group (its Groups cluster's table)."""
        if self.endpoint.cluster(ClusterId.GROUPS) is None:
            return []
        return [self.descriptor.endpoint] if group_id in self.endpoint.groups else []

    def handle_zcl(
        self, src_ep: int, dst_ep: int, cluster_id: int, data: bytes, *, is_unicast: bool
    ) -> None:
        """Process a ZCL frame sent to one of our endpoints; answers go out through the link."""
        if self.is_silent or dst_ep not in (self.descriptor.endpoint, 0xFF):
            return
        self.frames_received += 1
        try:
            header, payload = decode_header(data)
        except PayloadError:
            return  # 2.5.12.2: a frame too short to parse is dropped
        if self.refuse_commands_with is not None and header.is_cluster_specific:
            answers = [default_response(header, self.refuse_commands_with)]
        else:
            answers = self._process(header, cluster_id, payload)
        if self.answer_tsn_skew:
            answers = [_skew_tsn(frame, self.answer_tsn_skew) for frame in answers]
        if is_unicast:
            for frame in answers:
                self._send(cluster_id, frame, dst_ep=src_ep)
        self.flush_reports()

    def _process(self, header: ZclHeader, cluster_id: int, payload: bytes) -> list[bytes]:
        if header.is_server_to_client:
            return []  # answers to what our client clusters sent (e.g. default responses)
        cluster = self.endpoint.clusters.get(cluster_id)
        if cluster is None:
            status = ZclStatus.UNSUPPORTED_CLUSTER
            return (
                [default_response(header, status)]
                if is_default_response_due(header, status, has_answer=False)
                else []
            )
        if header.manufacturer is not None:
            status = (
                ZclStatus.UNSUP_MANUF_CLUSTER_COMMAND
                if header.is_cluster_specific
                else ZclStatus.UNSUP_MANUF_GENERAL_COMMAND
            )
            return [default_response(header, status)]
        if not header.is_cluster_specific:
            if header.command_id == Foundation.DEFAULT_RSP:
                return []
            configs = self.reporting.setdefault(cluster_id, {})
            result = run_global(cluster, header.command_id, payload, configs)
            if 0x0010 in result.written and cluster.cluster_id is ClusterId.IAS_ZONE:
                cluster.followups.append(zone_enroll_request(cluster, self.spec.manufacturer_code))
            status, specific = result.status, result.answer
            is_specific_cluster_frame = False
        else:
            outcome = run_command(self.endpoint, cluster, header.command_id, payload)
            status, specific = outcome.status, outcome.answer
            is_specific_cluster_frame = True
        answers = []
        if specific is not None and status is ZclStatus.SUCCESS:
            rsp = header.response(specific[0], is_cluster_specific=is_specific_cluster_frame)
            answers.append(rsp.encode() + specific[1])
        if is_default_response_due(header, status, has_answer=bool(answers)):
            answers.append(default_response(header, status))
        return answers

    # --- to the coordinator ---------------------------------------------------------------

    def _send(self, cluster_id: int, frame: bytes, *, dst_ep: int = COORDINATOR_ENDPOINT) -> None:
        if self.link is not None and self.joined_ext_pan is not None:
            self.link.device_sent(self, self.descriptor.endpoint, dst_ep, cluster_id, frame)

    def flush_reports(self) -> None:
        """Send Report Attributes for every changed reportable attribute, then any follow-ups
        (e.g. a Zone Enroll Request after the CIE address was written)."""
        for cluster in self.endpoint.clusters.values():
            changed = cluster.take_changes()
            if changed:
                header = ZclHeader(
                    Foundation.REPORT_ATTRIBUTES,
                    self.next_tsn(),
                    is_server_to_client=True,
                    is_default_response_disabled=True,
                )
                self._send(cluster.cluster_id, header.encode() + report_payload(cluster, changed))
            for command_id, payload in cluster.take_followups():
                self._send_command(
                    cluster.cluster_id, command_id, payload, is_server_to_client=True
                )

    def _send_command(
        self, cluster_id: int, command_id: int, payload: bytes, *, is_server_to_client: bool
    ) -> None:
        header = ZclHeader(
            command_id,
            self.next_tsn(),
            is_cluster_specific=True,
            is_server_to_client=is_server_to_client,
            # Commands from a client cluster (remotes) ask for a default response, as real
            # remotes do; notifications from a server cluster do too (ZCL 2.5.12.2).
            is_default_response_disabled=False,
        )
        self._send(cluster_id, header.encode() + payload)

    def _cluster(self, cluster_id: ClusterId, hook: str) -> Cluster:
        cluster = self.endpoint.cluster(cluster_id)
        if cluster is None:
            raise ValueError(f"{self.kind} has no {cluster_id.name} cluster: cannot {hook}()")
        return cluster

    # --- physical hooks -------------------------------------------------------------------

    def switch(self, is_on: bool) -> None:
        """Someone pressed the device's own button: on or off."""
        self._cluster(ClusterId.ON_OFF, "switch").set(0x0000, int(is_on))
        self.flush_reports()

    def open(self) -> None:
        """The door or window opened (contact sensor)."""
        self._set_zone_alarm(True, "open")

    def close(self) -> None:
        """The door or window closed (contact sensor)."""
        self._set_zone_alarm(False, "close")

    def motion(self, is_active: bool = True) -> None:
        """Motion started (or, with False, cleared)."""
        occupancy = self.endpoint.cluster(ClusterId.OCCUPANCY)
        if occupancy is not None:
            occupancy.set(0x0000, int(is_active))
            self.flush_reports()
        self._set_zone_alarm(is_active, "motion")

    def _set_zone_alarm(self, is_alarm: bool, hook: str) -> None:
        zone = self._cluster(ClusterId.IAS_ZONE, hook)
        status = int(zone.get(0x0002))
        zone.values[0x0002] = (status | 0x0001) if is_alarm else (status & ~0x0001)
        # 8.2.2.4.1: a zone notifies its CIE only once enrolled
        if zone.get(0x0000) == 1:
            command_id, payload = zone_status_change(zone)
            self._send_command(ClusterId.IAS_ZONE, command_id, payload, is_server_to_client=True)

    def set_temperature(self, celsius: float) -> None:
        """The measured temperature changed."""
        value = round(celsius * 100)
        thermostat = self.endpoint.cluster(ClusterId.THERMOSTAT)
        if thermostat is not None:
            thermostat.set(0x0000, value)
        else:
            self._cluster(ClusterId.TEMPERATURE, "set_temperature").set(0x0000, value)
        self.flush_reports()

    def set_humidity(self, pct: float) -> None:
        """The measured relative humidity changed."""
        self._cluster(ClusterId.HUMIDITY, "set_humidity").set(0x0000, round(pct * 100))
        self.flush_reports()

    def set_battery(self, pct: float) -> None:
        """The battery level changed (reported in half percent)."""
        self._cluster(ClusterId.POWER_CONFIG, "set_battery").set(0x0021, round(pct * 2))
        self.flush_reports()

    def set_power(self, watts: float, volts: float = 230.0) -> None:
        """The load on a plug changed."""
        self._cluster(ClusterId.METERING, "set_power").set(0x0400, round(watts))
        electrical = self._cluster(ClusterId.ELECTRICAL, "set_power")
        electrical.set(0x050B, round(watts))
        electrical.set(0x0508, round(watts / volts * 1000))
        self.flush_reports()

    def add_energy(self, kwh: float) -> None:
        """Energy went through a plug (summation in Wh, divisor 1000 gives kWh)."""
        metering = self._cluster(ClusterId.METERING, "add_energy")
        metering.set(0x0000, int(metering.get(0x0000)) + round(kwh * 1000))
        self.flush_reports()

    def set_lock(self, is_locked: bool) -> None:
        """The lock was turned by hand."""
        self._cluster(ClusterId.DOOR_LOCK, "set_lock").set(0x0000, 1 if is_locked else 2)
        self.flush_reports()

    def jam(self) -> None:
        """The bolt jammed half way (lock state: not fully locked)."""
        self._cluster(ClusterId.DOOR_LOCK, "jam").set(0x0000, 0)
        self.flush_reports()

    def set_heating_setpoint(self, celsius: float) -> None:
        """Someone turned the thermostat's dial."""
        self._cluster(ClusterId.THERMOSTAT, "set_heating_setpoint").set(
            0x0012, round(celsius * 100)
        )
        self.flush_reports()

    def press(self, button: int, action: str = "press") -> None:
        """A remote's button: 1 on, 2 off, 3 brighter, 4 dimmer; action press, hold or release."""
        if self.kind is not DeviceKind.REMOTE:
            raise ValueError(f"{self.kind} has no buttons")
        if button not in (1, 2, 3, 4) or action not in ("press", "hold", "release"):
            raise ValueError(f"no button {button} / action {action!r} on a 4-button remote")
        cluster, command_id, payload = _BUTTON_COMMANDS[(button, action)]
        self._send_command(cluster, command_id, payload, is_server_to_client=False)

    def leave(self) -> None:
        """The device leaves the network by itself (reset button held)."""
        if self.link is not None and self.joined_ext_pan is not None:
            self.link.device_left(self)
        self.joined_ext_pan = None

    def rejoin(self) -> None:
        """The device power-cycled and announces itself again."""
        if self.link is not None and self.joined_ext_pan is not None:
            self.link.device_rejoined(self)

    def fail_next(self, status: int, count: int = 1) -> None:
        """The next ``count`` frames to this device fail with this Z-Stack status
        (e.g. Status.MAC_NO_ACK, Status.NWK_NO_ROUTE) in AF.DataConfirm."""
        self.delivery_failures.extend([status] * count)


_STEP = u8(51) + u16(5)  # step size 20 %, transition 0.5 s
_BUTTON_COMMANDS: dict[tuple[int, str], tuple[ClusterId, int, bytes]] = {
    (1, "press"): (ClusterId.ON_OFF, 0x01, b""),
    (1, "hold"): (ClusterId.ON_OFF, 0x01, b""),
    (1, "release"): (ClusterId.LEVEL, 0x03, b""),
    (2, "press"): (ClusterId.ON_OFF, 0x00, b""),
    (2, "hold"): (ClusterId.ON_OFF, 0x00, b""),
    (2, "release"): (ClusterId.LEVEL, 0x03, b""),
    (3, "press"): (ClusterId.LEVEL, 0x06, u8(0) + _STEP),
    (3, "hold"): (ClusterId.LEVEL, 0x05, u8(0) + u8(50)),
    (3, "release"): (ClusterId.LEVEL, 0x07, b""),
    (4, "press"): (ClusterId.LEVEL, 0x02, u8(1) + _STEP),
    (4, "hold"): (ClusterId.LEVEL, 0x01, u8(1) + u8(50)),
    (4, "release"): (ClusterId.LEVEL, 0x03, b""),
}


def _skew_tsn(frame: bytes, skew: int) -> bytes:
    """The frame with its TSN moved by ``skew`` (ZCL 2.4.1: after the manufacturer code if any)."""
    at = 3 if frame[0] & 0x04 else 1
    return frame[:at] + bytes(((frame[at] + skew) & 0xFF,)) + frame[at + 1:]
