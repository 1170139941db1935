"""The fleet bench's helpers: the herd's child processes seen from the parent, and what JetStream
holds (every event's message id, read back)."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import nats
from nats.js.api import DeliverPolicy

HERD_MODULE = "tools.bench.fleet_herd"


class Herd:
    """The herd split over child processes (tools.bench.fleet_herd), and their latest reports."""

    def __init__(self, root: Path, hubs: int, processes: int, events_per_s: float,
                 urls: list[str]) -> None:
        self.root, self.hubs, self.processes = root, hubs, processes
        self.events_per_s, self.urls = events_per_s, urls
        self.children: list[asyncio.subprocess.Process] = []
        self.status: list[dict[str, Any]] = []
        self.finals: list[asyncio.Future[dict[str, Any]]] = []
        self._readers: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        """Start every share of the herd."""
        share = -(-self.hubs // self.processes)
        loop = asyncio.get_running_loop()
        for n in range(self.processes):
            count = min(share, self.hubs - n * share)
            child = await asyncio.create_subprocess_exec(
                sys.executable, "-m", HERD_MODULE, str(self.root / "ca"),
                str(self.root / f"herd-{n}"), str(n * share), str(count),
                str(self.events_per_s / self.processes), *self.urls,
                stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, limit=2**26)
            self.children.append(child)
            self.status.append({"up": 0, "on": [0] * len(self.urls)})
            self.finals.append(loop.create_future())
            self._readers.append(asyncio.create_task(self._read(n)))

    async def _read(self, n: int) -> None:
        stdout = self.children[n].stdout
        assert stdout is not None
        while line := await stdout.readline():
            report = json.loads(line)
            if report.get("final"):
                self.finals[n].set_result(report)
            self.status[n] = report
        if not self.finals[n].done():
            self.finals[n].set_exception(RuntimeError(f"herd process {n} ended early"))

    def up(self) -> int:
        """Hubs connected now, over every process (as of their last report)."""
        return sum(int(s["up"]) for s in self.status)

    def on(self, relay: int) -> int:
        """Hubs connected to one relay now."""
        return sum(int(s["on"][relay]) for s in self.status)

    def say(self, word: str) -> None:
        """Tell every process (go: events on; stop: events off, then the final report)."""
        for child in self.children:
            assert child.stdin is not None
            child.stdin.write(f"{word}\n".encode())

    async def stop(self) -> list[dict[str, Any]]:
        """Stop the events and collect each process's final report."""
        self.say("stop")
        return list(await asyncio.gather(*self.finals))

    async def close(self) -> None:
        """End the processes (done ones have exited; a stuck one is killed)."""
        for child in self.children:
            if child.returncode is None:
                child.kill()
            await child.wait()
        for reader in self._readers:
            reader.cancel()


async def stored_ids(url: str, stream: str = "HUB_EVENTS") -> list[str]:
    """The message id (<hub>:<seq>) of every event in the stream, in order, duplicates kept."""
    nc = await nats.connect(url)
    try:
        js = nc.jetstream()
        total = (await js.stream_info(stream)).state.messages
        subscription = await js.subscribe("hub.*.events", stream=stream, ordered_consumer=True,
                                          deliver_policy=DeliverPolicy.ALL)
        ids: list[str] = []
        while len(ids) < total:
            msg = await subscription.next_msg(timeout=10)
            ids.append((msg.headers or {}).get("Nats-Msg-Id", ""))
        await subscription.unsubscribe()
        return ids
    finally:
        await nc.close()
