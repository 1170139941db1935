"""A hub SIGKILLed between writing events to its outbox and the relay's ack resends them."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from tests.tools.relay.proxy import FaultProxy, Mode
from tests.tunnel_harness import provision_hub, until
from tools.relay.server import Relay

CONFIG = """
[hub]
state_dir = "{state}"

[store]
write_interval_s = 0.02

[radios.virtual]
activity_interval_s = {activity}
devices = [
  {{ address = "3", name = "Front door", kind = "contact" }},
  {{ address = "5", name = "Remote", kind = "button" }},
]

[tunnel]
url = "{url}"
backoff_min_s = 0.02
backoff_max_s = 0.2
ping_interval_s = 0.3
ping_timeout_s = 0.3
close_timeout_s = 0.2
flush_interval_s = 0.005
clock_not_before = 0.0
"""


@contextlib.contextmanager
def hub_process(tmp_path: Path, url: str, activity: float) -> Iterator[subprocess.Popen[bytes]]:
    config = tmp_path / "hub.toml"
    config.write_text(CONFIG.format(state=tmp_path / "state", url=url, activity=activity))
    process = subprocess.Popen([sys.executable, "-m", "hubd", "run", "--config", str(config)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def outbox_rows(state: Path) -> list[tuple[int, str]]:
    path = state / "hubd.sqlite3"
    if not path.exists():
        return []
    try:
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
            return list(conn.execute("SELECT seq, kind FROM outbox ORDER BY seq"))
    except sqlite3.OperationalError:  # the schema is not there yet
        return []


def outbox_seqs(state: Path) -> list[int]:
    return [seq for seq, _ in outbox_rows(state)]


async def test_events_written_but_not_acked_are_resent_after_sigkill(
        relay: Relay, tmp_path: Path) -> None:
    proxy = FaultProxy(relay.tunnel_port, Mode.BLACKHOLE)  # sent, never acked
    await proxy.start()
    try:
        await provision_hub(relay, tmp_path / "state", "hub-kill")
        with hub_process(tmp_path, proxy.url, activity=0.01) as process:
            await until(lambda: len(outbox_seqs(tmp_path / "state")) >= 10, 15.0, "10 rows")
            process.send_signal(signal.SIGKILL)
            process.wait(5)
        left = outbox_rows(tmp_path / "state")
        pending = [seq for seq, _ in left]
        # State rows may be replaced by a newer value of the same attribute when the hub comes
        # back (coalescing); events are never replaced, so each must arrive exactly once.
        events = {seq for seq, kind in left if kind == "event"}
        assert len(pending) >= 10 and events
        proxy.mode = Mode.PASS
        with hub_process(tmp_path, proxy.url, activity=0.0):
            await until(lambda: relay.events.hubs.get("hub-kill") is not None
                        and relay.events.hubs["hub-kill"].high_water >= pending[-1], 15.0,
                        "the relay has every seq the dead hub left")
            record = relay.events.hubs["hub-kill"]
            got = [seq for seq, _ in record.recent]
            assert events <= set(got) and len(got) == len(set(got))
            await until(lambda: not set(pending) & set(outbox_seqs(tmp_path / "state")), 5.0,
                        "acked rows gone from the outbox")
    finally:
        await proxy.stop()
    await asyncio.sleep(0)
