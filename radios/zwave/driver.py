"""The Z-Wave radio driver: zwave-js-server's nodes and events as hubd's devices and events.

``ZwaveDriver`` implements ``radios.base.RadioDriver``. It keeps one connection to
zwave-js-server: connect (retrying with full-jitter backoff while the server is not up yet),
agree on a schema, ``start_listening`` and resync from the full state dump (devices gone since
the last dump leave, the rest are announced and their values reported), then report events as
they come. Events arrive synchronously from the client's reader (value → mapping → Report, no
await in between). Commands become ``node.set_value`` calls whose SetValueStatus (Supervision
status where the device supports it) becomes the CommandResult. A server or stick restart ends
the connection; the next one resyncs, without restarting hubd.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Coroutine
from typing import Any

from hubd.core.clock import Clock, SystemClock
from hubd.core.errors import DeviceError, HubError, RemoteProtocolError, TransientError
from hubd.core.events import (
    CommandResult,
    DriverEvent,
    RadioHealth,
    RadioStatus,
)
from hubd.core.model import Command, CommandStatus, Origin
from hubd.supervise import backoff_s
from radios.base import RadioSink
from radios.zwave.client import ZwaveClient
from radios.zwave.commands import set_value_outcome, to_set_values
from radios.zwave.inclusion import InclusionFlow, InclusionRequest
from radios.zwave.nodes import RADIO, Nodes
from radios.zwave.session import (
    ControllerStatus,
    Json,
    NodeState,
    NodeStatus,
    ServerEvent,
    controller_status,
    parse_node,
    parse_state,
    value_args,
)
from radios.zwave.settings import ZwaveSettings

log = logging.getLogger(__name__)

SPAWNED_BACKOFF_MAX_S = 2.0
# zwave-js drops a message (ZW0202) with this reason while its serial port is closed.
_PORT_CLOSED = "serial port is not open"
_CONTROLLER_HEALTH = {
    ControllerStatus.READY: (RadioStatus.OK, "controller ready"),
    ControllerStatus.UNRESPONSIVE: (RadioStatus.FAILED, "controller unresponsive"),
    ControllerStatus.JAMMED: (RadioStatus.FAILED, "controller jammed (the radio channel is busy)"),
}


class ZwaveDriver:
    """The Z-Wave radio: a client of zwave-js-server, reconnecting and resyncing by itself."""

    def __init__(self, settings: ZwaveSettings, clock: Clock | None = None,
                 rng: random.Random | None = None) -> None:
        self._settings = settings
        self._clock = clock or SystemClock()
        self._rng = rng or random.Random()
        self._sink: RadioSink | None = None
        self._client: ZwaveClient | None = None
        self._nodes = Nodes(self._clock, self._report)
        self._syncing: list[ServerEvent] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._stick_lost = False
        self.inclusion = InclusionFlow()
        self.pin_wanted = asyncio.Event()  # an S2 inclusion waits for enter_pin
        self.sessions = 0
        self.failures = 0
        self.last_event_ns = 0  # monotonic_ns when the latest server event arrived (benchmark)

    @property
    def name(self) -> str:
        """``zwave``: the prefix of this radio's device ids."""
        return RADIO

    @property
    def nodes(self) -> dict[int, NodeState]:
        """Known nodes by node id (the controller excluded)."""
        return self._nodes.by_id

    @property
    def client(self) -> ZwaveClient | None:
        """The open connection, if any (tests and tools)."""
        return self._client

    # -- RadioDriver -------------------------------------------------------------------------

    async def run(self, sink: RadioSink) -> None:
        """Stay connected to zwave-js-server and report into ``sink`` until cancelled."""
        self._sink = sink
        settings = self._settings
        while True:
            reason = await self._connect_and_serve()
            if settings.spawns_server and not self.sessions:
                # Node takes seconds to load zwave-js: a refusal then is a start, not a fault.
                reason = f"zwave-js-server, started by hubd, is not listening yet ({reason})"
            status = (RadioStatus.FAILED if self.failures >= settings.failed_after_attempts
                      else RadioStatus.RECONNECTING)
            self._health(status, reason)
            # A server hubd spawned itself is known to be coming (Node takes seconds to load
            # zwave-js): retrying a loopback connect every couple of seconds costs nothing.
            cap_s = (min(settings.backoff_max_s, SPAWNED_BACKOFF_MAX_S) if settings.spawns_server
                     else settings.backoff_max_s)
            delay_s = backoff_s(max(1, self.failures), min(settings.backoff_min_s, cap_s),
                                cap_s, self._rng)
            log.info("event=zwave_link_down reason=%r failures=%d retry_in_s=%.2f", reason,
                     self.failures, delay_s)
            await asyncio.sleep(delay_s)

    async def send(self, command: Command) -> CommandResult:
        """Carry out a command with set_value; the result, never an exception, says how."""
        started = self._clock.monotonic()

        def result(status: CommandStatus, error: str | None = None) -> CommandResult:
            return CommandResult(command, status, self._clock.monotonic() - started, error)

        if command.deadline is not None and started > command.deadline:
            return result(CommandStatus.EXPIRED, "the deadline passed before sending")
        node = self._nodes.node_of(command.device_id)
        if node is None:
            return result(CommandStatus.FAILED, f"{command.device_id} is not a known Z-Wave node")
        try:
            calls = to_set_values(command, node, self._nodes.attributes(node.node_id))
        except ValueError as exc:
            return result(CommandStatus.FAILED, str(exc))
        timeout_s = self._settings.command_timeout_s
        if command.deadline is not None:
            timeout_s = min(timeout_s, command.deadline - started)
        self._nodes.expect_echo(node.node_id, command.context.child(Origin.DIGITAL),
                                started + self._settings.echo_window_s)
        status = CommandStatus.CONFIRMED
        for call in calls:
            args: dict[str, object] = {"nodeId": node.node_id, "valueId": call.value_id.to_json(),
                                       "value": call.value}
            if call.options:
                args["options"] = dict(call.options)
            try:
                answer = await self._require_client().request("node.set_value", args, timeout_s)
            except HubError as exc:
                self._stick_error(str(exc))
                return result(CommandStatus.FAILED, _words(exc))
            self._stick_back()
            outcome, error = set_value_outcome(answer)
            if outcome is CommandStatus.FAILED:
                return result(outcome, error)
            if outcome is CommandStatus.SENT:
                status = CommandStatus.SENT
        return result(status)

    async def permit_join(self, duration_s: float) -> None:
        """Include devices (S2 where they support it) for this long; 0 stops inclusion."""
        if duration_s <= 0:
            await self.request("controller.stop_inclusion")
            return
        await self.include(InclusionRequest())
        self._spawn(self._stop_inclusion_after(duration_s))

    # -- network management ------------------------------------------------------------------

    async def include(self, request: InclusionRequest) -> None:
        """Start including one node as ``request`` says (S2 with PIN, S0, insecure...)."""
        self.inclusion = InclusionFlow(request)
        self.pin_wanted.clear()
        await self.request("controller.begin_inclusion", {"options": request.options()})

    async def enter_pin(self, pin: str | None) -> None:
        """The PIN the user read on the device for the DSK shown (None aborts S2: the node
        stays, without S2)."""
        if pin is not None and not (len(pin) == 5 and pin.isdigit()):
            raise ValueError("the S2 PIN is the five digits printed on the device")
        self.pin_wanted.clear()
        await self.request("controller.validate_dsk_and_enter_pin",
                           {"pin": pin if pin is not None else False})

    async def exclude(self) -> None:
        """Start excluding: the next node whose button is pressed leaves the network."""
        await self.request("controller.begin_exclusion")

    async def stop(self) -> None:
        """Stop inclusion and exclusion."""
        await self.request("controller.stop_inclusion")
        await self.request("controller.stop_exclusion")

    async def remove_failed(self, dev_id: str) -> None:
        """Remove a node the controller has marked failed (dead, gone for good)."""
        node = self._nodes.node_of(dev_id)
        if node is None:
            raise DeviceError(dev_id, "not a known Z-Wave node")
        await self.request("controller.remove_failed_node", {"nodeId": node.node_id})

    async def heal(self) -> None:
        """Rebuild the routes of the whole network (zwave-js "rebuild routes")."""
        await self.request("controller.begin_rebuilding_routes")

    async def request(self, command: str, args: dict[str, object] | None = None) -> object:
        """One raw request to the server (TransientError while disconnected)."""
        return await self._require_client().request(command, args)

    # -- the connection ----------------------------------------------------------------------

    async def _connect_and_serve(self) -> str:
        settings = self._settings
        try:
            client = await ZwaveClient.open(
                settings.url, self._on_event, timeout_s=settings.connect_timeout_s,
                request_timeout_s=settings.request_timeout_s, heartbeat_s=settings.heartbeat_s)
        except (TransientError, RemoteProtocolError) as exc:
            self.failures += 1
            return str(exc)
        self._client = client
        self._syncing = []
        reader = asyncio.get_running_loop().create_task(client.run(), name="zwave-reader")
        try:
            await client.request("set_api_schema", {"schemaVersion": client.schema})
            state = await client.request("start_listening")
            self._stick_lost = False
            self._resync(state)
            self.failures = 0
            self.sessions += 1
            return await reader
        except (HubError, OSError) as exc:
            self.failures += 1
            return f"resync failed: {exc}"
        finally:
            self._client = None
            self._syncing = None
            for task in list(self._tasks):
                task.cancel()
            reader.cancel()
            await asyncio.gather(reader, return_exceptions=True)
            await client.close()

    def _resync(self, result: Json) -> None:
        """Make the hub's view match the state dump, then replay what came in meanwhile."""
        controller_status, nodes = parse_state(result)
        fresh = {n.node_id: n for n in nodes if not n.is_controller}
        for gone in sorted(set(self._nodes.by_id) - set(fresh)):
            self._nodes.forget(gone)
        for node in fresh.values():
            self._nodes.store(node)
            if node.is_ready:  # one still being interviewed is announced when "ready" comes
                self._nodes.announce(node)
            self._nodes.set_available(node.node_id, node.status is not NodeStatus.DEAD)
        client = self._client
        version = f"zwave-js {client.version.driver_version}" if client else "zwave-js"
        status, detail = _CONTROLLER_HEALTH[controller_status]
        self._health(status, f"{detail}; {version}, schema {client.schema if client else '?'}, "
                             f"{len(fresh)} nodes")
        waiting, self._syncing = self._syncing or [], None
        for event in waiting:
            self._on_event(event)

    # -- events (called synchronously from the client's reader) ------------------------------

    def _on_event(self, event: ServerEvent) -> None:
        self.last_event_ns = time.monotonic_ns()
        if self._syncing is not None:
            self._syncing.append(event)
        elif event.source == "node" and event.node_id is not None:
            self._on_node_event(event.name, event.node_id, event.body)
        elif event.source == "controller":
            self._on_controller_event(event.name, event.body)

    def _on_node_event(self, name: str, node_id: int, body: Json) -> None:
        match name:
            case "value updated" | "value added" | "value notification":
                self._stick_back()
                if self._nodes.is_announced(node_id):
                    self._nodes.value(node_id, *value_args(body))
            case "metadata updated":
                self._nodes.metadata(node_id, body)
            case "ready":
                node = parse_node(body.get("nodeState"))
                self._nodes.store(node)
                self._nodes.announce(node)
            case "dead" | "alive":
                self._nodes.set_available(node_id, name == "alive")
            case _:
                pass

    def _on_controller_event(self, name: str, body: Json) -> None:
        match name:
            case "node added":
                node = parse_node(body.get("node"))
                log.info("event=zwave_node_added node=%d secure=%s", node.node_id, node.is_secure)
                self._nodes.store(node)
            case "node removed":
                self._nodes.forget(parse_node(body.get("node")).node_id)
            case "status changed":
                self._health(*_CONTROLLER_HEALTH[controller_status(body.get("status"))])
            case "grant security classes":
                self._answer("controller.grant_security_classes", self.inclusion.grant(body))
            case "validate dsk and enter pin":
                answer = self.inclusion.pin(body)
                if answer is None:
                    log.info("event=zwave_s2_pin_wanted dsk=%s", self.inclusion.dsk)
                    self.pin_wanted.set()
                else:
                    self._answer("controller.validate_dsk_and_enter_pin", answer)
            case _ if "inclusion" in name or "exclusion" in name:
                log.info("event=zwave_controller what=%r", name)
            case _:
                pass

    # -- the stick ---------------------------------------------------------------------------

    def _stick_error(self, error: str) -> None:
        """zwave-js reopens a vanished serial port by itself (the server stays up, so no resync
        tells us): its "port is not open" error on a command is the sign to report."""
        if _PORT_CLOSED in error and not self._stick_lost:
            self._stick_lost = True
            self._health(RadioStatus.RECONNECTING, "the Z-Wave stick is gone (serial port "
                                                   "closed); zwave-js is reopening it")

    def _stick_back(self) -> None:
        if self._stick_lost:
            self._stick_lost = False
            self._health(RadioStatus.OK, "the Z-Wave stick answers again")

    # -- plumbing ----------------------------------------------------------------------------

    def _health(self, status: RadioStatus, detail: str) -> None:
        self._report(RadioHealth(RADIO, status, detail, self._clock.time()))

    def _report(self, event: DriverEvent) -> None:
        if self._sink is not None:
            self._sink.report(event)

    def _require_client(self) -> ZwaveClient:
        if self._client is None or self._syncing is not None:
            raise TransientError("zwave-js-server is not connected (reconnecting)")
        return self._client

    def _answer(self, command: str, args: dict[str, object]) -> None:
        self._spawn(self._request_quietly(command, args))

    async def _request_quietly(self, command: str, args: dict[str, object]) -> None:
        try:
            await self._require_client().request(command, args)
        except HubError as exc:
            log.warning("event=zwave_request_failed command=%s error=%r", command, str(exc))

    async def _stop_inclusion_after(self, duration_s: float) -> None:
        await asyncio.sleep(duration_s)
        await self._request_quietly("controller.stop_inclusion", {})

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


def _words(exc: HubError) -> str:
    return exc.message if isinstance(exc, DeviceError) else str(exc)
