"""Many idle hub tunnels to one relay, for the relay's memory figure (a child process, uvloop).

Usage: python -m tools.bench.tunnel_clients CA_DIR URL COUNT [FIRST] (or: echo CA_DIR, the baseline
WebSocket with its own hub id (one key, COUNT certificates) that says hello, gets its welcome and
then idles. Prints "ready N" once N are open, then holds them until stdin closes.
"""

from __future__ import annotations

import asyncio
import ssl
import sys
import tempfile
import time
from pathlib import Path

import uvloop
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from websockets.asyncio.client import ClientConnection, connect
from websockets.protocol import State

from hubd.tunnel.protocol import MAX_MESSAGE_BYTES, SUBPROTOCOL, Envelope, MessageType, encode
from tools.relay.ca import CertificateAuthority

CONCURRENCY = 64


def _contexts(ca_dir: Path, count: int, first: int = 0) -> list[ssl.SSLContext]:
    ca = CertificateAuthority.load(ca_dir)
    key = ec.generate_private_key(ec.SECP256R1())
    work = Path(tempfile.mkdtemp(prefix="hubd-bench-"))
    key_path = work / "hub.key"
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    contexts = []
    for n in range(first, first + count):
        cert_path = work / f"hub-{n}.crt"
        certificate = ca.sign(key.public_key(), f"bench-{n:05d}", days=1)
        cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.minimum_version = ssl.TLSVersion.TLSv1_3
        context.load_cert_chain(cert_path, key_path)
        context.load_verify_locations(cafile=ca.ca_path)
        contexts.append(context)
    return contexts


async def _open(url: str, context: ssl.SSLContext, gate: asyncio.Semaphore) -> ClientConnection:
    async with gate:
        for attempt in range(5):  # a full accept queue resets a connect: come back, as a hub
            try:
                return await _open_once(url, context)
            except OSError:
                await asyncio.sleep(0.2 * (attempt + 1))
        return await _open_once(url, context)


async def _open_once(url: str, context: ssl.SSLContext) -> ClientConnection:
    websocket = await connect(url, ssl=context, subprotocols=[SUBPROTOCOL],  # type: ignore[list-item]
                              compression=None, max_size=MAX_MESSAGE_BYTES, proxy=None,
                              ping_interval=None, open_timeout=60)
    await websocket.send(encode(Envelope(MessageType.HELLO, time.time(), body={
        "acked": 0, "epoch": "bench", "version": 0})))
    await websocket.recv()  # the welcome: the relay has registered this hub
    return websocket


async def main(ca_dir: Path, url: str, count: int, first: int = 0) -> None:
    """Open count tunnels (hub ids from number first on), report, hold them until stdin closes."""
    contexts = _contexts(ca_dir, count, first)
    gate = asyncio.Semaphore(CONCURRENCY)
    started = time.perf_counter()
    sockets = await asyncio.gather(*(_open(url, c, gate) for c in contexts))
    print(f"ready {len(sockets)} {time.perf_counter() - started:.2f}", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    # What is still open now, not what once opened: a tunnel the relay closed meanwhile (its
    # keepalive ping unanswered in time on a busy machine) is no longer held.
    held = sum(1 for websocket in sockets if websocket.state is State.OPEN)
    print(f"held {held}", flush=True)
    for websocket in sockets:
        websocket.transport.abort()


async def echo(ca_dir: Path) -> None:
    """A bare mTLS-less WSS echo server (the baseline of a cross-process round trip)."""
    from websockets.asyncio.server import ServerConnection, serve

    from tools.relay.ca import server_context

    async def answer(websocket: ServerConnection) -> None:
        async for message in websocket:
            await websocket.send(message)

    context = server_context(CertificateAuthority.load(ca_dir), require_client=False)
    async with serve(answer, "127.0.0.1", 0, ssl=context, compression=None) as server:
        print(f"port {server.sockets[0].getsockname()[1]}", flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)


if __name__ == "__main__":
    if sys.argv[1] == "echo":
        uvloop.run(echo(Path(sys.argv[2])))
    else:
        uvloop.run(main(Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]),
                        int(sys.argv[4]) if len(sys.argv) > 4 else 0))
