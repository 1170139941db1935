"""A herd of simulated hubs in one process: the hub's own sans-I/O session, no radios.

Each ``SimHub`` speaks hubd/1 with ``hubd.tunnel.session.HubSession`` over a real mTLS WebSocket,
keeps its unacked events in memory (its "outbox") and resends them after a reconnect, answers
commands at once, and reconnects with the project's backoff (full jitter, reset after a stable
period) or when a draining relay said ``retry_after_s``. It tries the relay URLs in turn, as a
load balancer would spread it. Used by the herd test and ``make bench``.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import ssl
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake

from hubd.supervise import backoff_s
from hubd.tunnel.protocol import MAX_MESSAGE_BYTES, SUBPROTOCOL
from hubd.tunnel.session import (
    Acked,
    ByeReceived,
    CommandLedger,
    CommandReceived,
    HubSession,
    Phase,
    ProtocolViolation,
    Welcomed,
)
from tools.relay.ca import CertificateAuthority


def herd_contexts(ca: CertificateAuthority, hub_ids: list[str], work: Path
                  ) -> dict[str, ssl.SSLContext]:
    """A client TLS context per hub id: one shared key, one certificate each."""
    key = ec.generate_private_key(ec.SECP256R1())
    work.mkdir(parents=True, exist_ok=True)
    key_path = work / "herd.key"
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    contexts = {}
    for hub_id in hub_ids:
        cert_path = work / f"{hub_id}.crt"
        certificate = ca.sign(key.public_key(), hub_id, days=1)
        cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.minimum_version = ssl.TLSVersion.TLSv1_3
        context.load_cert_chain(cert_path, key_path)
        context.load_verify_locations(cafile=ca.ca_path)
        contexts[hub_id] = context
    return contexts


@dataclass
class SimHub:
    """One simulated hub."""

    hub_id: str
    context: ssl.SSLContext
    urls: list[str]
    backoff_min_s: float = 1.0
    backoff_max_s: float = 120.0
    stable_after_s: float = 30.0
    rng: random.Random = field(default_factory=random.Random)
    outbox: OrderedDict[int, dict[str, object]] = field(default_factory=OrderedDict)
    next_seq: int = 1
    acked: int = 0
    attempts: int = 0
    attempt_times: list[float] = field(default_factory=list)  # perf_counter of each attempt
    connects: int = 0
    commands: int = 0
    is_connected: bool = False
    relay_url: str | None = None  # the relay it holds a tunnel with, while connected
    lost_at: float | None = None  # when the tunnel last went down (perf_counter)
    back_after_s: list[float] = field(default_factory=list)  # down → welcome, per outage
    welcomed_at: list[float] = field(default_factory=list)  # perf_counter of each welcome
    ledger: CommandLedger = field(default_factory=CommandLedger)
    gate: asyncio.Semaphore | None = None  # handshakes in flight in this process, at most
    _wake: asyncio.Event = field(default_factory=asyncio.Event)

    def emit(self, body: dict[str, object]) -> int:
        """Queue an event; it goes up now or after the next reconnect."""
        seq, self.next_seq = self.next_seq, self.next_seq + 1
        self.outbox[seq] = body
        self._wake.set()
        return seq

    async def run(self) -> None:
        """Stay connected until cancelled."""
        streak, turn = 0, self.rng.randrange(len(self.urls))
        while True:
            url = self.urls[turn % len(self.urls)]
            turn += 1
            self.attempts += 1
            started = time.perf_counter()
            self.attempt_times.append(started)
            retry_after: float | None = None
            try:
                websocket = await self._open(url)
                try:
                    retry_after = await self._session(websocket, url)
                finally:
                    await websocket.close()
            except (OSError, TimeoutError, InvalidHandshake, ConnectionClosed):
                pass
            if self.is_connected:
                self.is_connected, self.relay_url = False, None
                self.lost_at = time.perf_counter()
            up_s = time.perf_counter() - started
            streak = 1 if up_s >= self.stable_after_s else streak + 1
            delay = backoff_s(streak, self.backoff_min_s, self.backoff_max_s, self.rng)
            if streak == 1:  # as the hub's client: a stable tunnel lost comes back at full jitter
                delay = self.rng.uniform(0.0, 2.0 * delay)
            await asyncio.sleep(max(delay, retry_after or 0.0))

    async def _open(self, url: str) -> ClientConnection:
        """TCP, TLS and the WebSocket upgrade; a shared gate bounds how many a process runs at
        once (a herd process has one core for thousands of hubs; a real hub has its own)."""
        async with self.gate or contextlib.nullcontext():
            return await connect(url, ssl=self.context, subprotocols=[SUBPROTOCOL],  # type: ignore[list-item]
                                 compression=None, max_size=MAX_MESSAGE_BYTES, proxy=None,
                                 ping_interval=None, open_timeout=10)

    async def _session(self, websocket: ClientConnection, url: str) -> float | None:
        session = HubSession(self.ledger, window=64)
        now = time.monotonic()
        session.start(now, time.time(), self.acked, "herd", 0, "hubd-herd")
        for hello in session.data_to_send():
            await websocket.send(hello)
        pump = asyncio.get_running_loop().create_task(self._pump(websocket, session))
        try:
            async for message in websocket:
                session.receive(message, time.monotonic(), time.time())
                for event in session.events_received():
                    if isinstance(event, Welcomed):
                        self.relay_url = url
                    retry = self._on(event, session)
                    if retry is not None:
                        return retry
                for out in session.data_to_send():
                    await websocket.send(out)
                if session.phase is Phase.CLOSED:
                    return None
        finally:
            pump.cancel()
        return None

    def _on(self, event: object, session: HubSession) -> float | None:
        match event:
            case Welcomed(acked_seq=acked):
                self._ack(acked)
                self.is_connected = True
                self.connects += 1
                self.welcomed_at.append(time.perf_counter())
                if self.lost_at is not None:
                    self.back_after_s.append(time.perf_counter() - self.lost_at)
                    self.lost_at = None
                self._wake.set()
            case Acked(seq=seq):
                self._ack(seq)
                self._wake.set()
            case CommandReceived(id=command_id):
                self.commands += 1
                session.send_result(command_id, {"status": "confirmed", "latency_ms": 0.0,
                                                 "error": None}, time.time())
            case ByeReceived(retry_after_s=retry):
                return retry if retry is not None else 0.0
            case ProtocolViolation():
                return 0.0
        return None

    def _ack(self, seq: int) -> None:
        self.acked = max(self.acked, seq)
        while self.outbox and next(iter(self.outbox)) <= seq:
            self.outbox.popitem(last=False)

    async def _pump(self, websocket: ClientConnection, session: HubSession) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            for seq, body in list(self.outbox.items()):
                if not session.can_send_event():
                    break
                if seq > session.sent_seq:
                    session.send_event(seq, body, time.time())
            for message in session.data_to_send():
                await websocket.send(message)
