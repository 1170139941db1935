"""The Z-Wave nodes as the hub knows them, and what their values mean as hub events.

``Nodes`` keeps what the driver learned from zwave-js-server (each node's state, the units of
its values, the attributes last reported, which nodes are dead, which were announced to the
hub) and turns node news into DriverEvents through the ``report`` it was given: a node
announced (DeviceJoined and its current values), forgotten (DeviceLeft), dead or alive
(AvailabilityChanged), a value updated (Report or ButtonEvent, through radios.zwave.mapping).
A value that echoes a command the hub sent within the echo window carries that command's
context, so the trace links the device's report to the command that caused it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import assert_never

from hubd.core.clock import Clock
from hubd.core.events import (
    AvailabilityChanged,
    ButtonEvent,
    DeviceJoined,
    DeviceLeft,
    DriverEvent,
    Report,
)
from hubd.core.model import Context, Device, Origin, Value, device_id
from radios.observations import AttributeValue, ButtonPress
from radios.zwave import mapping
from radios.zwave.session import Json, NodeState, NodeStatus, ValueId, ValueState, value_args

RADIO = "zwave"


class Nodes:
    """The nodes of one Z-Wave network (the controller excluded) and their news as events."""

    def __init__(self, clock: Clock, report: Callable[[DriverEvent], None]) -> None:
        self._clock = clock
        self._report = report
        self.by_id: dict[int, NodeState] = {}
        self._units: dict[tuple[int, ValueId], str] = {}
        self._attributes: dict[int, dict[str, Value]] = {}
        self._dead: set[int] = set()
        self._echoes: dict[int, tuple[Context, float]] = {}
        self._held: set[int] = set()  # announced to the hub

    def node_of(self, dev_id: str) -> NodeState | None:
        """The node behind a hub device id, if known."""
        address = dev_id.removeprefix(f"{RADIO}:")
        return self.by_id.get(int(address)) if address.isdigit() else None

    def attributes(self, node_id: int) -> dict[str, Value]:
        """The attributes last reported for a node (what a toggle reads)."""
        return self._attributes.get(node_id, {})

    def expect_echo(self, node_id: int, context: Context, until: float) -> None:
        """Reports from this node until ``until`` (monotonic) answer a command of ``context``."""
        self._echoes[node_id] = (context, until)

    def is_announced(self, node_id: int) -> bool:
        """True once the hub was told about the node (DeviceJoined)."""
        return node_id in self._held

    def store(self, node: NodeState) -> None:
        """Remember a node's state (from the dump, a "ready" or a "node added" event)."""
        if node.is_controller:
            return
        self.by_id[node.node_id] = node
        for value in node.values:
            if value.unit:
                self._units[(node.node_id, value.id)] = value.unit

    def announce(self, node: NodeState) -> None:
        """Tell the hub about a node, then its current values."""
        self._held.add(node.node_id)
        address = str(node.node_id)
        device = Device(id=device_id(RADIO, address), radio=RADIO, address=address,
                        name=node.name, room=node.location,
                        manufacturer=node.manufacturer, model=node.label,
                        capabilities=mapping.capabilities(node),
                        is_available=node.status is not NodeStatus.DEAD)
        self._report(DeviceJoined(device, self._clock.time(), Context.new(Origin.PHYSICAL)))
        for value in node.values:
            self._initial(node.node_id, value)

    def forget(self, node_id: int) -> None:
        """A node left the network (or the dump no longer has it)."""
        self.by_id.pop(node_id, None)
        self._attributes.pop(node_id, None)
        self._dead.discard(node_id)
        if node_id in self._held:
            self._held.discard(node_id)
            self._report(DeviceLeft(device_id(RADIO, str(node_id)), self._clock.time(),
                                    Context.new(Origin.PHYSICAL)))

    def set_available(self, node_id: int, is_available: bool) -> None:
        """The controller marked a node dead or alive; said to the hub once per change."""
        was_available = node_id not in self._dead
        if is_available == was_available:
            return
        if is_available:
            self._dead.discard(node_id)
        else:
            self._dead.add(node_id)
        if node_id in self._held:
            self._report(AvailabilityChanged(device_id(RADIO, str(node_id)), is_available,
                                             self._clock.time(), Context.new(Origin.PHYSICAL)))

    def value(self, node_id: int, value_id: ValueId, value: object) -> None:
        """A value of a node changed (or was notified): report what it means."""
        node = self.by_id[node_id]
        unit = self._units.get((node_id, value_id), "")
        observations = mapping.observe(value_id, value, unit, node.command_classes)
        if not observations:
            return
        dev_id = device_id(RADIO, str(node_id))
        ts = self._clock.time()
        context = Context.new(Origin.PHYSICAL)
        echo = self._echoes.get(node_id)
        if echo is not None and self._clock.monotonic() > echo[1]:
            del self._echoes[node_id]
            echo = None
        attributes = self._attributes.setdefault(node_id, {})
        for item in observations:
            match item:
                case AttributeValue():
                    attributes[item.attribute] = item.value
                    self._report(Report(dev_id, item.attribute, item.value, ts,
                                        echo[0] if echo is not None else context))
                case ButtonPress():
                    self._report(ButtonEvent(dev_id, item.button, item.action, ts, context,
                                             item.count))
                case _:
                    assert_never(item)
        if node_id in self._dead:
            self.set_available(node_id, True)

    def metadata(self, node_id: int, body: Json) -> None:
        """A value's metadata changed: keep its unit (a sensor's °F, a light sensor's %)."""
        args = body.get("args")
        if not isinstance(args, dict):
            return
        value_id, _ = value_args(body)
        metadata = args.get("metadata")
        if isinstance(metadata, dict) and isinstance(metadata.get("unit"), str):
            self._units[(node_id, value_id)] = metadata["unit"]

    def _initial(self, node_id: int, value: ValueState) -> None:
        # A Central Scene value is the last key event, not a state: replaying it would press
        # the button again on every resync.
        if value.value is not None and value.id.command_class != mapping.CC.CENTRAL_SCENE:
            self.value(node_id, value.id, value.value)
