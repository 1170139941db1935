"""Run zigbee-herdsman (herdsman.mjs) against a simulator's TCP port and collect what it saw.

The host is a Node process; it prints one JSON object per line (see herdsman.mjs). The harness
is generic in the adapter (``zstack`` for the ZNP simulator, ``ember`` for an EZSP one) and in
the simulator: it only needs the TCP address, and a callback that makes a simulated device act
when the host asks for it (a ``trigger`` line: "make the sensor with this IEEE address send
something").
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "tools" / "secondhost" / "herdsman.mjs"


@dataclass(frozen=True, slots=True)
class HostEvent:
    """One line the host printed: its event name and its fields as decoded JSON."""

    event: str
    fields: dict[str, Any]


@dataclass(frozen=True, slots=True)
class HostRun:
    """Everything one run of the host printed, with its exit code and its log file."""

    events: tuple[HostEvent, ...]
    returncode: int
    log_path: Path

    def of(self, event: str) -> list[HostEvent]:
        """The events with this name, in order."""
        return [e for e in self.events if e.event == event]

    def names(self) -> list[str]:
        """The event names in order, for a readable assertion message."""
        return [e.event for e in self.events]


def tcp_url(path: str) -> str:
    """herdsman's spelling of a TCP port (``tcp://``) from zigpy's (``socket://``)."""
    return "tcp://" + path.removeprefix("socket://").removeprefix("tcp://")


async def run_host(
    path: str,
    state_dir: Path,
    *,
    adapter: str = "zstack",
    expect_devices: int,
    on_trigger: Callable[[int], None],
    on_started: Callable[[HostEvent], None] | None = None,
    timeout_s: float = 90.0,
    node: str = "node",
) -> HostRun:
    """Start herdsman on ``path``, answer its triggers, and return what it printed.

    With ``on_started``, herdsman waits after starting until that callback has run (it may put
    devices on the network herdsman has just restored)."""
    await asyncio.to_thread(state_dir.mkdir, parents=True, exist_ok=True)
    log_path = state_dir / "herdsman.log"
    env = {**os.environ, "NODE_PATH": str(ROOT / "node_modules")}
    with log_path.open("wb") as log, (state_dir / "events.jsonl").open("wb") as events_log:
        process = await asyncio.create_subprocess_exec(
            node, str(SCRIPT), "--adapter", adapter, "--path", tcp_url(path),
            "--dir", str(state_dir), "--expect", str(expect_devices),
            "--timeout-s", str(int(timeout_s)), *(["--hold"] if on_started else []),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=log,
            cwd=ROOT, env=env,
        )  # fmt: skip
        events: list[HostEvent] = []
        try:
            async with asyncio.timeout(timeout_s + 10):
                assert process.stdout is not None and process.stdin is not None
                async for line in process.stdout:
                    events_log.write(line)
                    event = _decode(line)
                    events.append(event)
                    if event.event == "trigger":
                        on_trigger(int(str(event.fields["ieee"]), 16))  # herdsman writes 0x...
                    elif event.event == "started" and on_started is not None:
                        on_started(event)
                        process.stdin.write(b"go\n")
                        await process.stdin.drain()
                returncode = await process.wait()
        finally:
            if process.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
                await process.wait()
    return HostRun(tuple(events), returncode, log_path)


def _decode(line: bytes) -> HostEvent:
    try:
        raw = json.loads(line)
    except json.JSONDecodeError:
        return HostEvent("unparsed", {"line": line.decode(errors="replace")})
    if not isinstance(raw, dict):
        return HostEvent("unparsed", {"line": line.decode(errors="replace")})
    return HostEvent(str(raw.pop("event", "?")), raw)
