"""A unicast's data request written in the sender's turn (radios.zigbee.adapter.znp_send),
on the Z-Stack simulator over a pty with real zigpy-znp: one SREQ at a time, and zigpy-znp's
answers, errors, timeouts and route repair unchanged."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import zigpy.exceptions
import zigpy.types as zt
import zigpy_znp.commands as c
import zigpy_znp.types as znp_t
from zigpy.zcl.clusters.general import OnOff

from radios.zigbee.adapter import unicast
from radios.zigbee.adapter.znp_send import EagerZnpApi
from radios.zigbee.sim import Simulator, Status
from tests.radios.zigbee.conftest import Running, start_driver
from tests.radios.zigbee.test_driver import LIGHT, cmd
from tests.radios.zigbee.test_faults import LIGHT_2, assert_works, is_on
from tests.radios.zigbee.test_unicast import LIGHT_3, join_lights

_SREQ, _SRSP = 0x20, 0x60  # MT 2.1.1: the command type in cmd0's top three bits
_DATA_REQUEST_EXT = bytes((0x24, 0x02))  # MT AF 3.2.1.1: SREQ, AF; DataRequestExt


@dataclass
class Line:
    """What went over the host's side of the line, and which way each data request took."""

    events: list[str] = field(default_factory=list)
    eager: int = 0
    queued: int = 0


def _watch(z: Running) -> tuple[Any, Any, Line]:
    """The application and its MT API, with the host's writes and reads recorded."""
    adapter = z.driver.adapter
    assert adapter is not None and adapter.app is not None
    app: Any = adapter.app
    znp = app._znp
    assert isinstance(znp, EagerZnpApi)
    line = Line()
    write, received, request = znp._uart.write, znp.frame_received, znp.request_callback_rsp

    def on_write(data: bytes) -> None:
        if data[2] & 0xE0 == _SREQ:  # SOF, length, cmd0, cmd1
            line.events.append("DATA" if data[2:4] == _DATA_REQUEST_EXT else "SREQ")
        write(data)

    def on_frame(frame: Any) -> Any:
        if frame.header.cmd0 & 0xE0 == _SRSP:
            line.events.append("SRSP")
        return received(frame)

    def on_request(**kwargs: Any) -> Any:
        answer = request(**kwargs)
        if type(kwargs["request"]) is c.AF.DataRequestExt.Req:
            if inspect.iscoroutine(answer):
                line.queued += 1
            else:
                line.eager += 1
        return answer

    znp._uart.write, znp.frame_received = on_write, on_frame
    znp.request_callback_rsp = on_request  # type: ignore[method-assign]
    return app, znp, line


def _on_packet(app: Any, ieee: str) -> zt.ZigbeePacket:
    device = app.get_device(ieee=zt.EUI64.convert(ieee))
    cluster = device.endpoints[1].in_clusters[OnOff.cluster_id]
    tsn = device.get_sequence()
    return unicast.packet(app, cluster, tsn, unicast.frame(cluster, tsn, 0x01, ()))


async def _until(predicate: Callable[[], bool], timeout_s: float = 5.0) -> None:
    async with asyncio.timeout(timeout_s):
        while not predicate():  # noqa: ASYNC110 - the simulator and zigpy-znp have no event
            await asyncio.sleep(0.005)


async def _turns_on(z: Running, ieee: str) -> None:
    """The simulated light switches on (its frame is delivered after the confirm)."""
    await _until(lambda: is_on(z.sim, ieee), 2.0)


async def _line_free(znp: Any, line: Line | None = None) -> None:
    """Wait until no SREQ is outstanding or queued (onboarding reads, watchdog pings); the
    record starts afresh."""
    await _until(lambda: not znp._sync_request_lock.locked())
    if line is not None:
        line.events.clear()
        line.eager = line.queued = 0


async def test_the_request_is_on_the_line_in_the_senders_turn(zigbee: Running) -> None:
    await join_lights(zigbee, LIGHT)
    app, znp, line = _watch(zigbee)
    await _line_free(znp, line)
    sending = asyncio.ensure_future(app.send_packet(_on_packet(app, LIGHT)))
    await asyncio.sleep(0)  # one turn: the sender's first step, and nothing after it
    assert line.events == ["DATA"] and line.eager == 1
    await asyncio.wait_for(sending, 5)  # the SRSP and the AF.DataConfirm matched
    assert line.events[:2] == ["DATA", "SRSP"]
    await _turns_on(zigbee, LIGHT)


async def test_one_request_at_a_time_under_concurrent_commands(zigbee: Running) -> None:
    lights = (LIGHT, LIGHT_2, LIGHT_3)
    await join_lights(zigbee, *lights)
    _app, znp, line = _watch(zigbee)
    await _line_free(znp, line)
    commands = [cmd(ieee, verb) for verb in ("switch.on", "switch.off", "switch.on")
                for ieee in lights]
    results = await asyncio.gather(*(zigbee.driver.send(command) for command in commands))
    assert all(r.error is None for r in results), results
    assert all(is_on(zigbee.sim, ieee) for ieee in lights)
    # MT API 2.1.1: never a second SREQ before the first one's SRSP.
    requests = ["SREQ" if e == "DATA" else e for e in line.events]
    assert requests and requests == ["SREQ", "SRSP"] * (len(requests) // 2), requests
    # Both ways were taken: the first at once, the others behind it in zigpy-znp's queue.
    assert line.eager >= 1 and line.queued >= 1
    assert not znp._sync_request_lock.locked()


async def test_a_request_with_no_answer_times_out_and_frees_the_line(
        sim: Simulator, tmp_path: Path) -> None:
    # No watchdog ping while the coordinator is hung: it would (rightly) reconnect.
    zigbee = await start_driver(sim, tmp_path, watchdog_period_s=60.0)
    try:
        await join_lights(zigbee, LIGHT)
        _app, znp, line = _watch(zigbee)
        await _line_free(znp, line)
        device = zigbee.sim.device(LIGHT)
        zigbee.sim.hang()  # the coordinator answers nothing: no SRSP, no AF.DataConfirm
        request = c.AF.DataRequestExt.Req(
            DstAddrModeAddress=znp_t.AddrModeAddress(mode=znp_t.AddrMode.NWK,
                                                     address=device.nwk),
            DstEndpoint=1, DstPanId=0, SrcEndpoint=1, ClusterId=OnOff.cluster_id, TSN=0x42,
            Options=c.af.TransmitOptions.NONE, Radius=0, Data=b"\x01\x42\x01")
        try:
            answer = znp.request_callback_rsp(
                request=request, callback=c.AF.DataConfirm.Callback(partial=True, TSN=0x42),
                timeout=0.3, RspStatus=znp_t.Status.SUCCESS)
            assert line.eager == 1 and znp._sync_request_lock.locked()
            with pytest.raises(TimeoutError):
                await answer
        finally:
            zigbee.sim.hang(False)
        assert not znp._sync_request_lock.locked()
        assert not znp._listeners.get(c.AF.DataConfirm.Callback.header)
        await assert_works(zigbee)
    finally:
        await zigbee.stop()


async def test_a_refused_request_is_zigpy_znps_delivery_error(zigbee: Running) -> None:
    await join_lights(zigbee, LIGHT)
    app, znp, line = _watch(zigbee)
    await _line_free(znp, line)
    zigbee.sim.engine.is_started = False  # Z-Stack refuses data requests off a network
    try:
        with pytest.raises(zigpy.exceptions.DeliveryError) as failed:
            await app.send_packet(_on_packet(app, LIGHT))
    finally:
        zigbee.sim.engine.is_started = True
    assert failed.value.status == znp_t.Status.NWK_INVALID_REQUEST and line.eager == 1
    assert not znp._sync_request_lock.locked()
    await assert_works(zigbee)


async def test_no_route_is_repaired_and_retried(zigbee: Running) -> None:
    await join_lights(zigbee, LIGHT)
    app, znp, line = _watch(zigbee)
    await _line_free(znp, line)
    zigbee.sim.device(LIGHT).fail_next(Status.NWK_NO_ROUTE)
    seen = len(zigbee.sim.engine.requests_seen)
    await asyncio.wait_for(app.send_packet(_on_packet(app, LIGHT)), 10)
    # zigpy-znp's repair (a route discovery when its Z-Stack version has it, then a wait),
    # then the same request again, which got through.
    assert zigbee.sim.engine.requests_seen[seen:].count("AF.DataRequestExt") == 2
    assert line.eager == 2
    await _turns_on(zigbee, LIGHT)


async def test_a_caller_that_gives_up_leaves_the_answers_matched(zigbee: Running) -> None:
    await join_lights(zigbee, LIGHT, LIGHT_2)
    app, znp, line = _watch(zigbee)
    await _line_free(znp, line)
    zigbee.sim.faults.confirm_delay_s = 0.3
    try:
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.1):  # the caller's deadline, before the confirm
                await app.send_packet(_on_packet(app, LIGHT))
        assert line.eager == 1
        # The shielded request still takes its AF.DataConfirm: nothing is left listening.
        await _until(lambda: not znp._listeners.get(c.AF.DataConfirm.Callback.header), 2.0)
    finally:
        zigbee.sim.faults.confirm_delay_s = 0.0
    await assert_works(zigbee, LIGHT_2)
