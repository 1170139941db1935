"""The pairing button: ``hubd pair-button`` (or the image's input handler) presses it.

A press is one datagram on a Unix socket in the API's state directory. The socket is 0600 and
its directory 0700, so only the hub's user (and root) can press: the same trust as the hub's
physical button, which the image maps to this command.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from collections.abc import Callable
from pathlib import Path

from hubd.core.errors import TransientError

SOCKET_NAME = "pair-button.sock"


class _Press(asyncio.DatagramProtocol):
    def __init__(self, on_press: Callable[[], None]) -> None:
        self._on_press = on_press

    def datagram_received(self, data: bytes, addr: object) -> None:
        if data.strip() == b"press":
            self._on_press()


def _bind(path: Path) -> socket.socket:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    old = os.umask(0o177)  # the socket file is born 0600
    try:
        sock.bind(str(path))
    finally:
        os.umask(old)
    return sock


async def listen(directory: Path, on_press: Callable[[], None]) -> None:
    """Call on_press for each press until cancelled."""
    path = directory / SOCKET_NAME
    sock = _bind(path)
    transport, _ = await asyncio.get_running_loop().create_datagram_endpoint(
        lambda: _Press(on_press), sock=sock)
    try:
        await asyncio.Event().wait()
    finally:
        transport.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)


def press(directory: Path) -> None:
    """Press the button of the hub whose API state lives in directory."""
    path = directory / SOCKET_NAME
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        try:
            sock.sendto(b"press", str(path))
        except OSError as exc:
            raise TransientError(f"{path}: no hub is listening ({exc.strerror or exc}); is "
                                 "hubd running with the [api] section?") from exc
