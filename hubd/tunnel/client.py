"""The tunnel's client edge: websockets over mutual TLS 1.3, and its own reconnect loop.

One ``TunnelClient.run`` per hub. It waits for a sane clock, keeps the feeder running (events
reach the outbox whether or not the cloud is there), and connects again and again:

    how an attempt ended                          the next attempt after
    ───────────────────────────────────────────   ──────────────────────────────────────────
    connected ≥ stable_after_s, then lost         full jitter over [0, 2·backoff(1)]: a new streak
    refused, timed out, lost early, bad bytes     backoff(n): full jitter, n = attempts in a row
    401/403, a refused certificate, 4001          slow retry (minutes) and a Notice, once a streak
    the relay said bye with retry_after_s         at least retry_after_s

websockets' own reconnect resets its backoff on every open, so against a relay that accepts and
then closes it spins (FACTS.md); this loop counts an attempt as a success only once it has stayed
up for ``stable_after_s``. The backoff policy is the project's one (hubd.supervise), handed in
by the daemon. Keepalive (ping 20 s, timeout 10 s, close 3 s) is websockets'.
"""

from __future__ import annotations

import asyncio
import logging
import random
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

import hubd
from hubd.bus import Bus
from hubd.core.clock import Clock
from hubd.core.errors import HubError
from hubd.core.events import Notice, TunnelHealth, TunnelStatus
from hubd.core.model import Context, Origin
from hubd.tunnel.connection import Connection, ConnectionEnd, End
from hubd.tunnel.feeder import Feeder
from hubd.tunnel.identity import Identity, IdentityError
from hubd.tunnel.ports import Executor, Outbox, UpdateOffers
from hubd.tunnel.protocol import MAX_MESSAGE_BYTES, SUBPROTOCOL
from hubd.tunnel.session import CommandLedger
from hubd.tunnel.settings import TunnelSettings
from hubd.tunnel.uplink import StateMirror

log = logging.getLogger(__name__)

Backoff = Callable[[int], float]  # attempts in a row (1-based) -> seconds to wait


@dataclass(slots=True)
class Stats:
    """What the tunnel did, for STATUS=, the benchmarks and the tests."""

    attempts: int = 0
    connects: int = 0
    events_sent: int = 0
    commands_run: int = 0
    last_end: ConnectionEnd | None = None


class TunnelClient:
    """Keeps one tunnel to the relay up for as long as the daemon runs."""

    def __init__(self, settings: TunnelSettings, identity: Identity, bus: Bus, outbox: Outbox,
                 executor: Executor, mirror: StateMirror, clock: Clock, backoff: Backoff,
                 rng: random.Random | None = None, updates: UpdateOffers | None = None
                 ) -> None:
        self.settings = settings
        self.identity = identity
        self.bus = bus
        self.outbox = outbox
        self.executor = executor
        self.updates = updates  # None: this hub takes no updates from the cloud
        self.mirror = mirror
        self.clock = clock
        self.backoff = backoff
        self.rng = rng or random.Random()
        self.ledger = CommandLedger(settings.command_ledger_size)
        self.feeder = Feeder(bus, outbox, mirror, flush_interval_s=settings.flush_interval_s,
                             max_pending=settings.max_pending)
        self.stats = Stats()
        self.health: TunnelHealth | None = None
        self.connected = asyncio.Event()  # set while a session is open (for tests and demo)
        self.last_ack_ts: float | None = None
        self.outbox_depth = 0  # rows waiting for an ack, as of the last ack written

    async def run(self) -> None:
        """Run until cancelled."""
        self.feeder.subscribe()
        async with asyncio.TaskGroup() as group:
            group.create_task(self.feeder.run(), name="tunnel-feeder")
            await self._wait_for_clock()
            await self._reconnect_loop()

    async def _wait_for_clock(self) -> None:
        """A clock before the build time would fail every certificate check: wait for NTP."""
        said = False
        while self.clock.time() < self.settings.clock_not_before:
            if not said:
                log.warning("event=tunnel_waiting_for_clock now=%.0f not_before=%.0f "
                            "reason=clock_before_build_time (is NTP synced?)", self.clock.time(),
                            self.settings.clock_not_before)
                self._health(TunnelStatus.WAITING_FOR_CLOCK,
                             "the clock is before this software was built: waiting for NTP")
                said = True
            await asyncio.sleep(self.settings.clock_check_s)
        if said:
            log.info("event=tunnel_clock_sane now=%.0f", self.clock.time())

    def _url(self) -> str | None:
        if self.settings.url:
            return self.settings.url
        endpoint = self.identity.endpoint()
        return endpoint.url if endpoint is not None else None

    async def _reconnect_loop(self) -> None:
        streak = 0  # attempts in a row that did not stay up for stable_after_s
        slow_noticed = False
        while True:
            started = self.clock.monotonic()
            self.stats.attempts += 1
            end = await self._attempt()
            self.stats.last_end = end
            self.connected.clear()
            up_s = self.clock.monotonic() - started
            streak = 1 if end.was_open and up_s >= self.settings.stable_after_s else streak + 1
            if end.kind is End.SLOW:
                delay_s = self.rng.uniform(self.settings.slow_retry_min_s,
                                           self.settings.slow_retry_max_s)
                if not slow_noticed:
                    slow_noticed = True
                    self.bus.publish(Notice(
                        "tunnel", f"cannot use the cloud tunnel: {end.detail}; trying again in "
                        f"{delay_s / 60:.0f} min", self.clock.time(), Context.new(Origin.SYSTEM),
                        "error"))
            else:
                slow_noticed = slow_noticed and not end.was_open
                delay_s = self.backoff(streak)
                if streak == 1:  # every hub of a relay that died lost it at the same instant:
                    delay_s = self.rng.uniform(0.0, 2.0 * delay_s)  # full jitter, not all at min
                if end.retry_after_s is not None:
                    delay_s = max(delay_s, end.retry_after_s)
            log.log(logging.WARNING if end.kind is not End.STOPPED else logging.INFO,
                    "event=tunnel_down reason=%s detail=%r up_s=%.1f streak=%d retry_in_s=%.2f",
                    end.kind, end.detail, up_s, streak, delay_s)
            self._health(TunnelStatus.RECONNECTING, end.detail,
                         next_attempt_ts=self.clock.time() + delay_s)
            await asyncio.sleep(delay_s)

    async def _attempt(self) -> ConnectionEnd:
        """One connection, from TLS to close; how it ended."""
        url = self._url()
        try:
            if url is None:
                raise IdentityError("no relay URL: set [tunnel] url or provision the hub")
            context = await asyncio.to_thread(self._checked_context)
        except IdentityError as exc:
            self._health(TunnelStatus.NOT_PROVISIONED, str(exc))
            return ConnectionEnd(End.SLOW, str(exc))
        self._health(TunnelStatus.CONNECTING, url)
        settings = self.settings
        try:
            async with connect(
                    url, ssl=context, subprotocols=[SUBPROTOCOL],  # type: ignore[list-item]
                    compression=None, max_size=MAX_MESSAGE_BYTES,
                    proxy=settings.proxy or None, open_timeout=settings.open_timeout_s,
                    ping_interval=settings.ping_interval_s, ping_timeout=settings.ping_timeout_s,
                    close_timeout=settings.close_timeout_s, max_queue=settings.window,
                    user_agent_header=f"hubd/{hubd.__version__}") as websocket:
                self.stats.connects += 1
                connection = Connection(self, websocket)
                return await connection.run()
        except InvalidStatus as exc:
            status = exc.response.status_code
            kind = End.SLOW if status in (401, 403) else End.FAILED
            return ConnectionEnd(kind, f"HTTP {status} from the relay")
        except ssl.SSLCertVerificationError as exc:
            return ConnectionEnd(End.SLOW, f"the relay's certificate: {exc.verify_message}")
        except ssl.SSLError as exc:
            # TLS 1.3 reports a refused client certificate as an alert after the handshake.
            return ConnectionEnd(End.SLOW, f"TLS: {exc.reason or exc}")
        except ConnectionClosed as exc:
            return ConnectionEnd(End.FAILED, f"closed during the handshake: {exc}")
        except (OSError, TimeoutError, InvalidHandshake, HubError) as exc:
            refused = _tls_refusal(exc)
            if refused is not None:
                return ConnectionEnd(End.SLOW, f"TLS: {refused}")
            return ConnectionEnd(End.FAILED, f"{type(exc).__name__}: {exc}")

    def _checked_context(self) -> ssl.SSLContext:
        self.identity.check(self.clock.time())
        return self.identity.client_context()

    def _health(self, status: TunnelStatus, detail: str, *,
                next_attempt_ts: float | None = None) -> None:
        depth = self.outbox_depth + len(self.feeder.pending)
        health = TunnelHealth(status, detail, self.clock.time(), next_attempt_ts, depth,
                              self.last_ack_ts)
        previous, self.health = self.health, health
        if previous is None or previous.status != status:
            log.info("event=tunnel_health status=%s detail=%r", status, detail)
        self.bus.publish(health)

    def refresh_health(self, every_s: float = 5.0) -> None:
        """Publish the health again (outbox depth, last ack) if the last is older than every_s."""
        health = self.health
        if health is not None and self.clock.time() - health.ts >= every_s:
            self._health(health.status, health.detail, next_attempt_ts=health.next_attempt_ts)

    def on_connected(self, detail: str) -> None:
        """The session is open (the connection calls this)."""
        self.connected.set()
        self._health(TunnelStatus.CONNECTED, detail)


def _tls_refusal(exc: BaseException) -> str | None:
    """Why TLS refused us, when that is what an error hides: in TLS 1.3 the relay rejects a
    client certificate after the handshake, so websockets sees a broken HTTP response."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLError):
            return str(seen.reason or seen)
        seen = seen.__cause__ or seen.__context__
    return None


def identity_dir(state_dir: Path) -> Path:
    """Where the tunnel's identity lives in the state directory."""
    return state_dir / "tunnel"
