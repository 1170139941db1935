"""The relay's end of a hub tunnel: mutual TLS, the relay session, dedupe and acks, commands.

The hub id comes from the verified client certificate (TLS did the verifying against our CA)
and from nowhere else. Each event is stored once per (hub, seq) and acked cumulatively whether
or not it was a duplicate, so a hub that resends after a lost ack moves on.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import time
from typing import Any

from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

from hubd.core.errors import HubError
from hubd.tunnel.protocol import SUBPROTOCOL, CloseCode
from tools.relay.ca import CertificateAuthority, ClaimError
from tools.relay.fleet import Body, CommandExpired, EventLog, HubOffline, Router
from tools.relay.session import (
    ByeReceived,
    EventReceived,
    HelloReceived,
    RelaySession,
    RenewRequested,
    ResultReceived,
    StateReceived,
    Violation,
)

log = logging.getLogger(__name__)

ACK_EVERY = 16  # the hub keeps 64 in flight: acking every 16 keeps its window open
ACK_DELAY_S = 0.002
_ids = itertools.count(1)
_PREFIX = os.urandom(3).hex()


def peer_hub_id(websocket: ServerConnection) -> str | None:
    """The common name of the client certificate TLS verified, if any."""
    transport: Any = websocket.transport
    ssl_object = transport.get_extra_info("ssl_object") if transport is not None else None
    peer = ssl_object.getpeercert() if ssl_object is not None else None
    if not peer:
        return None
    for rdn in peer.get("subject", ()):
        for key, value in rdn:
            if key == "commonName":
                return str(value)
    return None


class TunnelLink:
    """One hub's tunnel on this relay (a HubLink for the Router)."""

    def __init__(self, hub_id: str, websocket: ServerConnection, router: Router,
                 events: EventLog, ca: CertificateAuthority, cert_days: float) -> None:
        self._hub_id = hub_id
        self.websocket = websocket
        self.router = router
        self.events = events
        self.ca = ca
        self.cert_days = cert_days
        self.session = RelaySession()
        self._pending: dict[str, asyncio.Future[Body]] = {}
        self._sending = asyncio.Lock()
        self._attached = False
        self._unacked = 0  # events stored since the last ack
        self._tasks: set[asyncio.Task[None]] = set()
        self._ack_timer: asyncio.TimerHandle | None = None

    @property
    def hub_id(self) -> str:
        """The hub id from the verified certificate."""
        return self._hub_id

    async def run(self) -> None:
        """Serve the tunnel until it closes."""
        session = self.session
        try:
            async for message in self.websocket:
                session.receive(message)
                for event in session.events_received():
                    await self._on_event(event)
                await self._flush()
                if session.close_code is not None:
                    await self.websocket.close(session.close_code, session.close_reason[:120])
                    break
        except ConnectionClosed:
            pass
        finally:
            if self._ack_timer is not None:
                self._ack_timer.cancel()
            if self._attached:
                await self.router.detach(self)
            for future in self._pending.values():
                if not future.done():
                    future.set_exception(HubOffline(f"hub {self.hub_id} went offline"))

    async def _flush(self) -> None:
        async with self._sending:
            for message in self.session.data_to_send():
                await self.websocket.send(message)

    async def _on_event(self, event: object) -> None:
        session, now = self.session, time.time()
        match event:
            case HelloReceived(acked_seq=acked):
                record = self.events.record(self.hub_id)
                resume = self.events.resume(self.hub_id, acked)
                session.welcome(resume, record.epoch, record.version, now)
                await self._flush()
                self._attached = True
                await self.router.attach(self)
                log.info("event=relay_hub_online hub=%s resume_seq=%d software=%s", self.hub_id,
                         resume, event.software)
            case EventReceived(seq=seq, body=body):
                self.events.add_event(self.hub_id, seq, body)
                self._ack_later(seq)
            case StateReceived(body=body):
                self.events.apply_state(self.hub_id, body)
            case ResultReceived(id=command_id, body=body):
                future = self._pending.pop(command_id, None)
                if future is not None and not future.done():
                    future.set_result(body)
            case RenewRequested(id=request_id, csr_pem=csr):
                try:
                    pem = self.ca.sign_csr(csr, self.hub_id, self.cert_days)
                except ClaimError as exc:
                    log.warning("event=relay_renew_refused hub=%s error=%s", self.hub_id, exc)
                else:
                    session.renewed(request_id, pem, now)
                    log.info("event=relay_renewed hub=%s", self.hub_id)
            case ByeReceived(reason=reason):
                log.info("event=relay_hub_bye hub=%s reason=%r", self.hub_id, reason)
            case Violation(code=code, reason=reason):
                log.warning("event=relay_protocol_error hub=%s code=%d reason=%r", self.hub_id,
                            code, reason)

    def _ack_later(self, seq: int) -> None:
        """Ack cumulatively: at once every ACK_EVERY events, else ACK_DELAY_S after the last
        (half the messages of one ack per event, and the hub's window never runs dry)."""
        self._unacked += 1
        if self._unacked >= ACK_EVERY:
            self._send_ack()
        elif self._ack_timer is None:
            self._ack_timer = asyncio.get_running_loop().call_later(ACK_DELAY_S, self._timed_ack)

    def _send_ack(self) -> None:
        if self._ack_timer is not None:
            self._ack_timer.cancel()
            self._ack_timer = None
        self._unacked = 0
        self.session.ack(self.session.last_seq, time.time())

    def _timed_ack(self) -> None:
        self._ack_timer = None
        if self._unacked:
            self._send_ack()
            task = asyncio.get_running_loop().create_task(self._flush_quietly())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _flush_quietly(self) -> None:
        with contextlib.suppress(ConnectionClosed):
            await self._flush()

    async def command(self, body: Body, ttl_s: float) -> Body:
        """Send a command down the tunnel and wait for its result until ttl_s."""
        command_id = f"{_PREFIX}{next(_ids):x}"
        future: asyncio.Future[Body] = asyncio.get_running_loop().create_future()
        self._pending[command_id] = future
        now = time.time()
        self.session.command(command_id, {**body, "ttl_ms": round(ttl_s * 1000.0),
                                          "deadline": now + ttl_s}, now)
        try:
            await self._flush()
            async with asyncio.timeout(ttl_s):
                return await future
        except ConnectionClosed as exc:
            raise HubOffline(f"hub {self.hub_id} went offline") from exc
        except TimeoutError:
            raise CommandExpired(f"no answer from hub {self.hub_id} in {ttl_s:.3f} s") from None
        finally:
            self._pending.pop(command_id, None)

    async def supersede(self) -> None:
        """Close with 4001: a newer tunnel of this hub took over."""
        self._attached = False
        with contextlib.suppress(ConnectionClosed):
            await self.websocket.close(CloseCode.SUPERSEDED, "superseded")


async def handle(websocket: ServerConnection, router: Router, events: EventLog,
                 ca: CertificateAuthority, cert_days: float) -> None:
    """Serve one incoming hub connection."""
    hub_id = peer_hub_id(websocket)
    if hub_id is None:
        await websocket.close(CloseCode.UNAUTHORIZED, "no client certificate")
        return
    if websocket.subprotocol != SUBPROTOCOL:
        await websocket.close(CloseCode.PROTOCOL_ERROR, "subprotocol hubd.v1 required")
        return
    try:
        await TunnelLink(hub_id, websocket, router, events, ca, cert_days).run()
    except HubError:
        log.exception("event=relay_tunnel_failed hub=%s", hub_id)
