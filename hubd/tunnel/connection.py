"""One open tunnel connection: the session fed from the socket, the outbox pumped into it.

Three tasks share the session until the socket closes: the reader feeds each message to the
session and acts on what it says (welcome, acks, commands, renewal, bye); the pump sends outbox
rows after the cloud's acked seq, at most ``window`` unacked and at most ``replay_rate_per_s``
(a long outage's backlog is replayed paced, not dumped); the acker writes the latest cumulative
ack to the outbox, one write at a time however fast acks come.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import deque
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import cbor2
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

import hubd
from hubd.core.errors import HubError
from hubd.core.model import Capability, Command, Context, Origin
from hubd.tunnel.ports import OutboxItem
from hubd.tunnel.protocol import SUBPROTOCOL, CloseCode
from hubd.tunnel.session import (
    Acked,
    ByeReceived,
    CommandReceived,
    HubSession,
    Phase,
    ProtocolViolation,
    Renewed,
    Welcomed,
)
from hubd.tunnel.updates import HUB_TARGET, UPDATE_CAPABILITY, run_update_command

if TYPE_CHECKING:
    from hubd.tunnel.client import TunnelClient

log = logging.getLogger(__name__)

READ_AHEAD = 512  # outbox rows read in one trip to the store's thread


class End(StrEnum):
    """How a connection attempt ended, which decides the next one's delay."""

    FAILED = "failed"  # the usual backoff
    SLOW = "slow"  # refused (401/403, certificate, superseded): retry slowly
    STOPPED = "stopped"  # we are stopping


@dataclass(frozen=True, slots=True)
class ConnectionEnd:
    """Why a connection ended."""

    kind: End
    detail: str
    was_open: bool = False
    retry_after_s: float | None = None


def _body(kind: str, body: bytes) -> dict[str, Any]:
    if kind == "dropped":  # the store writes its marker as JSON
        with contextlib.suppress(ValueError):
            marker = json.loads(body)
            if isinstance(marker, dict):
                return {"type": "dropped", **marker}
        return {"type": "dropped"}
    decoded = cbor2.loads(body)
    return decoded if isinstance(decoded, dict) else {"type": "unknown"}


class Connection:
    """The hub's end of one open WebSocket."""

    def __init__(self, client: TunnelClient, websocket: ClientConnection) -> None:
        self.client = client
        self.websocket = websocket
        settings = client.settings
        self.session = HubSession(client.ledger, window=settings.window,
                                  welcome_timeout_s=settings.welcome_timeout_s)
        self.cursor = 0  # the last seq handed to the session
        self.ack_to_write = 0
        self._acks = asyncio.Event()
        self._window = asyncio.Event()
        self._sending = asyncio.Lock()
        self._end: ConnectionEnd | None = None
        self._was_open = False
        self._opened_wall = client.clock.time()
        self._commands: set[asyncio.Task[None]] = set()

    async def run(self) -> ConnectionEnd:
        """Run the session until the socket closes; how it ended."""
        client = self.client
        if self.websocket.subprotocol != SUBPROTOCOL:
            await self.websocket.close(CloseCode.PROTOCOL_ERROR, "subprotocol hubd.v1 required")
            return ConnectionEnd(End.FAILED, "the relay did not choose hubd.v1")
        acked = await client.outbox.acked_floor()
        clock = client.clock
        self.session.start(clock.monotonic(), clock.time(), acked, client.mirror.epoch,
                           client.mirror.version, f"hubd/{hubd.__version__}")
        await self._flush()
        try:
            await self._serve()
        except asyncio.CancelledError:
            # The daemon is stopping: say bye (best effort) so the relay knows it was on purpose.
            with contextlib.suppress(Exception):
                self.session.send_bye("hub stopping", clock.time())
                async with asyncio.timeout(self.client.settings.close_timeout_s):
                    await self._flush()
            raise
        finally:
            await self._write_ack()
        return self._end or self._closed_end()

    async def _serve(self) -> None:
        try:
            async with asyncio.TaskGroup() as group:
                reader = group.create_task(self._read(), name="tunnel-reader")
                tasks = [group.create_task(self._pump(), name="tunnel-pump"),
                         group.create_task(self._acker(), name="tunnel-acker")]
                await reader
                for task in tasks:
                    task.cancel()
        except* ConnectionClosed:
            pass

    def _closed_end(self) -> ConnectionEnd:
        websocket = self.websocket
        code = websocket.close_code
        reason = websocket.close_reason or ""
        if code == CloseCode.SUPERSEDED:
            return ConnectionEnd(End.SLOW, "superseded by another connection of this hub (4001)",
                                 self._was_open)
        return ConnectionEnd(End.FAILED, f"closed {code} {reason}".strip(), self._was_open)

    async def _flush(self) -> None:
        async with self._sending:
            for message in self.session.data_to_send():
                await self.websocket.send(message)

    async def _read(self) -> None:
        session, clock = self.session, self.client.clock
        while session.phase is not Phase.CLOSED:
            deadline = session.next_deadline()
            timeout = None if deadline is None else max(0.0, deadline - clock.monotonic())
            try:
                async with asyncio.timeout(timeout):
                    message = await self.websocket.recv()
            except TimeoutError:
                session.on_timer(clock.monotonic())
            except ConnectionClosed:
                return
            else:
                session.receive(message, clock.monotonic(), clock.time())
            for event in session.events_received():
                await self._on_event(event)
            await self._flush()
        code = session.close_code or CloseCode.NORMAL
        await self.websocket.close(code, session.close_reason[:120])

    async def _on_event(self, event: object) -> None:
        client = self.client
        match event:
            case Welcomed(acked_seq=acked):
                self._was_open = True
                self.cursor = max(self.cursor, self.session.acked_seq)
                self._note_ack(acked)
                self.session.send_state(client.mirror.body(event.state_epoch,
                                                           event.state_version),
                                        client.clock.time())
                self._window.set()
                client.on_connected(f"acked seq {acked}")
                log.info("event=tunnel_open acked_seq=%d", acked)
                await self._maybe_renew()
            case Acked(seq=seq):
                self._note_ack(seq)
                self._window.set()
            case CommandReceived():
                # Kept until done (the loop holds tasks weakly); it outlives this connection if
                # need be, and its result waits in the ledger for a repeat.
                task = asyncio.get_running_loop().create_task(self._run_command(event))
                self._commands.add(task)
                task.add_done_callback(self._commands.discard)
            case Renewed(certificate_pem=pem):
                try:
                    await asyncio.to_thread(client.identity.store, pem)
                    log.info("event=tunnel_certificate_renewed")
                except (HubError, ValueError, OSError) as exc:
                    log.error("event=tunnel_renewal_rejected error=%s", exc)
            case ByeReceived(reason=reason, retry_after_s=retry):
                self._end = ConnectionEnd(End.FAILED, f"bye: {reason}", self._was_open, retry)
            case ProtocolViolation(code=code, reason=reason):
                log.error("event=tunnel_protocol_error code=%d reason=%r", code, reason)
                self._end = ConnectionEnd(End.FAILED, f"protocol error {int(code)}: {reason}",
                                          self._was_open)

    def _note_ack(self, seq: int) -> None:
        client = self.client
        if seq > self.ack_to_write:
            self.ack_to_write = seq
            client.last_ack_ts = client.clock.time()
            self._acks.set()

    async def _acker(self) -> None:
        while True:
            await self._acks.wait()
            self._acks.clear()
            await self._write_ack()

    async def _write_ack(self) -> None:
        seq, self.ack_to_write = self.ack_to_write, 0
        if seq:
            try:
                await self.client.outbox.ack(seq)
                self.client.outbox_depth = await self.client.outbox.depth()
                self.client.refresh_health()
            except HubError as exc:  # the rows are sent again later; the relay dedupes
                log.error("event=tunnel_ack_write_failed seq=%d error=%s", seq, exc)

    async def _pump(self) -> None:
        session, client = self.session, self.client
        interval_s = 1.0 / client.settings.replay_rate_per_s
        flushed = client.feeder.flushed
        ahead: deque[OutboxItem] = deque()  # read from the outbox, not sent yet
        while True:
            while not session.can_send_event():
                self._window.clear()
                await self._window.wait()
            while ahead and ahead[0].seq <= session.sent_seq:
                ahead.popleft()  # the cloud had it already (welcome)
            if not ahead:
                # Read well ahead of the window: one trip to the store's thread per batch, not
                # one per ack. A row replaced meanwhile (coalesced) only sends an older value
                # before its newer one.
                flushed.clear()
                ahead.extend(await client.outbox.after(max(self.cursor, session.sent_seq),
                                                       READ_AHEAD))
                if not ahead:
                    await flushed.wait()
                continue
            sent, is_replay = 0, False
            while ahead and session.can_send_event():
                row = ahead.popleft()
                session.send_event(row.seq, _body(row.kind, row.body), row.ts)
                self.cursor = row.seq
                sent += 1
                is_replay = row.ts < self._opened_wall  # it waited while we were away
            client.stats.events_sent += sent
            await self._flush()
            if is_replay:
                await asyncio.sleep(interval_s * sent)

    async def _run_command(self, received: CommandReceived) -> None:
        client = self.client
        if received.device_id == HUB_TARGET and received.capability == UPDATE_CAPABILITY:
            result = await run_update_command(client.updates, received)
            self.session.send_result(received.id, result, client.clock.time())
            with contextlib.suppress(ConnectionClosed):
                await self._flush()
            return
        try:
            command = Command(received.device_id, Capability(received.capability),
                              received.name, received.args, Context.new(Origin.CLOUD),
                              received.deadline_s, id=received.id)
        except ValueError:
            result = {"status": "failed", "latency_ms": 0.0,
                      "error": f"unknown capability {received.capability!r}"}
        else:
            client.stats.commands_run += 1
            outcome = await client.executor.execute(command)
            result = {"status": str(outcome.status),
                      "latency_ms": round(outcome.latency_s * 1e3, 3), "error": outcome.error}
        self.session.send_result(received.id, result, client.clock.time())
        with contextlib.suppress(ConnectionClosed):
            await self._flush()

    async def _maybe_renew(self) -> None:
        client = self.client
        try:
            expires = await asyncio.to_thread(client.identity.not_after)
        except HubError:
            return
        if expires - client.clock.time() < client.settings.renew_before_s:
            csr = await asyncio.to_thread(client.identity.csr_pem)
            self.session.send_renew(f"renew-{int(client.clock.time())}", csr,
                                    client.clock.time())
            log.info("event=tunnel_renewing expires_in_s=%.0f",
                     expires - client.clock.time())
