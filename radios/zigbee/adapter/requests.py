"""Requests to devices through zigpy: commands, writes, multicasts, enrolment, configuration.

zigpy's exceptions and ZCL statuses leave this module as DeviceError with words for people.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any

import zigpy.application
import zigpy.device
import zigpy.exceptions
import zigpy.types as zt
from zigpy.zcl import Cluster, foundation
from zigpy.zcl.helpers import ReportingConfig

from hubd.core.errors import DeviceError
from radios.zigbee.adapter import unicast
from radios.zigbee.adapter.glue import delivery_words
from radios.zigbee.commands import ZclRequest
from radios.zigbee.mapping import (
    EXTRA_READS,
    IAS_CIE_ADDRESS,
    IAS_ZONE_TYPE,
    REPORTING,
    SCALING,
    ReportConfig,
)
from radios.zigbee.model import ClusterId

log = logging.getLogger(__name__)

ZIGPY_ERRORS = (TimeoutError, zigpy.exceptions.ZigbeeException)
_BUTTON_CLIENTS = frozenset({ClusterId.ON_OFF, ClusterId.LEVEL_CONTROL, ClusterId.SCENES})


async def send(cluster: Cluster, device_id: str, request: ZclRequest) -> None:
    """Send a command or attribute write to a server cluster and check the device's answer.

    Commands, a rule's usual reaction, take the short way (``unicast``); writes, which need
    the attributes' types, go through zigpy's cluster."""
    try:
        if request.is_write:
            rsp = await cluster.write_attributes(
                {w.attribute_id: w.value for w in request.writes})
        else:
            assert request.command_id is not None
            rsp = await unicast.send_command(cluster, request.command_id, request.args)
    except zigpy.exceptions.DeliveryError as exc:
        raise DeviceError(device_id, delivery_words(exc)) from exc
    except zigpy.exceptions.ZigbeeException as exc:
        raise DeviceError(device_id, f"zigbee error: {exc}") from exc
    check_answer(device_id, rsp)


async def send_group(app: zigpy.application.ControllerApplication, group_id: int,
                     request: ZclRequest) -> None:
    """Send a cluster command to a group as one multicast (no answer comes back)."""
    if request.is_write:
        raise DeviceError(f"zigbee:group:{group_id}", "groups take commands, not writes")
    group = app.groups.add_group(group_id)
    assert request.command_id is not None
    try:
        await group.endpoint[request.cluster_id].command(request.command_id, *request.args)
    except zigpy.exceptions.ZigbeeException as exc:
        raise DeviceError(f"zigbee:group:{group_id}", delivery_words(exc)) from exc


async def prepare(device: zigpy.device.Device, coordinator: zt.EUI64) -> None:
    """What must be known before the first report is understood: the scaling of power and
    energy, and the type of IAS zones, which are enrolled with the hub as their CIE
    (ZCL 8.2.2.2.3, 8.2.2.3)."""
    for ep in device.non_zdo_endpoints:
        for cluster_id, (multiplier, divisor) in SCALING.items():
            cluster = ep.in_clusters.get(cluster_id)
            if cluster is not None:
                with contextlib.suppress(*ZIGPY_ERRORS):
                    await cluster.read_attributes([multiplier, divisor])
        ias = ep.in_clusters.get(ClusterId.IAS_ZONE)
        if ias is None:
            continue
        with contextlib.suppress(*ZIGPY_ERRORS):
            await ias.write_attributes({IAS_CIE_ADDRESS: coordinator})
        with contextlib.suppress(*ZIGPY_ERRORS):
            await ias.read_attributes([IAS_ZONE_TYPE])
        with contextlib.suppress(*ZIGPY_ERRORS):
            await ias.enroll_response(0, 0)  # auto-enroll-response: success, zone id 0


async def configure(device: zigpy.device.Device) -> None:
    """Bind, configure reporting and read current values; best effort, step by step."""
    ieee = str(device.ieee)
    for ep in device.non_zdo_endpoints:
        for cluster_id, cluster in ep.in_clusters.items():
            reports = REPORTING.get(cluster_id, ())
            if reports:
                await _best_effort(ieee, "bind", cluster.bind())
                await _best_effort(ieee, "configure reporting",
                                   cluster.configure_reporting_multiple(
                                       _reporting(cluster, reports)))
            reads = [r.attribute_id for r in reports] + list(EXTRA_READS.get(cluster_id, ()))
            if reads:
                await _best_effort(ieee, "read", cluster.read_attributes(reads))
        for cluster_id, cluster in ep.out_clusters.items():
            if cluster_id in _BUTTON_CLIENTS:
                await _best_effort(ieee, "bind", cluster.bind())


def _reporting(cluster: Cluster, reports: tuple[ReportConfig, ...]
               ) -> dict[foundation.ZCLAttributeDef, ReportingConfig]:
    """zigpy's reporting configuration for the attributes this cluster defines."""
    config = {}
    for report in reports:
        try:
            attr_def = cluster.find_attribute(report.attribute_id)
        except KeyError:
            continue
        config[attr_def] = ReportingConfig(min_interval=report.min_interval_s,
                                           max_interval=report.max_interval_s,
                                           reportable_change=report.reportable_change or 0)
    return config


async def _best_effort(ieee: str, what: str, awaitable: Any) -> None:
    try:
        await awaitable
    except ZIGPY_ERRORS as exc:
        log.info("event=zigbee_configure_step_failed ieee=%s step=%r error=%r", ieee, what, exc)


def check_answer(device_id: str, rsp: Any) -> None:
    """Raise DeviceError unless the device's answer says success (ZCL 2.5.12 / 2.5.5)."""
    status = getattr(rsp, "status", None)
    if status is not None and int(status) != foundation.Status.SUCCESS:
        raise DeviceError(device_id, f"the device refused: {_status_name(status)}")
    records = rsp[0] if isinstance(rsp, list | tuple) and rsp else None
    if isinstance(records, list):
        for record in records:
            record_status = getattr(record, "status", foundation.Status.SUCCESS)
            if int(record_status) != foundation.Status.SUCCESS:
                raise DeviceError(device_id, f"the device refused: {_status_name(record_status)}")


def _status_name(status: Any) -> str:
    name = getattr(status, "name", None)
    return name if isinstance(name, str) else f"status 0x{int(status):02x}"
