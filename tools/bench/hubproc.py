"""A `hubd run` process that a benchmark reaches as an app does: over TLS, paired as admin."""

from __future__ import annotations

import asyncio
import os
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import NamedTuple

import aiohttp


class PairedHub(NamedTuple):
    """The hub's API URL, a session to it, the admin token's headers, the process id."""

    url: str
    session: aiohttp.ClientSession
    headers: dict[str, str]
    pid: int


def free_port() -> int:
    """A TCP port on the loopback interface that nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _unverified_tls() -> ssl.SSLContext:
    # The hub's certificate is self-signed; an app pins it, the benchmark does not need to.
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    return context


@asynccontextmanager
async def paired_hub(config: Path, port: int) -> AsyncIterator[PairedHub]:
    """`hubd run --config config` serving its API on ``port``, up and paired with the button
    (`hubd pair-button`); terminated at the end."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "hubd", "run", "--config", str(config),
        env={**os.environ, "NOTIFY_SOCKET": ""})
    url = f"https://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(
                ssl=_unverified_tls(), limit=100)) as session:
            await _until_up(session, url)
            button = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "hubd", "pair-button", "--config", str(config),
                stdout=subprocess.DEVNULL)
            if await button.wait() != 0:
                raise RuntimeError("hubd pair-button failed")
            async with session.post(f"{url}/api/v1/pair",
                                    json={"client": "bench", "scope": "admin"}) as resp:
                token = (await resp.json())["token"]
            yield PairedHub(url, session, {"Authorization": f"Bearer {token}"}, proc.pid)
    finally:
        proc.terminate()
        await asyncio.wait_for(proc.wait(), 15)


async def _until_up(session: aiohttp.ClientSession, url: str) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            async with session.get(f"{url}/api/v1/info") as resp:
                if resp.status == 200:
                    return
        except aiohttp.ClientError:
            if time.monotonic() > deadline:
                raise
        await asyncio.sleep(0.2)
