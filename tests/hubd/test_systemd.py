"""sd_notify over real AF_UNIX datagram sockets, and a watchdog that a blocked loop cannot feed."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from hubd.systemd import (
    Notifier,
    Verdict,
    WatchdogPacer,
    notify_address,
    watchdog_interval_s,
    watchdog_loop,
)


@pytest.fixture
def listener(tmp_path: Path) -> Iterator[tuple[socket.socket, str]]:
    """A datagram socket bound in tmp_path, standing in for systemd's notify socket."""
    path = str(tmp_path / "notify")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(2.0)
    yield sock, path
    sock.close()


def drain(sock: socket.socket) -> list[bytes]:
    """Every datagram waiting on the socket, without blocking."""
    got: list[bytes] = []
    sock.setblocking(False)
    try:
        while True:
            got.append(sock.recv(4096))
    except BlockingIOError:
        return got
    finally:
        sock.settimeout(2.0)


async def next_datagram(sock: socket.socket, timeout_s: float = 2.0) -> tuple[bytes, float]:
    """Wait, without blocking the loop, for the next datagram; return it and when it came."""
    loop = asyncio.get_running_loop()
    sock.setblocking(False)
    try:
        data = await asyncio.wait_for(loop.sock_recv(sock, 4096), timeout_s)
    finally:
        sock.settimeout(2.0)
    return data, time.monotonic()


# -- Notifier -----------------------------------------------------------------------------------


def test_path_socket_receives_each_message(listener: tuple[socket.socket, str]) -> None:
    sock, path = listener
    notifier = Notifier(path)
    assert notifier.is_enabled
    assert notifier.ready("3 radios up")
    assert sock.recv(4096) == b"READY=1\nSTATUS=3 radios up"
    assert notifier.status("zigbee:\nreconnecting")
    assert sock.recv(4096) == b"STATUS=zigbee: reconnecting"
    assert notifier.watchdog()
    assert sock.recv(4096) == b"WATCHDOG=1"
    assert notifier.stopping()
    assert sock.recv(4096) == b"STOPPING=1"
    assert notifier.ready()
    assert sock.recv(4096) == b"READY=1"
    assert notifier.extend_timeout(1.5)
    assert sock.recv(4096) == b"EXTEND_TIMEOUT_USEC=1500000"
    assert notifier.sent == 6
    notifier.close()


def test_reloading_carries_monotonic_usec(listener: tuple[socket.socket, str]) -> None:
    sock, path = listener
    notifier = Notifier(path)
    before_us = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
    notifier.reloading()
    first, second = sock.recv(4096).decode().split("\n")
    assert first == "RELOADING=1"
    key, value = second.split("=")
    assert key == "MONOTONIC_USEC" and int(value) >= before_us
    notifier.close()


def test_abstract_socket_gets_a_leading_nul() -> None:
    name = f"hubd-test-{os.getpid()}-{time.monotonic_ns()}"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(b"\0" + name.encode())
    sock.settimeout(2.0)
    try:
        notifier = Notifier.from_env({"NOTIFY_SOCKET": "@" + name})
        assert notifier.ready("up")
        assert sock.recv(4096) == b"READY=1\nSTATUS=up"
        notifier.close()
    finally:
        sock.close()


def test_default_is_this_process_environment(listener: tuple[socket.socket, str],
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    sock, path = listener
    monkeypatch.setenv("NOTIFY_SOCKET", path)
    notifier = Notifier()
    assert notifier.watchdog()
    assert sock.recv(4096) == b"WATCHDOG=1"
    notifier.close()
    monkeypatch.delenv("NOTIFY_SOCKET")
    assert not Notifier().is_enabled
    assert not Notifier("").is_enabled


def test_no_socket_is_a_logged_no_op(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="hubd.systemd")
    notifier = Notifier.from_env({})
    assert not notifier.is_enabled
    assert notifier.ready("up") is False
    assert "event=sd_notify_skipped" in caplog.text
    assert notifier.sent == 0


def test_vanished_socket_is_counted_not_raised(tmp_path: Path,
                                               caplog: pytest.LogCaptureFixture) -> None:
    notifier = Notifier(str(tmp_path / "gone"))
    assert notifier.watchdog() is False
    assert notifier.failed == 1
    assert "event=sd_notify_failed" in caplog.text
    notifier.close()


def test_notify_address_forms() -> None:
    assert notify_address("/run/systemd/notify") == "/run/systemd/notify"
    assert notify_address("@abc") == b"\0abc"
    assert notify_address("") is None
    assert notify_address(None) is None
    assert notify_address("vsock:2:1234") is None


# -- watchdog_interval_s ------------------------------------------------------------------------


def test_watchdog_interval_from_env() -> None:
    assert watchdog_interval_s({"WATCHDOG_USEC": "20000000"}) == 20.0
    assert watchdog_interval_s({"WATCHDOG_USEC": "20000000", "WATCHDOG_PID": "42"}, pid=42) == 20.0
    assert watchdog_interval_s({"WATCHDOG_USEC": "20000000", "WATCHDOG_PID": str(os.getpid())}
                               ) == 20.0


def test_watchdog_interval_absent_foreign_or_invalid() -> None:
    assert watchdog_interval_s({}) is None
    assert watchdog_interval_s({"WATCHDOG_USEC": "20000000", "WATCHDOG_PID": "41"}, pid=42) is None
    assert watchdog_interval_s({"WATCHDOG_USEC": "soon"}) is None
    assert watchdog_interval_s({"WATCHDOG_USEC": "0"}) is None


# -- WatchdogPacer (pure) -----------------------------------------------------------------------


def run_ticks(pacer: WatchdogPacer, lags_s: list[float]) -> list[Verdict]:
    """Feed wake-ups that ran late by these amounts; return the verdicts."""
    now = 0.0
    verdicts = []
    for lag in lags_s:
        scheduled = now + pacer.tick_s
        now = scheduled + lag
        verdicts.append(pacer.on_wake(scheduled, now))
    return verdicts


def test_healthy_loop_pings_every_half_interval() -> None:
    pacer = WatchdogPacer(20.0)
    assert pacer.tick_s == 2.5 and pacer.limit_s == 10.0
    verdicts = run_ticks(pacer, [0.001] * 8)
    assert verdicts == [Verdict.WAIT] * 3 + [Verdict.PING] + [Verdict.WAIT] * 3 + [Verdict.PING]
    assert pacer.pings == 2 and pacer.stalls == 0


def test_stall_beyond_half_interval_misses_the_ping_and_starts_a_new_window() -> None:
    pacer = WatchdogPacer(20.0)
    verdicts = run_ticks(pacer, [0.0, 0.0, 10.5, 0.0, 0.0, 0.0, 0.0])
    assert verdicts == [Verdict.WAIT, Verdict.WAIT, Verdict.STALL,
                        Verdict.WAIT, Verdict.WAIT, Verdict.WAIT, Verdict.PING]
    assert pacer.stalls == 1 and pacer.last_stall_lag_s == 10.5 and pacer.max_lag_s == 10.5


def test_lag_adds_up_within_a_window() -> None:
    # Four hiccups of 3 s each: no single one is a stall, but the window ran 22 s, past the limit.
    pacer = WatchdogPacer(20.0)
    assert run_ticks(pacer, [3.0, 3.0, 3.0, 3.0]) == [Verdict.WAIT] * 3 + [Verdict.STALL]


def test_lag_within_limit_still_pings() -> None:
    pacer = WatchdogPacer(20.0)
    assert run_ticks(pacer, [2.0, 2.0, 2.0, 2.0]) == [Verdict.WAIT] * 3 + [Verdict.PING]


def test_pacer_rejects_a_nonpositive_interval() -> None:
    with pytest.raises(ValueError, match="positive"):
        WatchdogPacer(0.0)


async def test_watchdog_loop_refuses_a_pacer_of_another_interval() -> None:
    with pytest.raises(ValueError, match=r"pacer paces 20\.0 s"):
        await watchdog_loop(Notifier(""), 10.0, pacer=WatchdogPacer(20.0))


# -- watchdog_loop on a real loop and socket ----------------------------------------------------


async def test_watchdog_loop_pings_while_the_loop_is_healthy(
        listener: tuple[socket.socket, str]) -> None:
    sock, path = listener
    notifier = Notifier(path)
    pacer = WatchdogPacer(0.2)
    task = asyncio.create_task(watchdog_loop(notifier, 0.2, pacer=pacer))
    try:
        stamps = [await next_datagram(sock) for _ in range(3)]
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        notifier.close()
    assert [data for data, _ in stamps] == [b"WATCHDOG=1"] * 3
    assert pacer.pings >= 2
    # Each ping certifies a window of at least half the interval.
    assert stamps[2][1] - stamps[1][1] >= 0.1 - 0.01


async def test_blocked_loop_misses_its_ping(listener: tuple[socket.socket, str],
                                            caplog: pytest.LogCaptureFixture) -> None:
    sock, path = listener
    notifier = Notifier(path)
    pacer = WatchdogPacer(0.2)
    task = asyncio.create_task(watchdog_loop(notifier, 0.2, pacer=pacer))
    try:
        await next_datagram(sock)  # the ping at start: the loop is running
        assert drain(sock) == []
        time.sleep(0.15)  # noqa: ASYNC251 -- blocking the loop on purpose, longer than half WatchdogSec
        unblocked_at = time.monotonic()
        # Once unblocked, a naive pinger would send the overdue ping straight away; this one
        # must first see a clean window of half the interval.
        data, got_at = await next_datagram(sock)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        notifier.close()
    assert data == b"WATCHDOG=1"
    assert got_at - unblocked_at >= 0.1
    assert pacer.stalls >= 1  # a loaded CI machine may add stalls of its own
    assert pacer.max_lag_s > 0.1
    assert "event=loop_stall lag_s=" in caplog.text
    assert "ping=missed" in caplog.text
