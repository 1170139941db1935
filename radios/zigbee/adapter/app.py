"""The zigpy adapter proper: one connection to the coordinator through zigpy.

One ``ZigpyAdapter`` wraps one zigpy ControllerApplication for the life of one connection: it
starts it (forming a network on a blank stick, or restoring zigpy's latest backup onto it),
has what devices say turned into ``radios.zigbee.model`` data for an ``AdapterListener``
(``events``), sends ZCL requests and translates zigpy's exceptions into hubd's
(``DeviceError``, ``TransientError``).
It never reconnects: when the link is lost it says so once and the supervisor starts a new one.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import zigpy.application
import zigpy.device
import zigpy.exceptions
import zigpy.types as zt
from zigpy.zcl import Cluster

from hubd.core.errors import DeviceError, TransientError
from radios.zigbee.adapter import recovery, requests
from radios.zigbee.adapter.events import AdapterListener, DeviceEvents, node_info
from radios.zigbee.adapter.glue import (
    DefaultResponseHold,
    ResetWatch,
    app_class,
    gate_device_frames,
    secure_file,
    validate_config,
    watch_coordinator_reset,
    write_private,
)
from radios.zigbee.adapter.lookup import index_by_nwk
from radios.zigbee.adapter.znp_entry import install_at_frames
from radios.zigbee.commands import ZclRequest
from radios.zigbee.model import ClusterId, NodeInfo
from radios.zigbee.settings import RadioType, ZigbeeSettings

log = logging.getLogger(__name__)

def backup_path(database_path: Path) -> Path:
    """Where the network backup lives: ``zigbee.backup.json`` beside ``zigbee.db``."""
    return database_path.with_suffix(".backup.json")


class ZigpyAdapter:
    """One connection to the coordinator through zigpy."""

    def __init__(self, settings: ZigbeeSettings, database_path: Path,
                 listener: AdapterListener) -> None:
        self._settings = settings
        self._database_path = database_path
        self._config = validate_config(settings, database_path)
        self._listener = listener
        self._app: zigpy.application.ControllerApplication | None = None
        self._reset_watch: ResetWatch | None = None
        self._is_stopping = False
        self._is_lost = False
        self._tasks: set[asyncio.Task[None]] = set()
        self._hold = DefaultResponseHold(settings.default_response_hold_s)
        self._backup_lock = asyncio.Lock()
        self._backup_writes: set[asyncio.Task[None]] = set()
        self._ungate: Callable[[], None] | None = None
        self._events = DeviceEvents(listener, self._hold, settings.default_response_hold_s > 0,
                                    self._enroll)
        self._entry = self._events.entry
        self._undo: list[Callable[[], None]] = []

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
        # A start longer than this is a hang in the radio library: fail it, so it is retried.
        bound = asyncio.timeout(self._settings.start_timeout_s)
        try:
            # zigpy's watchdog pings the coordinator; a failed ping means a lost link.
            app._watchdog_period = self._settings.watchdog_period_s  # type: ignore[assignment]
            app.add_listener(self)
            app.backups.add_listener(self)
            async with bound:
                await app.startup(auto_form=True)
        except (Exception, asyncio.CancelledError) as exc:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(self._settings.request_timeout_s):
                    await app.shutdown()
            if isinstance(exc, asyncio.CancelledError):
                raise
            if bound.expired():
                raise TransientError("the coordinator did not start within "
                                     f"{self._settings.start_timeout_s:g} s") from exc
            raise TransientError(f"the coordinator did not start: {exc!r}") from exc
        self._app = app
        if rebuilt:
            recovery.readd_devices(app)
            self._listener.notice(rebuilt)
        secure_file(self._database_path)
        # On Z-Stack, device frames are taken before zigpy-znp parses them (znp_entry).
        at_frames = (install_at_frames(self._entry, app)
                     if self._settings.radio_type is RadioType.ZNP else None)
        self._undo = [at_frames or self._entry.install(app),
                      index_by_nwk(app, self._entry.devices_by_nwk)]
        if self._settings.radio_type is RadioType.ZNP:
            # Outside the entry: a frame the flood gate drops never reaches hubd.
            self._reset_watch = watch_coordinator_reset(app, self._on_coordinator_reset)
            self._ungate = gate_device_frames(app, self._listener.frame_allowed,
                                              self._listener.frame_expected)
        nodes = []
        for device in list(app.devices.values()):
            if isinstance(device, zigpy.device.Device) and self._is_hub_device(device) \
                    and device.is_initialized:
                self._events.attach(device)
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
        for undo in self._undo:
            undo()
        self._undo = []
        self._events.detach_all()
        if app is not None:
            app.remove_listener(self)
            app.backups.remove_listener(self)
            try:
                await app.shutdown()
            except Exception:
                # A failed shutdown must not stop the supervisor from starting a fresh app.
                log.exception("event=zigbee_shutdown_failed")
        # The next start reads the newest backup if zigbee.db is damaged: it must be on disk.
        await self.backups_written()

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
            self._events.attach(device)
            self._listener.node_ready(node_info(device))

    def device_reinterviewed(self, device: zigpy.device.Device) -> None:
        """zigpy: a re-interview replaced the device object."""
        self.device_initialized(device)

    def device_left(self, device: zigpy.device.Device) -> None:
        """zigpy: a device announced it is leaving."""
        self._listener.node_left(str(device.ieee))

    def device_removed(self, device: zigpy.device.Device) -> None:
        """zigpy: a device was removed."""
        self._events.detach(str(device.ieee))
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
        # Not one of the tasks stop() cancels: a backup taken is a backup written.
        write = asyncio.get_running_loop().create_task(self._write_backup(target, data))
        self._backup_writes.add(write)
        write.add_done_callback(self._backup_writes.discard)

    async def _write_backup(self, target: Path, data: bytes) -> None:
        async with self._backup_lock:  # in the order they were taken (the lock is FIFO)
            try:
                await asyncio.to_thread(write_private, target, data)
            except OSError as exc:
                log.warning("event=zigbee_backup_write_failed path=%s error=%r", target, exc)

    async def backups_written(self) -> None:
        """Wait until the backups taken so far are on disk (stop waits for them too)."""
        if self._backup_writes:
            await asyncio.wait(set(self._backup_writes))

    def _enroll(self, ieee: str, endpoint_id: int) -> None:
        self._spawn(self._enroll_response(ieee, endpoint_id))

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
        # An interviewed device's, as listed when it was attached (no EUI64 parsed, no scan:
        # a rule's command goes this way); any other device's found in zigpy's table.
        self._require_app()
        cluster = self._events.server_cluster(ieee, cluster_id)
        if cluster is not None:
            return cluster
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

