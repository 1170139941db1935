"""A share of the herd in its own process (uvloop), so thousands of hubs use more than one core
and no process meets the open-file cap: ``make bench`` area ``fleet``.

Usage: python -m tools.bench.fleet_herd CA_DIR WORK FIRST COUNT EVENTS_PER_S URL...
Runs hubs bench-FIRST .. bench-(FIRST+COUNT-1), started START_PER_S a second, with the
production backoff (1-120 s, full jitter, stable after 30 s), and prints a JSON status line
every 0.25 s. Lines on stdin: "go" starts EVENTS_PER_S events over the hubs at random; "stop"
stops them, and once every hub is connected with an empty outbox (or after 120 s) the final
JSON line is printed (times as Unix time).
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import sys
import time
from pathlib import Path

import uvloop

from tools.relay.ca import CertificateAuthority
from tools.relay.herd import SimHub, herd_contexts

STATUS_EVERY_S = 0.25
START_PER_S = 50.0  # hubs started a second from cold: all at once, their handshakes time out
HANDSHAKES = 32  # in flight at once in this process (its one core is the thousands of hubs')


def _status(hubs: list[SimHub], urls: list[str]) -> dict[str, object]:
    return {"up": sum(h.is_connected for h in hubs),
            "on": [sum(1 for h in hubs if h.relay_url == u) for u in urls],
            "outbox": sum(len(h.outbox) for h in hubs),
            "emitted": sum(h.next_seq - 1 for h in hubs)}


async def _emit(hubs: list[SimHub], per_s: float, stop: asyncio.Event) -> None:
    rng, tick_s, owed = random.Random(), 0.05, 0.0
    while not stop.is_set():
        await asyncio.sleep(tick_s)
        owed += per_s * tick_s
        while owed >= 1.0:
            owed -= 1.0
            rng.choice(hubs).emit({"type": "button", "button": "1", "action": "press"})


async def _start(hub: SimHub, after_s: float) -> None:
    await asyncio.sleep(after_s)
    await hub.run()


async def main(ca_dir: Path, work: Path, first: int, count: int, per_s: float,
               urls: list[str]) -> None:
    """Run the share until stopped; print statuses, then the final figures."""
    # A handshake that times out under load is retried by the hub; uvloop logs each as fatal.
    logging.getLogger("asyncio").setLevel(logging.CRITICAL)
    ids = [f"bench-{n:05d}" for n in range(first, first + count)]
    contexts = herd_contexts(CertificateAuthority.load(ca_dir), ids, work)
    gate = asyncio.Semaphore(HANDSHAKES)
    hubs = [SimHub(i, contexts[i], urls, gate=gate) for i in ids]
    offset = time.time() - time.perf_counter()  # perf_counter → Unix time, for the parent
    tasks = [asyncio.create_task(_start(h, n / START_PER_S)) for n, h in enumerate(hubs)]
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    line = loop.run_in_executor(None, sys.stdin.readline)
    while True:
        print(json.dumps(_status(hubs, urls)), flush=True)
        await asyncio.wait([line], timeout=STATUS_EVERY_S)
        if not line.done():
            continue
        said = line.result().strip()
        if said == "go":
            tasks.append(asyncio.create_task(_emit(hubs, per_s, stop)))
            line = loop.run_in_executor(None, sys.stdin.readline)
        else:  # "stop", or the parent went away
            break
    stop.set()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not all(  # noqa: ASYNC110 - polls, there is no event
            h.is_connected and not h.outbox for h in hubs):
        await asyncio.sleep(0.1)
    final = {"final": True, **_status(hubs, urls),
             "attempts": [t + offset for h in hubs for t in h.attempt_times],
             "welcomes": {h.hub_id: [t + offset for t in h.welcomed_at] for h in hubs},
             "events": {h.hub_id: h.next_seq - 1 for h in hubs},
             "commands": sum(h.commands for h in hubs)}
    print(json.dumps(final), flush=True)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


if __name__ == "__main__":
    uvloop.run(main(Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]),
                    float(sys.argv[5]), sys.argv[6:]))
