"""A whole hub on Z-Wave JS's mock controller: mock stick → zwave-js-server → hubd → rules.

The network is built once per test module (zwave-js interviews eight nodes in ~10 s): the mock
controller process, the daemon with its rules, the zwave-js-server it spawns and supervises.
Everything binds 127.0.0.1; every Node process is stopped when the module ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import pytest
import pytest_asyncio

from hubd.config import HubConfig, HubSection, RulesSection
from hubd.config.hub import RadiosConfig
from hubd.daemon import Daemon, Extra
from hubd.hub import Hub
from radios.zwave.driver import ZwaveDriver
from radios.zwave.settings import DEFAULT_SERVER_BIN, ZwaveSettings
from radios.zwave.sim.demo import DEMO_NODES
from radios.zwave.sim.mock import MockStick, mock_stick

E = TypeVar("E")

if not DEFAULT_SERVER_BIN.exists():  # pragma: no cover - `make test` runs `npm ci` first
    pytest.fail(f"{DEFAULT_SERVER_BIN} is missing: run `make npm`", pytrace=False)

RULES = """
rules:
  - id: zwave_door_switch
    name: Z-Wave door opens -> Z-Wave switch on
    triggers:
      - {kind: state, device: "zwave:5", attribute: contact.is_open, to: true}
    actions:
      - {kind: command, device: "zwave:2", command: switch.on}
"""


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class Recorder:
    """Every bus event, with waiters (raises TimeoutError when the event does not come)."""

    events: list[object] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def __call__(self, event: object) -> None:
        self.events.append(event)
        self.changed.set()

    def mark(self) -> int:
        """Where the next wait_for starts looking."""
        return len(self.events)

    async def wait_for(self, kind: type[E], predicate: Callable[[E], bool] = lambda e: True,
                       *, after: int = 0, timeout_s: float = 20.0) -> E:
        """The first event of this type from index ``after`` that satisfies the predicate."""
        async with asyncio.timeout(timeout_s):
            while True:
                for event in self.events[after:]:
                    if isinstance(event, kind) and predicate(event):
                        return event
                self.changed.clear()
                await self.changed.wait()


@dataclass
class Network:
    """The running hub, its Z-Wave driver, the mock stick and what the bus carried."""

    stick: MockStick
    daemon: Daemon
    task: asyncio.Task[None]
    recorder: Recorder

    @property
    def hub(self) -> Hub:
        """The daemon's hub."""
        assert self.daemon.hub is not None
        return self.daemon.hub

    @property
    def driver(self) -> ZwaveDriver:
        """The Z-Wave driver."""
        driver = self.hub.drivers["zwave"]
        assert isinstance(driver, ZwaveDriver)
        return driver

    async def until(self, check: Callable[[], bool], timeout_s: float = 20.0) -> None:
        """Wait until check() holds (looked at after each bus event); TimeoutError if never."""
        changed = self.recorder.changed
        async with asyncio.timeout(timeout_s):
            while not check():
                changed.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(changed.wait(), 0.1)


def zwave_settings(stick: MockStick) -> ZwaveSettings:
    """Settings for a spawned server on the stick, with timers shrunk for tests."""
    return ZwaveSettings(url=f"ws://127.0.0.1:{free_port()}", serial_path=stick.url,
                         backoff_min_s=0.2, backoff_max_s=1.0, connect_timeout_s=2.0,
                         command_timeout_s=10.0)


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def network(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Network]:
    """The hub on the mock network, every node interviewed and announced."""
    base = tmp_path_factory.mktemp("zwave")
    rules_dir = base / "rules"
    rules_dir.mkdir()
    (rules_dir / "zwave.yaml").write_text(RULES)
    names = {n: (name, room) for n, (_, name, room) in DEMO_NODES.items()}
    async with mock_stick(names=names) as stick:
        config = HubConfig(hub=HubSection(state_dir=base / "state"),
                           rules=RulesSection(dir=Path(rules_dir)),
                           radios=RadiosConfig(zwave=zwave_settings(stick)))
        recorder = Recorder()
        daemon = Daemon(config, ready_timeout_s=5.0, extras=[_subscriber(recorder)])
        task = asyncio.get_running_loop().create_task(daemon.run())
        net = Network(stick, daemon, task, recorder)
        try:
            async with asyncio.timeout(45):
                await daemon.ready.wait()
            await net.until(lambda: all(net.hub.state.get_device(f"zwave:{n}") is not None
                                        for n in range(2, 10)), timeout_s=45)
            yield net
        finally:
            daemon.request_stop()
            try:
                async with asyncio.timeout(10):
                    await task
            finally:
                if not task.done():
                    task.cancel()


def _subscriber(recorder: Recorder) -> Extra:
    async def subscribe(hub: Hub) -> None:
        hub.bus.subscribe((object,), recorder, name="test-recorder", inline=True)

    return subscribe
