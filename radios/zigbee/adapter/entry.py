"""Device frames taken at zigpy's packet entry, so hubd hears them before zigpy handles them.

Theory of operation. Every radio library (zigpy-znp, bellows) hands each received frame to
``ControllerApplication.packet_received``. zigpy then resolves the device, filters duplicates,
matches responses, parses the ZCL frame, queues its Default Response, stores last-seen and the
attribute cache through its database thread, and only then calls the cluster listeners that
tell hubd. On a busy machine that chain took about a millisecond before hubd heard a door open.

``PacketEntry`` wraps the entry point (on Z-Stack one step earlier, zigpy-znp's MT frames,
``znp_entry``, so that zigpy-znp's own parse of the frame waits too). A frame hubd maps (a
cluster-specific command, or a Report Attributes, ZCL 2.5.11, on a cluster of ``ClusterId``
whose class is zigpy's own, so no quirk rewrites it) from an interviewed device is parsed
with zigpy's own cluster schema and handed to hubd at once; zigpy's whole chain then runs for
it ``_REPLAY_TURNS`` turns of the loop later, after the command a rule sent in reaction is
on the wire. While zigpy replays such a frame, ``is_replaying`` is true and the adapter does
not tell hubd a second time. Every other frame
(ZDO, responses, manufacturer-specific or quirked clusters, unknown devices) goes through zigpy
first, unchanged, or in order behind a taken frame still waiting for zigpy. A duplicate (the
same frame within ``PACKET_DEBOUNCE_WINDOW``, as zigpy compares them) reaches hubd only once;
zigpy still sees it, in turn, and drops it too.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import struct
from collections import deque
from collections.abc import Callable
from typing import Any, Protocol

import zigpy.application
import zigpy.device
import zigpy.endpoint
import zigpy.profiles.zha
import zigpy.types as zt
from zigpy.datastructures import Debouncer
from zigpy.device import PACKET_DEBOUNCE_WINDOW
from zigpy.zcl import Cluster, foundation

from radios.zigbee.model import ClusterId

log = logging.getLogger(__name__)

# ZCL 2.4.1.1 Frame Control: frame type (bits 0-1), manufacturer specific (bit 2),
# direction (bit 3: server to client).
_FRAME_TYPE_MASK = 0x03
_FRAME_CLUSTER = 0x01
_FRAME_GLOBAL = 0x00
_MANUFACTURER_SPECIFIC = 0x04
_SERVER_TO_CLIENT = 0x08
_MAPPED = frozenset(int(c) for c in ClusterId)
# zigpy handles a taken frame this many turns of the loop after a timer of REPLAY_DELAY_S,
# so at least three turns after it was read: the rule's run starts in the next turn, and the
# radio library may hand the request to a task of its own that writes it in the turn after
# (zigpy-znp shields AF.DataRequestExt in one; ours writes it in the rule's turn when the line
# is free, adapter/znp_send.py, but bellows does not). The turns make the order hold on a
# loop however slow; the delay leaves the processor alone for a moment after the command
# is written: zigpy's handling of a door's frame is ~0.3-0.5 ms of Python, and run at once it
# kept the coordinator simulator, which shares the bench's processors, from reading the
# command (the hub's write -> the simulator's read: 0.94 ms p50 with the turns alone, 0.16 ms
# with the handling 5 ms later; stamped on both sides with CLOCK_MONOTONIC). It also leaves
# the rule's other actions ahead of that bookkeeping. Only how soon zigpy's Default Response
# (held longer anyway, ``default_response_hold_s``), caches and last-seen follow depends on
# it, never what they contain.
_REPLAY_TURNS = 2
REPLAY_DELAY_S = 0.005


class EntryListener(Protocol):
    """Who hears the frames taken at the entry (the adapter)."""

    def entry_seen(self, ieee: str) -> None:
        """A device (its IEEE address as text) sent a frame hubd takes."""
        ...

    def entry_command(self, ieee: str, endpoint_id: int, cluster: Cluster, command_id: int,
                      args: Any) -> None:
        """A cluster-specific command, parsed by zigpy's cluster."""
        ...

    def entry_attribute(self, ieee: str, endpoint_id: int, cluster: Cluster, attribute_id: int,
                        value: Any) -> None:
        """One attribute of a Report Attributes, as on the wire."""
        ...


class PacketEntry:
    """Takes the frames hubd maps at ``packet_received``; zigpy handles them a turn later."""

    def __init__(self, listener: EntryListener) -> None:
        self._listener = listener
        self._devices: dict[int, zigpy.device.Device] = {}
        self._ieees: dict[int, str] = {}  # by NWK address, as text (made once, not per frame)
        self._debouncer = Debouncer()
        self.is_replaying = False
        self.taken = 0
        self._pending = 0
        self._idle = asyncio.Event()
        self._idle.set()

    @property
    def devices_by_nwk(self) -> dict[int, zigpy.device.Device]:
        """The tracked devices by NWK address (read by ``lookup``; changed only here)."""
        return self._devices

    @property
    def pending(self) -> int:
        """Frames waiting for zigpy's handling."""
        return self._pending

    async def handled(self) -> None:
        """Wait until zigpy has handled every frame taken so far (for tests and shutdown)."""
        await self._idle.wait()

    def track(self, device: zigpy.device.Device) -> None:
        """Take this device's frames at the entry (after its interview, at each attach)."""
        self.forget(device.ieee)
        self._devices[int(device.nwk)] = device
        self._ieees[int(device.nwk)] = str(device.ieee)

    def forget(self, ieee: Any) -> None:
        """Leave this device's frames to zigpy."""
        for nwk, known in list(self._devices.items()):
            if known.ieee == ieee:
                del self._devices[nwk]
                del self._ieees[nwk]

    def install(self, app: zigpy.application.ControllerApplication) -> Callable[[], None]:
        """Wrap the application's packet entry; returns what undoes it."""
        return self.wrap(app, "packet_received", self._take_packet)

    def wrap(self, owner: Any, name: str, take: Callable[[Any], bool],
             passes: Callable[[Any], bool] | None = None) -> Callable[[], None]:
        """Wrap ``owner.name``, a one-argument entry of received frames: a frame ``take``
        hands to hubd (True) reaches the entry ``REPLAY_DELAY_S`` and ``_REPLAY_TURNS``
        turns later at the earliest, and every frame behind it waits its turn, in order,
        except those ``passes`` lets through (the coordinator's answers to the host's own
        requests, which hold no device's news). Returns what undoes it (what was there
        before is there again)."""
        received = getattr(owner, name)
        previous = owner.__dict__.get(name)
        waiting = _Waiting(self, received)

        def entry(frame: Any) -> Any:
            if passes is not None and passes(frame):
                return received(frame)
            is_taken = take(frame)
            if not is_taken and not waiting.queue:
                return received(frame)
            waiting.push(frame, is_taken)
            return True

        setattr(owner, name, entry)

        def release() -> None:
            waiting.is_installed = False
            if previous is None:
                owner.__dict__.pop(name, None)
            else:
                setattr(owner, name, previous)

        return release

    def _take_packet(self, packet: zt.ZigbeePacket) -> bool:
        if (packet.profile_id != zigpy.profiles.zha.PROFILE_ID or packet.src is None
                or packet.src.addr_mode != zt.AddrMode.NWK):
            return False
        try:
            data = packet.data.serialize()
        except Exception:  # noqa: BLE001 - zigpy's chain will see it
            return False
        nwk = int(packet.src.address)  # type: ignore[arg-type]
        # What zigpy's own duplicate filter compares: the frame but its TSN, LQI and time.
        key = (nwk, packet.src_ep, packet.dst, packet.dst_ep, packet.cluster_id,
               data, packet.tx_options, packet.radius)
        return self.take(nwk, int(packet.src_ep or 0), int(packet.dst_ep or 0),
                         int(packet.cluster_id), data, key)

    def take(self, nwk: int, src_ep: int, dst_ep: int, cluster_id: int, data: bytes,
             key: object) -> bool:
        """Hand a unicast ZHA frame to hubd if it is one hubd maps; False leaves it all to
        zigpy. ``key`` tells duplicates apart (equal keys within the window: one frame)."""
        try:
            found = self._cluster_of(nwk, src_ep, dst_ep, cluster_id, data)
            if found is None:
                return False
            ieee, cluster = found
            if self._debouncer.filter(key, PACKET_DEBOUNCE_WINDOW):
                # A duplicate: zigpy drops it too, once it has handled the first in turn.
                return True
            args = _payload(cluster, data)
        except Exception as exc:  # noqa: BLE001 - zigpy's chain will see and log it
            log.debug("event=zigbee_entry_skipped error=%r", exc)
            return False
        if args is None:
            return False
        self.taken += 1
        self._listener.entry_seen(ieee)
        if data[0] & _FRAME_TYPE_MASK == _FRAME_CLUSTER:
            self._listener.entry_command(ieee, src_ep, cluster, data[2], args)
        else:
            for record in getattr(args, "attribute_reports", ()):
                self._listener.entry_attribute(ieee, src_ep, cluster, record.attrid,
                                               record.value.value)
        return True

    def _cluster_of(self, nwk: int, src_ep: int, dst_ep: int, cluster_id: int, data: bytes
                    ) -> tuple[str, Cluster] | None:
        """The sender's IEEE address as text and the cluster, if hubd takes this frame."""
        if cluster_id not in _MAPPED or not src_ep or not dst_ep:
            return None
        device = self._devices.get(nwk)
        if device is None or device.nwk != nwk or not device.is_initialized:
            return None
        if len(data) < 3 or data[0] & _MANUFACTURER_SPECIFIC:
            return None
        frame_type = data[0] & _FRAME_TYPE_MASK
        if not (frame_type == _FRAME_CLUSTER or (
                frame_type == _FRAME_GLOBAL
                and data[2] == foundation.GeneralCommand.Report_Attributes)):
            return None
        endpoint = device.endpoints.get(src_ep)
        if not isinstance(endpoint, zigpy.endpoint.Endpoint):
            return None
        clusters = endpoint.in_clusters if data[0] & _SERVER_TO_CLIENT else endpoint.out_clusters
        cluster = clusters.get(cluster_id)
        # A quirk's cluster may rewrite what it receives: its frames go through zigpy first.
        if cluster is None or type(cluster) is not Cluster._registry.get(cluster_id):
            return None
        return self._ieees[nwk], cluster


class _Waiting:
    """Frames waiting for the entry they came through, in order, each until it is due."""

    def __init__(self, entry: PacketEntry, received: Callable[[Any], Any]) -> None:
        self._entry, self._received = entry, received
        self._loop = asyncio.get_running_loop()
        self.queue: deque[tuple[float, Any, bool]] = deque()  # (due, frame, is taken)
        self.is_installed = True

    def push(self, frame: Any, is_taken: bool) -> None:
        """A frame to hand on later: a taken one after the delay, any other right after
        the frame before it."""
        now = self._loop.time()
        due = self.queue[-1][0] if self.queue else now
        if is_taken:
            due = max(due, now + REPLAY_DELAY_S)
        self.queue.append((due, frame, is_taken))
        self._entry._pending = len(self.queue)
        self._entry._idle.clear()
        if len(self.queue) == 1:
            self._loop.call_at(due, self._hop, _REPLAY_TURNS, due)

    def _hop(self, turns: int, until: float) -> None:
        if turns > 0:
            self._loop.call_soon(self._hop, turns - 1, until)
        else:
            self._replay(until)

    def _replay(self, until: float) -> None:
        queue = self.queue
        while queue and queue[0][0] <= until:
            _due, frame, is_taken = queue.popleft()
            if not self.is_installed:
                continue  # the application is shutting down: nothing more for it
            self._entry.is_replaying = is_taken
            try:
                self._received(frame)
            except Exception:  # as zigpy-znp's serial protocol does: log it, go on
                log.exception("event=zigbee_replay_failed")
            finally:
                self._entry.is_replaying = False
        self._entry._pending = len(queue)
        if queue:
            self._loop.call_at(queue[0][0], self._hop, _REPLAY_TURNS, queue[0][0])
        else:
            self._entry._idle.set()


def _payload(cluster: Cluster, data: bytes) -> Any:
    """The command's fields, parsed by the cluster's own schema (as ``Cluster.deserialize``
    does, without the costly generic header parse: the header here is three bytes, ZCL
    2.4.1); None for a command zigpy does not know either. A command whose fields are all
    little-endian integers (enums and bitmaps too) comes as a tuple of plain ints, read in
    one ``struct`` call from the layout its schema gives (``_int_layout``)."""
    command_id = data[2]
    if data[0] & _FRAME_TYPE_MASK == _FRAME_CLUSTER:
        commands = cluster.client_commands if data[0] & _SERVER_TO_CLIENT \
            else cluster.server_commands
        command = commands.get(command_id)
        if command is None:
            return None
        layout = _int_layout(command.schema)
        if layout is not None and len(data) - 3 >= layout.size:
            return layout.unpack_from(data, 3)
    else:
        command = foundation.GENERAL_COMMANDS[foundation.GeneralCommand.Report_Attributes]
    fields, _rest = command.schema.deserialize(data[3:])
    return fields


# A zigpy integer type by (bytes, signed): its struct code, little-endian (zigpy's default).
_INT_CODES = {(1, False): "B", (2, False): "H", (4, False): "I", (8, False): "Q",
              (1, True): "b", (2, True): "h", (4, True): "i", (8, True): "q"}


@functools.cache
def _int_layout(schema: type) -> struct.Struct | None:
    """The struct layout of a command schema made only of plain little-endian integer
    fields (no optional or conditional ones); None for any other schema, which zigpy's own
    parser reads. Zigpy's parse of such a schema (its generic struct machinery) was the
    largest single cost of hearing a door open (~0.1 ms of the hub's ~1 ms)."""
    fields = getattr(schema, "fields", None)
    if fields is None:
        return None
    codes = []
    for item in fields:
        kind = item.type
        if (item.optional or item.requires is not None or item.length is not None
                or not isinstance(kind, type) or not issubclass(kind, zt.FixedIntType)
                or kind._byteorder != "little"):
            return None
        code = _INT_CODES.get((kind._size, bool(kind._signed)))
        if code is None:
            return None  # uint24_t and kin: zigpy reads them
        codes.append(code)
    return struct.Struct("<" + "".join(codes))  # no fields (On, Off, Toggle): ()
