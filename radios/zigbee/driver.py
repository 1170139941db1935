"""The Zigbee radio driver: zigpy's devices and frames as hubd's devices, events and commands.

``ZigbeeDriver`` implements ``radios.base.RadioDriver``. A ``Supervisor`` keeps one
``ZigpyAdapter`` session alive; the adapter's callbacks arrive here synchronously and leave at
once as typed events into the RadioSink (the hot path: attribute report -> mapping -> Report,
no await in between). Commands go out through ``sender.CommandSender``: ZCL requests
(``commands.to_zcl``) whose default response or cluster response makes the CommandResult.
Devices are announced (DeviceJoined) before any Report about them; events from a device still
being onboarded wait in a small buffer.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any

from hubd.core.clock import Clock, SystemClock
from hubd.core.errors import HubError, TransientError
from hubd.core.events import (
    AvailabilityChanged,
    ButtonEvent,
    CommandResult,
    DeviceJoined,
    DeviceLeft,
    DriverEvent,
    Notice,
    RadioHealth,
    RadioStatus,
    Report,
)
from hubd.core.model import (
    ButtonAction,
    Command,
    Context,
    Device,
    Origin,
    device_id,
)
from radios.base import RadioSink
from radios.zigbee import mapping
from radios.zigbee.adapter import ZigpyAdapter, validate_config
from radios.zigbee.echoes import EchoBook
from radios.zigbee.groups import GroupKeeper
from radios.zigbee.model import (
    AttributeEvent,
    AttributeValue,
    ClusterCommandEvent,
    ClusterId,
    NodeInfo,
    Observation,
)
from radios.zigbee.ratelimit import FrameBudget
from radios.zigbee.sender import CommandSender
from radios.zigbee.settings import ZigbeeSettings
from radios.zigbee.supervisor import Backoff, Supervisor

log = logging.getLogger(__name__)

RADIO = "zigbee"
_PENDING_MAX = 64  # events buffered per device while it is being onboarded


class ZigbeeDriver:
    """The Zigbee radio: one coordinator through zigpy, supervised."""

    def __init__(self, settings: ZigbeeSettings, state_dir: Path, clock: Clock | None = None,
                 rng: random.Random | None = None) -> None:
        self._settings = settings
        self._database_path = settings.effective_database_path(state_dir)
        validate_config(settings, self._database_path)  # ConfigError now, not at run()
        self._clock = clock or SystemClock()
        self._sink: RadioSink | None = None
        self._adapter: ZigpyAdapter | None = None
        self._nodes: dict[str, NodeInfo] = {}
        self._last_seen: dict[str, float] = {}
        self._unavailable: set[str] = set()
        self._pending: dict[str, list[AttributeEvent | ClusterCommandEvent]] = {}
        self._held: dict[tuple[str, int], str] = {}
        self._echoes = EchoBook()
        self.budget = FrameBudget(settings.max_frames_per_s)
        self._groups = GroupKeeper(settings.groups, self._report, self._clock.time)
        self._sender = CommandSender(settings, self._clock, self._echoes, self._groups,
                                     self._require_adapter)
        self._lost: asyncio.Event | None = None
        self._lost_reason = ""
        self._tasks: set[asyncio.Task[None]] = set()
        self._onboarding: set[asyncio.Task[None]] = set()
        self.supervisor = Supervisor(
            Backoff(settings.backoff_min_s, settings.backoff_max_s,
                    settings.failed_after_attempts, settings.stable_after_s),
            self._health, rng, self._clock.monotonic)

    @property
    def name(self) -> str:
        """``zigbee``: the prefix of this radio's device ids."""
        return RADIO

    @property
    def adapter(self) -> ZigpyAdapter | None:
        """The adapter of the current session, if the link is up (for tests and tools)."""
        return self._adapter

    @property
    def nodes(self) -> dict[str, NodeInfo]:
        """Announced devices by IEEE address."""
        return self._nodes

    # -- RadioDriver -------------------------------------------------------------------------

    async def run(self, sink: RadioSink) -> None:
        """Keep the coordinator connected and report into ``sink`` until cancelled."""
        self._sink = sink
        checker = asyncio.get_running_loop().create_task(self._availability_loop())
        try:
            await self.supervisor.run(self._session)
        finally:
            checker.cancel()
            await asyncio.gather(checker, return_exceptions=True)

    async def send(self, command: Command) -> CommandResult:
        """Carry out a command; the answer, never an exception, says how it went."""
        return await self._sender.send(command)

    async def permit_join(self, duration_s: float) -> None:
        """Let new devices join for this long (0 closes); TransientError if the link is down."""
        await self._require_adapter().permit(duration_s)

    async def add_to_group(self, dev_id: str, group_id: int) -> None:
        """Make a device a member of a group, so ``zigbee:group:<id>`` commands reach it."""
        await self._require_adapter().add_to_group(dev_id.removeprefix(f"{RADIO}:"), group_id)

    async def remove_device(self, dev_id: str) -> None:
        """Ask a device to leave the network and forget it."""
        await self._require_adapter().remove(dev_id.removeprefix(f"{RADIO}:"))

    # -- sessions ----------------------------------------------------------------------------

    async def _session(self, ready: Callable[[], None]) -> str:
        lost = self._lost = asyncio.Event()
        self._lost_reason = ""
        adapter = ZigpyAdapter(self._settings, self._database_path, self)
        try:
            nodes = await adapter.start()
            self._adapter = adapter
            now = self._clock.time()
            for node in nodes:
                # A device gets a full availability window from each start of the hub.
                self._last_seen[node.ieee] = max(node.last_seen or now, now)
                self._announce(node)
            self._groups.announce_all(self._nodes)
            ready()
            self._spawn(self._groups.sync(adapter, self._nodes))
            await lost.wait()
            return self._lost_reason
        finally:
            self._adapter = None
            for task in list(self._tasks):
                task.cancel()
            self._pending.clear()
            try:
                async with asyncio.timeout(self._settings.request_timeout_s):
                    await adapter.stop()
            except (HubError, OSError, TimeoutError) as exc:
                log.warning("event=zigbee_stop_failed error=%r", exc)

    def _health(self, status: RadioStatus, detail: str) -> None:
        self._report(RadioHealth(RADIO, status, detail, self._clock.time()))

    def _require_adapter(self) -> ZigpyAdapter:
        if self._adapter is None:
            raise TransientError("the zigbee coordinator is not connected (reconnecting)")
        return self._adapter

    def _report(self, event: DriverEvent) -> None:
        if self._sink is not None:
            self._sink.report(event)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- devices -----------------------------------------------------------------------------

    def _announce(self, node: NodeInfo) -> None:
        self._nodes[node.ieee] = node
        self._last_seen.setdefault(node.ieee, self._clock.time())
        self._unavailable.discard(node.ieee)
        device = Device(
            id=device_id(RADIO, node.ieee), radio=RADIO, address=node.ieee, name="",
            manufacturer=node.manufacturer, model=node.model,
            capabilities=mapping.capabilities(node), is_available=True)
        self._report(DeviceJoined(device, self._clock.time(), Context.new(Origin.PHYSICAL)))
        self._groups.members_changed(self._nodes)
        for event in self._pending.pop(node.ieee, []):
            if isinstance(event, AttributeEvent):
                self.attribute(event)
            else:
                self.cluster_command(event)

    async def _onboard(self, adapter: ZigpyAdapter, node: NodeInfo) -> None:
        try:
            async with asyncio.timeout(self._settings.configure_timeout_s):
                node = await adapter.prepare(node.ieee)
                self._announce(node)
                await adapter.configure(node.ieee)
        except (TimeoutError, HubError) as exc:
            log.info("event=zigbee_onboard_incomplete ieee=%s error=%r", node.ieee, exc)
        except Exception:
            # A surprise from zigpy must not lose the device: log it and announce anyway.
            log.exception("event=zigbee_onboard_failed ieee=%s", node.ieee)
        if node.ieee not in self._nodes:
            self._announce(node)
        await self._join_groups(adapter, node.ieee)

    async def _join_groups(self, adapter: ZigpyAdapter, ieee: str) -> None:
        if not self._groups.groups_of(ieee):
            return
        try:
            async with asyncio.timeout(self._settings.configure_timeout_s):
                await self._groups.join(adapter, ieee)
        except TimeoutError:
            log.info("event=zigbee_group_join_incomplete ieee=%s", ieee)

    # -- AdapterListener: called synchronously from zigpy's callbacks ------------------------

    def node_ready(self, node: NodeInfo) -> None:
        """A device joined (or rejoined) and was interviewed: onboard and announce it."""
        self._last_seen[node.ieee] = self._clock.time()
        if self._adapter is None:
            return
        task = asyncio.get_running_loop().create_task(self._onboard(self._adapter, node))
        self._tasks.add(task)
        self._onboarding.add(task)
        task.add_done_callback(self._tasks.discard)
        task.add_done_callback(self._onboarding.discard)

    async def onboarded(self) -> None:
        """Wait until every device being onboarded is configured (for tests and benches)."""
        while self._onboarding:
            await asyncio.wait(set(self._onboarding))

    def node_left(self, ieee: str) -> None:
        """A device left or was removed."""
        self._pending.pop(ieee, None)
        self._echoes.forget(ieee)
        self._last_seen.pop(ieee, None)
        self._unavailable.discard(ieee)
        if self._nodes.pop(ieee, None) is not None:
            self._report(DeviceLeft(device_id(RADIO, ieee), self._clock.time(),
                                    Context.new(Origin.PHYSICAL)))
            self._groups.members_changed(self._nodes)

    def node_seen(self, ieee: str) -> None:
        """A device sent a frame: it is alive."""
        self._last_seen[ieee] = self._clock.time()
        if ieee in self._unavailable:
            self._unavailable.discard(ieee)
            self._report(AvailabilityChanged(device_id(RADIO, ieee), True, self._clock.time(),
                                             Context.new(Origin.PHYSICAL)))

    def attribute(self, event: AttributeEvent) -> None:
        """A device reported or answered an attribute: Reports in the vocabulary."""
        node = self._nodes.get(event.ieee)
        if node is None:
            self._buffer(event.ieee, event)
            return
        if (event.cluster_id, event.attribute_id) == (ClusterId.IAS_ZONE, mapping.IAS_ZONE_TYPE):
            self._zone_type_learned(node, event.value)
            return
        self._observed(event.ieee, event.endpoint_id,
                       mapping.attribute_values(event, node.zone_type))

    def cluster_command(self, event: ClusterCommandEvent) -> None:
        """A device sent a command: button events, or IAS zone notifications as Reports."""
        node = self._nodes.get(event.ieee)
        if node is None:
            self._buffer(event.ieee, event)
            return
        self._observed(event.ieee, event.endpoint_id,
                       mapping.command_observations(event, node.zone_type))

    def link_lost(self, reason: str) -> None:
        """The coordinator is gone: end the session, the supervisor starts a new one."""
        self._lost_reason = reason
        if self._lost is not None:
            self._lost.set()

    def notice(self, message: str) -> None:
        """Tell the house: logged, and a Notice on the bus."""
        log.warning("event=zigbee_notice message=%r", message)
        self._report(Notice(RADIO, message, self._clock.time(), Context.new(Origin.SYSTEM),
                            "warning"))

    def frame_allowed(self, nwk: int) -> bool:
        """A device frame arrived: within the budget it comes in, past it it is dropped."""
        now = self._clock.monotonic()
        if self.budget.allow(now, nwk):
            dropped = self.budget.flood_ended(now)
            if dropped:
                self.notice(f"the flood of frames is over: {dropped} were dropped")
            return True
        if self.budget.flood_started():
            self.notice(f"more than {self.budget.rate_per_s:.0f} frames a second from the "
                        f"Zigbee network: the excess is dropped (a device may be faulty)")
        return False

    def frame_expected(self, nwk: int) -> None:
        """A request goes to a device: the budget pays for its answer."""
        self.budget.expect(self._clock.monotonic(), nwk)

    def _buffer(self, ieee: str, event: AttributeEvent | ClusterCommandEvent) -> None:
        pending = self._pending.setdefault(ieee, [])
        if len(pending) < _PENDING_MAX:
            pending.append(event)

    def _zone_type_learned(self, node: NodeInfo, value: object) -> None:
        if not isinstance(value, int) or value == node.zone_type:
            return
        updated = NodeInfo(node.ieee, node.nwk, node.manufacturer, node.model, node.endpoints,
                           node.is_mains_powered, value, node.last_seen)
        if mapping.capabilities(updated) != mapping.capabilities(node):
            self._announce(updated)
        else:
            self._nodes[node.ieee] = updated

    def _observed(self, ieee: str, endpoint_id: int, observations: Sequence[Observation]) -> None:
        if not observations:
            return
        dev_id = device_id(RADIO, ieee)
        ts = self._clock.time()
        context = Context.new(Origin.PHYSICAL)
        now = self._clock.monotonic()
        for item in observations:
            if isinstance(item, AttributeValue):
                echo = self._echoes.match(ieee, item.attribute, item.value, now)
                self._report(Report(dev_id, item.attribute, item.value, ts,
                                    echo if echo is not None else context))
                continue
            button = item.button
            if item.action is ButtonAction.HOLD:
                self._held[(ieee, endpoint_id)] = button
            elif item.action is ButtonAction.RELEASE:
                button = self._held.pop((ieee, endpoint_id), button)
            self._report(ButtonEvent(dev_id, button, item.action, ts, context, item.count))

    # -- availability -----------------------------------------------------------------------

    async def _availability_loop(self) -> None:
        while True:
            await asyncio.sleep(self._settings.availability_check_interval_s)
            if self._adapter is not None:
                self.check_availability()

    def check_availability(self) -> None:
        """Mark devices not heard from within their timeout unavailable."""
        now = self._clock.time()
        for ieee, node in self._nodes.items():
            if ieee in self._unavailable:
                continue
            timeout_s = (self._settings.availability_mains_s if node.is_mains_powered
                         else self._settings.availability_battery_s)
            if now - self._last_seen.get(ieee, now) > timeout_s:
                self._unavailable.add(ieee)
                self._report(AvailabilityChanged(device_id(RADIO, ieee), False, now,
                                                 Context.new(Origin.SYSTEM)))

