"""The zigpy adapter proper: one connection to the coordinator through zigpy.

One ``ZigpyAdapter`` wraps one zigpy ControllerApplication for the life of one connection: it
starts it (forming a network on a blank stick, or restoring zigpy's latest backup onto it),
turns zigpy's callbacks into ``radios.zigbee.model`` data for an ``AdapterListener``, sends ZCL
requests and translates zigpy's exceptions into hubd's (``DeviceError``, ``TransientError``).
It never reconnects: when the link is lost it says so once and the supervisor starts a new one.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import zigpy.application
import zigpy.device
import zigpy.exceptions
import zigpy.types as zt
from zigpy.zcl import Cluster

from hubd.core.errors import DeviceError, TransientError
from radios.zigbee.adapter import recovery, requests
from radios.zigbee.adapter.entry import PacketEntry
from radios.zigbee.adapter.glue import (
    DefaultResponseHold,
    ResetWatch,
    app_class,
    gate_device_frames,
    plain,
    secure_file,
    validate_config,
    watch_coordinator_reset,
    write_private,
)
from radios.zigbee.commands import ZclRequest
from radios.zigbee.mapping import (
    IAS_ZONE_TYPE,
    SCALING,
)
from radios.zigbee.model import (
    AttributeEvent,
    ClusterCommandEvent,
    ClusterId,
    EndpointInfo,
    NodeInfo,
)
from radios.zigbee.settings import RadioType, ZigbeeSettings

log = logging.getLogger(__name__)

def backup_path(database_path: Path) -> Path:
    """Where the network backup lives: ``zigbee.backup.json`` beside ``zigbee.db``."""
    return database_path.with_suffix(".backup.json")


_ATTRIBUTE_EVENTS = ("attribute_report", "attribute_read", "attribute_updated")


class AdapterListener(Protocol):
    """What the adapter tells the driver; every call is synchronous and returns at once."""

    def node_ready(self, node: NodeInfo) -> None:
        """A device finished its interview (new, rejoined or re-interviewed)."""
        ...

    def node_left(self, ieee: str) -> None:
        """A device left the network or was removed."""
        ...

    def node_seen(self, ieee: str) -> None:
        """A device sent something (any frame)."""
        ...

    def attribute(self, event: AttributeEvent) -> None:
        """A device reported an attribute, or answered a read."""
        ...

    def cluster_command(self, event: ClusterCommandEvent) -> None:
        """A device sent a cluster command to the hub."""
        ...

    def link_lost(self, reason: str) -> None:
        """The coordinator is gone (unplugged, reset, not answering); stop using this adapter."""
        ...

    def notice(self, message: str) -> None:
        """Something the people of the house should know (zigbee.db rebuilt, a flood)."""
        ...

    def frame_allowed(self, nwk: int) -> bool:
        """A device frame arrived from ``nwk``: may it come in (False: drop it, a flood)?"""
        ...


def node_info(device: zigpy.device.Device) -> NodeInfo:
    """A zigpy device as plain data."""
    endpoints = tuple(
        EndpointInfo(ep.endpoint_id, frozenset(ep.in_clusters), frozenset(ep.out_clusters))
        for ep in device.non_zdo_endpoints
    )
    zone_type = None
    for ep in device.non_zdo_endpoints:
        ias = ep.in_clusters.get(ClusterId.IAS_ZONE)
        if ias is not None:
            cached = ias.get(IAS_ZONE_TYPE)
            zone_type = int(cached) if isinstance(cached, int) else None
    node_desc = device.node_desc
    return NodeInfo(
        ieee=str(device.ieee), nwk=int(device.nwk), manufacturer=device.manufacturer or "",
        model=device.model or "", endpoints=endpoints,
        is_mains_powered=True if node_desc is None else bool(node_desc.is_mains_powered),
        zone_type=zone_type, last_seen=device.last_seen,
    )


class _CommandListener:
    """zigpy still delivers received cluster commands only through the legacy listener."""

    def __init__(self, adapter: ZigpyAdapter, ieee: str, endpoint_id: int, cluster_id: int
                 ) -> None:
        self._adapter, self._ieee = adapter, ieee
        self._endpoint_id, self._cluster_id = endpoint_id, cluster_id

    def cluster_command(self, tsn: int, command_id: int, args: Any) -> None:
        """Called by zigpy for every cluster command the device sent."""
        if self._adapter.is_replaying:  # hubd heard it at the packet entry
            return
        self._adapter.on_cluster_command(self._ieee, self._endpoint_id, self._cluster_id,
                                         command_id, args)


class ZigpyAdapter:
    """One connection to the coordinator through zigpy."""

    def __init__(self, settings: ZigbeeSettings, database_path: Path,
                 listener: AdapterListener) -> None:
        self._settings = settings
        self._database_path = database_path
        self._config = validate_config(settings, database_path)
        self._listener = listener
        self._app: zigpy.application.ControllerApplication | None = None
        self._detach: dict[str, list[Callable[[], None]]] = {}
        self._reset_watch: ResetWatch | None = None
        self._is_stopping = False
        self._is_lost = False
        self._tasks: set[asyncio.Task[None]] = set()
        self._hold = DefaultResponseHold(settings.default_response_hold_s)
        self._backup_lock = asyncio.Lock()
        self._ungate: Callable[[], None] | None = None
        self._entry = PacketEntry(self)
        self._unentry: Callable[[], None] | None = None

    @property
    def app(self) -> zigpy.application.ControllerApplication | None:
        """The running zigpy application (None before start and after stop)."""
        return self._app

    @property
    def frames_taken_at_entry(self) -> int:
        """Device frames hubd heard at zigpy's packet entry, before zigpy's handling."""
        return self._entry.taken

    async def entry_handled(self) -> None:
        """Wait until zigpy has handled the frames hubd heard at its packet entry."""
        await self._entry.handled()

    @property
    def is_replaying(self) -> bool:
        """zigpy is handling a frame that hubd already took at the packet entry."""
        return self._entry.is_replaying

    @property
    def coordinator_ieee(self) -> str:
        """The coordinator's IEEE address."""
        return str(self._require_app().state.node_info.ieee)

    # -- life cycle --------------------------------------------------------------------------

    async def start(self) -> list[NodeInfo]:
        """Connect, form or restore the network, and return the devices zigpy knows."""
        secure_file(self._database_path)
        app_cls = app_class(self._settings.radio_type)
        app, rebuilt = await recovery.new_app(app_cls, self._config, self._database_path,
                                              backup_path(self._database_path))
        try:
            # zigpy's watchdog pings the coordinator; a failed ping means a lost link.
            app._watchdog_period = self._settings.watchdog_period_s  # type: ignore[assignment]
            app.add_listener(self)
            app.backups.add_listener(self)
            await app.startup(auto_form=True)
        except (Exception, asyncio.CancelledError) as exc:
            with contextlib.suppress(Exception):
                await app.shutdown()
            if isinstance(exc, asyncio.CancelledError):
                raise
            raise TransientError(f"the coordinator did not start: {exc!r}") from exc
        self._app = app
        if rebuilt:
            recovery.readd_devices(app)
            self._listener.notice(rebuilt)
        secure_file(self._database_path)
        self._unentry = self._entry.install(app)
        if self._settings.radio_type is RadioType.ZNP:
            self._reset_watch = watch_coordinator_reset(app, self._on_coordinator_reset)
            self._ungate = gate_device_frames(app, self._listener.frame_allowed)
        nodes = []
        for device in list(app.devices.values()):
            if isinstance(device, zigpy.device.Device) and self._is_hub_device(device) \
                    and device.is_initialized:
                self._attach(device)
                nodes.append(node_info(device))
        return nodes

    async def stop(self) -> None:
        """Shut zigpy down and close its database; safe to call twice."""
        self._is_stopping = True
        app, self._app = self._app, None
        if self._reset_watch is not None:
            self._reset_watch.cancel()
            self._reset_watch = None
        for task in list(self._tasks):
            task.cancel()
        self._hold.cancel()
        if self._ungate is not None:
            self._ungate()
            self._ungate = None
        if self._unentry is not None:
            self._unentry()
            self._unentry = None
        for detachers in self._detach.values():
            for detach in detachers:
                detach()
        self._detach.clear()
        if app is not None:
            app.remove_listener(self)
            app.backups.remove_listener(self)
            try:
                await app.shutdown()
            except Exception:
                # A failed shutdown must not stop the supervisor from starting a fresh app.
                log.exception("event=zigbee_shutdown_failed")

    def _lost(self, reason: str) -> None:
        if self._is_stopping or self._is_lost:
            return
        self._is_lost = True
        self._listener.link_lost(reason)

    def _on_coordinator_reset(self) -> None:
        # zigpy-znp only logs an unsolicited SYS.ResetInd; the stack restarted under zigpy.
        self._lost("the coordinator reset itself")

    def _require_app(self) -> zigpy.application.ControllerApplication:
        if self._app is None or self._is_lost:
            raise TransientError("the zigbee coordinator is not connected")
        return self._app

    def _is_hub_device(self, device: Any) -> bool:
        app = self._app
        if not isinstance(device, zigpy.device.Device) or app is None:
            return False
        return bool(device.ieee != app.state.node_info.ieee)

    # -- zigpy's application listener (called by zigpy; names are zigpy's) -------------------

    def connection_lost(self, exc: BaseException | None) -> None:
        """zigpy: the serial link closed or the watchdog ping failed."""
        code = getattr(exc, "code", None)  # bellows' NcpFailure: the NCP reset or gave up
        if exc is not None and type(exc).__name__ == "NcpFailure" and code is not None:
            name = getattr(code, "name", str(code))
            self._lost(f"the coordinator reset itself or failed ({name})")
            return
        self._lost(f"connection lost: {exc!r}" if exc else "connection lost")

    def device_initialized(self, device: zigpy.device.Device) -> None:
        """zigpy: a device finished its interview (or rejoined, already interviewed)."""
        if self._is_hub_device(device):
            self._attach(device)
            self._listener.node_ready(node_info(device))

    def device_reinterviewed(self, device: zigpy.device.Device) -> None:
        """zigpy: a re-interview replaced the device object."""
        self.device_initialized(device)

    def device_left(self, device: zigpy.device.Device) -> None:
        """zigpy: a device announced it is leaving."""
        self._listener.node_left(str(device.ieee))

    def device_removed(self, device: zigpy.device.Device) -> None:
        """zigpy: a device was removed."""
        for detach in self._detach.pop(str(device.ieee), []):
            detach()
        self._entry.forget(device.ieee)
        self._listener.node_left(str(device.ieee))

    def handle_message(self, device: Any, profile: int, cluster: int, src_ep: int,
                       dst_ep: int, data: bytes) -> None:
        """zigpy: any frame from a known device (last seen)."""
        if not self._entry.is_replaying:
            self._listener.node_seen(str(device.ieee))

    def network_backup_created(self, backup: Any) -> None:
        """zigpy: a network backup was taken; keep a copy next to the database, mode 0600.

        Written in a thread (fsync and rename can take long on flash), one write at a time.
        """
        target = backup_path(self._database_path)
        try:
            data = json.dumps(backup.as_open_coordinator_json(), indent=2).encode()
        except (TypeError, ValueError) as exc:
            log.warning("event=zigbee_backup_encode_failed error=%r", exc)
            return
        self._spawn(self._write_backup(target, data))

    async def _write_backup(self, target: Path, data: bytes) -> None:
        async with self._backup_lock:
            try:
                await asyncio.to_thread(write_private, target, data)
            except OSError as exc:
                log.warning("event=zigbee_backup_write_failed path=%s error=%r", target, exc)

    async def backups_written(self) -> None:
        """Wait until the backups taken so far are on disk (for tests and shutdown)."""
        async with self._backup_lock:
            pass

    # -- cluster events ----------------------------------------------------------------------

    def _attach(self, device: zigpy.device.Device) -> None:
        ieee = str(device.ieee)
        for detach in self._detach.pop(ieee, []):
            detach()
        detachers: list[Callable[[], None]] = []
        for ep in device.non_zdo_endpoints:
            for cluster in (*ep.in_clusters.values(), *ep.out_clusters.values()):
                for name in _ATTRIBUTE_EVENTS:
                    detachers.append(cluster.on_event(name, self._make_attr_cb(cluster)))
                if self._settings.default_response_hold_s > 0:
                    detachers.append(self._hold.install(cluster))
                listener = _CommandListener(self, ieee, ep.endpoint_id, cluster.cluster_id)
                cluster.add_listener(listener)
                detachers.append(_remover(cluster, listener))
        self._detach[ieee] = detachers
        self._entry.track(device)

    def _make_attr_cb(self, cluster: Cluster) -> Callable[[Any], None]:
        scaling = SCALING.get(cluster.cluster_id)

        def on_attribute(event: Any) -> None:
            if not self._entry.is_replaying:  # hubd heard it at the packet entry
                self._attribute(cluster, scaling, event.device_ieee, event.endpoint_id,
                                event.attribute_id, event.value)

        return on_attribute

    def _attribute(self, cluster: Cluster, scaling: tuple[int, int] | None, ieee: str,
                   endpoint_id: int, attribute_id: int, value: Any) -> None:
        multiplier = divisor = 1
        if scaling is not None:
            multiplier = int(cluster.get(scaling[0], 1) or 1)
            divisor = int(cluster.get(scaling[1], 1) or 1)
        self._listener.attribute(AttributeEvent(ieee, endpoint_id, cluster.cluster_id,
                                                attribute_id, plain(value), multiplier, divisor))

    # -- frames taken at zigpy's packet entry (radios.zigbee.adapter.entry) ------------------

    def entry_seen(self, device: zigpy.device.Device) -> None:
        """A device sent a frame hubd takes before zigpy: it is alive."""
        self._listener.node_seen(str(device.ieee))

    def entry_command(self, device: zigpy.device.Device, endpoint_id: int, cluster: Cluster,
                      command_id: int, args: Any) -> None:
        """A cluster command, heard before zigpy's handling."""
        self.on_cluster_command(str(device.ieee), endpoint_id, cluster.cluster_id, command_id,
                                args)

    def entry_attribute(self, device: zigpy.device.Device, endpoint_id: int, cluster: Cluster,
                        attribute_id: int, value: Any) -> None:
        """A reported attribute, heard before zigpy's handling."""
        self._attribute(cluster, SCALING.get(cluster.cluster_id), str(device.ieee), endpoint_id,
                        attribute_id, value)

    def on_cluster_command(self, ieee: str, endpoint_id: int, cluster_id: int,
                           command_id: int, args: Any) -> None:
        """A cluster command arrived; IAS enroll requests are answered here (ZCL 8.2.2.4.2)."""
        values = args.as_tuple() if hasattr(args, "as_tuple") else tuple(args or ())
        event = ClusterCommandEvent(ieee, endpoint_id, cluster_id, command_id,
                                    tuple(plain(v) for v in values))
        if cluster_id == ClusterId.IAS_ZONE and command_id == 0x01:
            self._spawn(self._enroll_response(ieee, endpoint_id))
        self._listener.cluster_command(event)

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _enroll_response(self, ieee: str, endpoint_id: int) -> None:
        with contextlib.suppress(*requests.ZIGPY_ERRORS, TransientError, KeyError):
            device = self._device(ieee)
            await device.endpoints[endpoint_id].in_clusters[ClusterId.IAS_ZONE].enroll_response(
                0, 0)

    # -- requests ----------------------------------------------------------------------------

    def _device(self, ieee: str) -> zigpy.device.Device:
        app = self._require_app()
        device = app.devices.get(zt.EUI64.convert(ieee))
        if not isinstance(device, zigpy.device.Device):
            raise DeviceError(f"zigbee:{ieee}", "not in the coordinator's device table")
        return device

    def _server_cluster(self, ieee: str, cluster_id: int) -> Cluster:
        for ep in self._device(ieee).non_zdo_endpoints:
            if cluster_id in ep.in_clusters:
                return ep.in_clusters[cluster_id]  # type: ignore[no-any-return]
        raise DeviceError(f"zigbee:{ieee}", f"has no server cluster 0x{cluster_id:04x}")

    async def send(self, ieee: str, request: ZclRequest) -> None:
        """Send a request and wait for the device's answer; DeviceError says what went wrong."""
        await requests.send(self._server_cluster(ieee, request.cluster_id), f"zigbee:{ieee}",
                            request)

    async def send_group(self, group_id: int, request: ZclRequest) -> None:
        """Send a cluster command to a group as one multicast (no answer comes back)."""
        await requests.send_group(self._require_app(), group_id, request)

    async def add_to_group(self, ieee: str, group_id: int) -> None:
        """Make every endpoint of a device a member of a group (ZCL 3.6.2.3.2 Add Group)."""
        device = self._device(ieee)
        try:
            await device.add_to_group(group_id, f"hubd {group_id}")
        except requests.ZIGPY_ERRORS as exc:
            raise DeviceError(f"zigbee:{ieee}", f"could not join group {group_id}: {exc!r}"
                              ) from exc

    async def remove_from_group(self, ieee: str, group_id: int) -> None:
        """Take every endpoint of a device out of a group (ZCL 3.6.2.3.5 Remove Group)."""
        device = self._device(ieee)
        try:
            await device.remove_from_group(group_id)
        except requests.ZIGPY_ERRORS as exc:
            raise DeviceError(f"zigbee:{ieee}", f"could not leave group {group_id}: {exc!r}"
                              ) from exc

    def group_members(self, group_id: int) -> frozenset[str]:
        """The devices zigpy records as members of a group (kept in its database)."""
        group = self._require_app().groups.get(group_id)
        if group is None:
            return frozenset()
        return frozenset(str(ieee) for ieee, _endpoint_id in group.members)

    async def permit(self, duration_s: float) -> None:
        """Open (or close, with 0) the network for joining, at most 254 s at a time (ZDO)."""
        app = self._require_app()
        try:
            await app.permit(time_s=max(0, min(254, round(duration_s))))
        except requests.ZIGPY_ERRORS as exc:
            raise TransientError(f"permit join failed: {exc!r}") from exc

    async def remove(self, ieee: str) -> None:
        """Ask a device to leave and forget it."""
        await self._require_app().remove(zt.EUI64.convert(ieee))

    async def prepare(self, ieee: str) -> NodeInfo:
        """Before announcing a new device: learn its scaling and IAS zone type, enroll it."""
        device = self._device(ieee)
        await requests.prepare(device, self._require_app().state.node_info.ieee)
        return node_info(device)

    async def configure(self, ieee: str) -> None:
        """Bind, configure reporting and read current values; best effort, step by step."""
        await requests.configure(self._device(ieee))


def _remover(cluster: Cluster, listener: _CommandListener) -> Callable[[], None]:
    return lambda: cluster.remove_listener(listener)
