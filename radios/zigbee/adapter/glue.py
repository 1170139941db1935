"""Small translations between zigpy and hubd: configuration, values, errors, reset detection."""

from __future__ import annotations

import asyncio
import contextlib
import enum
import os
import secrets
import tempfile
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import voluptuous as vol
import zigpy.application
import zigpy.exceptions
import zigpy.types
from zigpy.zcl import Cluster, foundation

from hubd.core.errors import ConfigError
from hubd.core.model import Value
from radios.zigbee.settings import FlowControl, RadioType, ZigbeeSettings

# The PAN IDs hubd forms a network with, the top ones kept clear (0xFFFE and 0xFFFF mean "no
# PAN" and "every PAN").
PAN_IDS = range(0x0001, 0xFFF8)


def app_class(radio_type: RadioType) -> type[zigpy.application.ControllerApplication]:
    """The ControllerApplication of the radio library for this radio type."""
    # Imported on demand: each radio library costs memory and only one is ever used.
    if radio_type is RadioType.EZSP:
        from bellows.zigbee.application import ControllerApplication as Ezsp

        return Ezsp  # type: ignore[no-any-return]
    from radios.zigbee.adapter.znp import SyncZnp

    return SyncZnp


def zigpy_config(settings: ZigbeeSettings, database_path: Path) -> dict[str, Any]:
    """zigpy's configuration for these settings: OTA off, our database, our timeouts."""
    flow = None if settings.flow_control is FlowControl.NONE else str(settings.flow_control)
    # zigpy reads the PAN ID only when it forms a network. Left to itself it draws one from
    # 0x0001-0xFFFF, and about 1 time in 32,768 gets 0xFFFF (IEEE 802.15.4's broadcast PAN) or
    # 0xFFFE, which Z-Stack's network information base holds until a network is up: zigpy-znp
    # then waits for it to change, forever (hubd's start bound turns that into a retry).
    network: dict[str, Any] = {"pan_id": secrets.choice(PAN_IDS)}
    if settings.channel is not None:
        network |= {"channel": settings.channel, "channels": [settings.channel]}
    config: dict[str, Any] = {
        "device": {"path": settings.path, "baudrate": settings.baudrate, "flow_control": flow},
        "database_path": str(database_path),
        "network": network,
        # No internet from the hub: no OTA providers, no image broadcasts.
        "ota": {"enabled": False, "broadcast_enabled": False, "providers": [],
                "extra_providers": []},
        "topology_scan_enabled": settings.topology_scan,
        "backup_enabled": True,
        "watchdog_enabled": True,
    }
    if settings.radio_type is RadioType.EZSP:
        # bellows by default reads the line in a thread with a loop of its own: every frame then
        # crosses threads (and waits for the GIL) twice. hubd's loop never blocks, so the line is
        # read in it, as zigpy-znp's is.
        config["use_thread"] = False
    if settings.radio_type is RadioType.ZNP:
        config["znp_config"] = {
            "sync_request_timeout": settings.request_timeout_s,
            "async_response_timeout": settings.callback_timeout_s,
            "skip_bootloader": settings.skip_bootloader,
        }
    return config


def validate_config(settings: ZigbeeSettings, database_path: Path) -> dict[str, Any]:
    """The zigpy configuration, checked by zigpy's own schema; ConfigError says what is wrong."""
    if not settings.path:
        raise ConfigError("the coordinator's serial path is missing", key="radios.zigbee.path")
    if settings.backoff_min_s <= 0 or settings.backoff_max_s < settings.backoff_min_s:
        raise ConfigError("need 0 < backoff_min_s <= backoff_max_s", key="radios.zigbee")
    config = zigpy_config(settings, database_path)
    try:
        app_class(settings.radio_type).SCHEMA(config)
    except vol.Invalid as exc:
        raise ConfigError(f"zigpy rejects the settings: {exc}", key="radios.zigbee") from exc
    return config


def secure_file(path: Path) -> None:
    """Create the file (and its directory) if needed and make it readable by the owner only.

    SQLite gives its -wal and -shm files the mode of the database file, so the network key in
    zigpy's backups never lands in a world-readable file.
    """
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o600)
    os.close(fd)
    for candidate in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        if candidate.exists():
            os.chmod(candidate, 0o600)


def write_private(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` durably, readable by the owner only (blocking: a thread).

    A fresh temporary file (O_EXCL, 0600) in the same directory, so a stale or planted
    ``.tmp`` is never reused or left world-readable; its data reaches the disk (fsync) before
    the rename, and the rename reaches the disk (fsync of the directory) before we return,
    so a power cut leaves the old backup or the new one, never an empty file.
    """
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def plain(value: Any) -> Value:
    """A zigpy value as a plain Python value (enums and bitmaps become ints)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, enum.Enum) and isinstance(value.value, int):
        return int(value.value)
    if isinstance(value, float):
        return value
    if isinstance(value, str):
        return str(value)
    return None


# Z-Stack statuses of AF.DataConfirm, in words (TI Z-Stack Monitor and Test API, ZStatus_t).
_DELIVERY_WORDS = {
    0xB7: "no ack from the device (APS)",
    0xE9: "no ack from the device (MAC)",
    0xCD: "no route to the device",
    0xF0: "the device did not poll for its message (transaction expired)",
    0xE1: "the channel is busy (MAC channel access failure)",
    0x11: "the coordinator's buffers are full",
    0xC7: "the coordinator's tables are full",
}


def delivery_words(exc: zigpy.exceptions.ZigbeeException) -> str:
    """Why a frame did not get through, for people."""
    status = getattr(exc, "status", None)
    if status is not None:
        try:
            code = int(status)
        except (TypeError, ValueError):
            code = -1
        words = _DELIVERY_WORDS.get(code)
        if words is not None:
            return words
        name = getattr(status, "name", None) or f"status 0x{code:02x}"
        return f"delivery failed: {name}"
    return f"delivery failed: {exc}"


class ResetWatch:
    """A listener on SYS.ResetInd that can be cancelled."""

    def __init__(self, znp: Any, listener: Any) -> None:
        self._znp, self._listener = znp, listener

    def cancel(self) -> None:
        """Stop watching."""
        self._znp.remove_listener(self._listener)


def watch_coordinator_reset(app: zigpy.application.ControllerApplication,
                            on_reset: Callable[[], None]) -> ResetWatch | None:
    """Call on_reset when a running Z-Stack announces a reset nobody asked for.

    zigpy-znp waits for SYS.ResetInd only around its own SYS.ResetReq; an unsolicited one (a
    watchdog reboot, a brown-out) reaches no listener and is only logged, while the stack lost
    its endpoints and state. Registered after startup, this listener sees exactly those.
    """
    import zigpy_znp.commands as c

    znp = getattr(app, "_znp", None)
    if znp is None:
        return None
    listener = znp.callback_for_response(c.SYS.ResetInd.Callback(partial=True),
                                         lambda _msg: on_reset())
    return ResetWatch(znp, listener)



class DefaultResponseHold:
    """Send zigpy's Default Responses a little late, so a rule's command goes out first.

    zigpy answers a device's frame with a Default Response (ZCL 2.5.12) queued before our
    listeners even hear the frame, and Z-Stack takes one SREQ at a time (MT API 2.1.1), so the
    command a rule sends in reaction would wait behind it: one more AF.DataRequestExt and its
    SRSP on the serial line (about 3 ms at 115200 baud) plus the coordinator's turnaround. A
    device does not wait for the Default Response (the APS ack, sent by the coordinator's
    firmware, is its delivery check), so answering a few milliseconds later changes nothing
    for it. The hold is a timer, not a task: nothing queues on the device's request limiter.
    """

    def __init__(self, hold_s: float) -> None:
        self._hold_s = hold_s
        self._handles: set[asyncio.TimerHandle] = set()

    @property
    def pending(self) -> int:
        """Default Responses waiting for their turn."""
        return len(self._handles)

    def install(self, cluster: Cluster) -> Callable[[], None]:
        """Hold this cluster's Default Responses; returns what undoes it."""
        send = cluster.send_default_rsp

        def held(hdr: foundation.ZCLHeader,
                 status: foundation.Status = foundation.Status.SUCCESS) -> None:
            def fire() -> None:
                self._handles.discard(handle)
                send(hdr, status)

            handle = asyncio.get_running_loop().call_later(self._hold_s, fire)
            self._handles.add(handle)

        cluster.send_default_rsp = held  # type: ignore[method-assign]

        def release() -> None:
            cluster.__dict__.pop("send_default_rsp", None)  # zigpy's own method again

        return release

    def cancel(self) -> None:
        """Drop what is still held (the session is ending)."""
        for handle in self._handles:
            handle.cancel()
        self._handles.clear()


def gate_device_frames(app: zigpy.application.ControllerApplication,
                       allow: Callable[[int], bool],
                       expect: Callable[[int], None]) -> Callable[[], None] | None:
    """Drop device frames (``AF.IncomingMsg``, MT AF 3.2.1.3) that ``allow()`` refuses, before
    zigpy-znp parses them, spawns a task for them and zigpy answers and stores them.

    ``allow`` gets the sender's network address. Only device data is gated: the coordinator's
    answers (SRSPs, confirms) and ZDO traffic
    always pass, so the link and joins work through any flood. ``expect`` gets the network
    address of every device a unicast packet is sent to (hubd's commands and zigpy's own
    requests alike), before it is sent: its answer is paid for. Returns what undoes it (None
    for radio libraries other than zigpy-znp).
    """
    import zigpy_znp.commands as c

    znp = getattr(app, "_znp", None)
    if znp is None:
        return None
    received = znp.frame_received
    previous = znp.__dict__.get("frame_received")  # the packet entry's, if it is there
    incoming = c.AF.IncomingMsg.Callback.header

    def gated(frame: Any) -> bool | None:
        # AF.IncomingMsg: GroupId (2), ClusterId (2), SrcAddr (2, little-endian), ...
        if frame.header == incoming and not allow(int.from_bytes(frame.data[4:6], "little")):
            return False
        return received(frame)  # type: ignore[no-any-return]

    znp.frame_received = gated
    send_packet = app.send_packet
    previous_send = app.__dict__.get("send_packet")  # one installed before, if any

    def paid(packet: zigpy.types.ZigbeePacket) -> Coroutine[Any, Any, None]:
        dst = packet.dst
        if dst is not None and dst.addr_mode == zigpy.types.AddrMode.NWK:
            expect(int(dst.address))  # type: ignore[arg-type]  # an NWK when the mode is NWK
        return send_packet(packet)  # no coroutine of our own on the path of every command

    app.send_packet = paid  # type: ignore[method-assign]

    def release() -> None:
        if previous is None:
            znp.__dict__.pop("frame_received", None)
        else:
            znp.frame_received = previous
        if previous_send is None:
            app.__dict__.pop("send_packet", None)  # zigpy-znp's own method again
        else:
            app.send_packet = previous_send  # type: ignore[method-assign]

    return release
