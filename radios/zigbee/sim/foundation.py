"""Profile-wide ZCL commands (read/write attributes, reporting configuration, discovery) as a
simulated device's cluster server answers them (ZCL 2.5)."""

from __future__ import annotations

from dataclasses import dataclass

from radios.zigbee.sim.clusters import Cluster
from radios.zigbee.sim.wire import PayloadError, Reader, u8, u16
from radios.zigbee.sim.zcl import DataType, Foundation, ZclStatus, decode_value, encode_value

_ANALOG_SIZES: dict[int, int] = {
    DataType.UINT8: 1, DataType.UINT16: 2, DataType.UINT24: 3, DataType.UINT32: 4,
    DataType.UINT48: 6, DataType.INT8: 1, DataType.INT16: 2, DataType.INT24: 3,
    DataType.INT32: 4,
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class ReportingConfig:
    """How often an attribute is to be reported (ZCL 2.5.7.1)."""

    data_type: int
    min_interval_s: int
    max_interval_s: int
    reportable_change: int


@dataclass(frozen=True, slots=True)
class GlobalAnswer:
    """The result of a profile-wide command: status for the default response, and answer."""

    status: ZclStatus
    answer: tuple[int, bytes] | None = None
    written: tuple[int, ...] = ()


def read_attributes(cluster: Cluster, args: Reader) -> GlobalAnswer:
    """2.5.1/2.5.2: one record per attribute asked, unsupported ones flagged."""
    records = b""
    while args.remaining >= 2:
        attr_id = args.u16()
        definition = cluster.define(attr_id)
        if definition is None:
            records += u16(attr_id) + u8(ZclStatus.UNSUPPORTED_ATTRIBUTE)
            continue
        value = encode_value(definition.type, cluster.get(attr_id))
        records += u16(attr_id) + u8(ZclStatus.SUCCESS) + u8(definition.type) + value
    return GlobalAnswer(ZclStatus.SUCCESS, (Foundation.READ_ATTRIBUTES_RSP, records))


def _check_write(cluster: Cluster, attr_id: int, data_type: int) -> ZclStatus:
    definition = cluster.define(attr_id)
    if definition is None:
        return ZclStatus.UNSUPPORTED_ATTRIBUTE
    if not definition.is_writable:
        return ZclStatus.READ_ONLY
    if definition.type != data_type:
        return ZclStatus.INVALID_DATA_TYPE
    return ZclStatus.SUCCESS


def write_attributes(cluster: Cluster, args: Reader, command_id: int) -> GlobalAnswer:
    """2.5.3-2.5.6: write each record; undivided writes all or none; answer failures only."""
    records: list[tuple[int, int, int | str, ZclStatus]] = []
    while args.remaining:
        attr_id, data_type = args.u16(), args.u8()
        value = decode_value(data_type, args)
        records.append((attr_id, data_type, value, _check_write(cluster, attr_id, data_type)))
    failed = [(attr, status) for attr, _, _, status in records if status is not ZclStatus.SUCCESS]
    is_undivided = command_id == Foundation.WRITE_ATTRIBUTES_UNDIVIDED
    written: list[int] = []
    if not (is_undivided and failed):
        for attr_id, _, value, status in records:
            if status is ZclStatus.SUCCESS:
                cluster.set(attr_id, value)
                written.append(attr_id)
    if command_id == Foundation.WRITE_ATTRIBUTES_NO_RSP:
        return GlobalAnswer(ZclStatus.SUCCESS, None, tuple(written))
    # 2.5.5.1: all written -> a single SUCCESS status; otherwise one record per failure
    body = u8(ZclStatus.SUCCESS) if not failed else b"".join(u8(s) + u16(a) for a, s in failed)
    return GlobalAnswer(ZclStatus.SUCCESS, (Foundation.WRITE_ATTRIBUTES_RSP, body), tuple(written))


def configure_reporting(
    cluster: Cluster, args: Reader, configs: dict[int, ReportingConfig]
) -> GlobalAnswer:
    """2.5.7/2.5.8: store each reporting configuration; answer failures only."""
    failures = b""
    while args.remaining:
        direction, attr_id = args.u8(), args.u16()
        if direction == 1:
            args.u16()  # timeout period: we are never the receiver of reports here
            continue
        data_type, min_s, max_s = args.u8(), args.u16(), args.u16()
        change_size = _ANALOG_SIZES.get(data_type, 0)  # discrete types carry no change
        change = args.uint(change_size) if change_size else 0
        definition = cluster.define(attr_id)
        if definition is None:
            failures += u8(ZclStatus.UNSUPPORTED_ATTRIBUTE) + u8(direction) + u16(attr_id)
        elif not definition.is_reportable:
            failures += u8(ZclStatus.UNREPORTABLE_ATTRIBUTE) + u8(direction) + u16(attr_id)
        elif definition.type != data_type:
            failures += u8(ZclStatus.INVALID_DATA_TYPE) + u8(direction) + u16(attr_id)
        else:
            configs[attr_id] = ReportingConfig(data_type, min_s, max_s, change)
    body = failures or u8(ZclStatus.SUCCESS)
    return GlobalAnswer(ZclStatus.SUCCESS, (Foundation.CONFIGURE_REPORTING_RSP, body))


def read_reporting_config(
    cluster: Cluster, args: Reader, configs: dict[int, ReportingConfig]
) -> GlobalAnswer:
    """2.5.9/2.5.10: the stored configuration of each attribute asked."""
    body = b""
    while args.remaining >= 3:
        direction, attr_id = args.u8(), args.u16()
        config = configs.get(attr_id)
        if direction != 0 or config is None:
            body += u8(ZclStatus.UNREPORTABLE_ATTRIBUTE) + u8(direction) + u16(attr_id)
            continue
        size = _ANALOG_SIZES.get(config.data_type, 0)
        change = config.reportable_change.to_bytes(size, "little") if size else b""
        body += (
            u8(ZclStatus.SUCCESS) + u8(0) + u16(attr_id) + u8(config.data_type)
            + u16(config.min_interval_s) + u16(config.max_interval_s) + change
        )  # fmt: skip
    return GlobalAnswer(ZclStatus.SUCCESS, (Foundation.READ_REPORTING_CONFIG_RSP, body))


def discover_attributes(cluster: Cluster, args: Reader) -> GlobalAnswer:
    """2.5.13/2.5.14: attribute ids and types from a start id, at most the count asked."""
    start, max_count = args.u16(), args.u8()
    ids = sorted(a for a in cluster.values if a >= start and cluster.define(a) is not None)
    page = ids[:max_count]
    is_complete = len(page) == len(ids)
    body = u8(int(is_complete))
    for attr_id in page:
        definition = cluster.define(attr_id)
        assert definition is not None
        body += u16(attr_id) + u8(definition.type)
    return GlobalAnswer(ZclStatus.SUCCESS, (Foundation.DISCOVER_ATTRIBUTES_RSP, body))


def run_global(
    cluster: Cluster, command_id: int, payload: bytes, configs: dict[int, ReportingConfig]
) -> GlobalAnswer:
    """Run a profile-wide command against a cluster server."""
    args = Reader(payload)
    try:
        match command_id:
            case Foundation.READ_ATTRIBUTES:
                return read_attributes(cluster, args)
            case (
                Foundation.WRITE_ATTRIBUTES
                | Foundation.WRITE_ATTRIBUTES_UNDIVIDED
                | Foundation.WRITE_ATTRIBUTES_NO_RSP
            ):
                return write_attributes(cluster, args, command_id)
            case Foundation.CONFIGURE_REPORTING:
                return configure_reporting(cluster, args, configs)
            case Foundation.READ_REPORTING_CONFIG:
                return read_reporting_config(cluster, args, configs)
            case Foundation.DISCOVER_ATTRIBUTES:
                return discover_attributes(cluster, args)
    except (PayloadError, ValueError):
        return GlobalAnswer(ZclStatus.MALFORMED_COMMAND)
    return GlobalAnswer(ZclStatus.UNSUP_GENERAL_COMMAND)


def report_payload(cluster: Cluster, attr_ids: list[int]) -> bytes:
    """The records of a Report Attributes command (2.5.11) for these attributes."""
    body = b""
    for attr_id in attr_ids:
        definition = cluster.define(attr_id)
        if definition is not None:
            body += u16(attr_id) + u8(definition.type)
            body += encode_value(definition.type, cluster.get(attr_id))
    return body
