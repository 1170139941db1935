"""The Zigbee benchmark's coordinator: the Z-Stack simulator in a process of its own.

A real coordinator is separate hardware, so the simulator's CPU work (decoding the host's
requests, running the simulated devices, writing confirms) must not share the hub's process
or event loop. Run as ``python -m tools.bench.zigbee_sim --pairs N``: it powers up on a pty
with N contact sensors (odd addresses) and N on/off lights (even addresses) waiting for a
permit-join window, prints ``ready <pty path>``, then answers one line per command on stdin
(``--family ezsp``: the EmberZNet NCP simulator instead, for bellows):

    open I | close I   -> ``latency <seconds>``: door I's IAS zone notification handed to
                          the line -> the bytes holding the AF.DataRequest(Ext) to light I
                          read from it, both stamped here at the line (the simulator's own
                          encoding and decoding, a coordinator's firmware work, excluded)
    quiet <seconds>    -> ``ok`` once no request came for that long
    baud <rate>|off    -> ``ok``; the line emulation (the simulator's ``baud_rate``)
    unknown            -> ``unknown <count> <repr>``: requests the simulator did not implement
    quit               -> exits (so does end of input: the parent is gone)

Any failure is answered ``error <text>`` and the process keeps serving.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from radios.zigbee.sim import DeviceKind, SimDevice, Simulator
from radios.zigbee.sim.ezsp.simulator import EzspSimulator

ON_OFF_CLUSTER = 0x0006
REPLY_TIMEOUT_S = 10.0
LIFETIME_S = 300.0  # a safety net: the parent kills us long before


def ieee(n: int) -> str:
    """The IEEE address of simulated device n (door i is 2i+1, its light 2i+2)."""
    return f"00:0d:6f:00:00:00:{n >> 8:02x}:{n & 0xFF:02x}"


class Coordinator:
    """The simulator with its devices, and the stamps of the frames the lights receive."""

    def __init__(self, sim: Simulator | EzspSimulator, pairs: int) -> None:
        self.sim = sim
        self.doors: list[SimDevice] = []
        self._lights: dict[int, int] = {}  # id(light) -> pair index
        self._waiting: tuple[int, asyncio.Future[float]] | None = None
        self._in_at = 0.0
        self._out_at: float | None = None
        sim.line.on_bytes_in = self._bytes_in
        sim.line.on_bytes_out = self._bytes_out
        for n in range(pairs):
            self.doors.append(sim.add_device(DeviceKind.CONTACT_SENSOR, ieee(2 * n + 1)))
            self._watch(sim.add_device(DeviceKind.ON_OFF_LIGHT, ieee(2 * n + 2)), n)

    def _bytes_in(self, now: float) -> None:
        self._in_at = now

    def _bytes_out(self, now: float) -> None:
        if self._out_at is None:
            self._out_at = now

    def _sent_at(self) -> float:
        if self._out_at is None:
            raise RuntimeError("the light was asked before the door's frame went out")
        return self._out_at

    def _watch(self, light: SimDevice, index: int) -> None:
        """Stamp the moment the engine hands an On/Off request to this light."""
        original = light.handle_zcl

        def stamped(src_ep: int, dst_ep: int, cluster_id: int, data: bytes, *,
                    is_unicast: bool) -> None:
            read_at = self._in_at  # the bytes that carried this request left the line
            waiting = self._waiting
            if (waiting is not None and waiting[0] == index and cluster_id == ON_OFF_CLUSTER
                    and not waiting[1].done()):
                waiting[1].set_result(read_at)
            original(src_ep, dst_ep, cluster_id, data, is_unicast=is_unicast)

        light.handle_zcl = stamped  # type: ignore[method-assign]

    async def actuate(self, index: int, is_open: bool) -> float:
        """Seconds from the door's notification written to its light's request read."""
        future: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self._waiting = (index, future)
        try:
            self._out_at = None
            self.doors[index].open() if is_open else self.doors[index].close()
            read_at = await asyncio.wait_for(future, REPLY_TIMEOUT_S)
            return read_at - self._sent_at()
        finally:
            self._waiting = None

    async def quiet(self, quiet_s: float) -> None:
        """Wait until the host has sent nothing for ``quiet_s`` (start-up chatter is over)."""
        async with asyncio.timeout(30):
            while True:
                seen = len(self.sim.requests_seen)
                await asyncio.sleep(quiet_s)
                if len(self.sim.requests_seen) == seen:
                    return

    async def answer(self, line: str) -> str:
        """One command in, one reply out."""
        verb, _, arg = line.strip().partition(" ")
        if verb in ("open", "close"):
            return f"latency {await self.actuate(int(arg), verb == 'open')!r}"
        if verb == "quiet":
            await self.quiet(float(arg))
            return "ok"
        if verb == "baud":
            self.sim.baud_rate = None if arg == "off" else int(arg)
            return "ok"
        if verb == "unknown":
            unknown = self.sim.unknown_requests
            return f"unknown {len(unknown)} {unknown!r}"
        raise ValueError(f"unknown command {line.strip()!r}")


def _say(line: str) -> None:
    sys.stdout.write(line.replace("\n", " ") + "\n")
    sys.stdout.flush()


async def serve(pairs: int, family: str = "znp", lifetime_s: float = LIFETIME_S) -> None:
    """Power up, announce the pty, then answer commands until quit or end of input."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    sim: Simulator | EzspSimulator = EzspSimulator() if family == "ezsp" else Simulator()
    path = await sim.start_pty()
    try:
        coordinator = Coordinator(sim, pairs)
        _say(f"ready {path}")
        async with asyncio.timeout(lifetime_s):
            while (line := (await reader.readline()).decode()) and line.strip() != "quit":
                try:
                    _say(await coordinator.answer(line))
                except (ValueError, IndexError, TimeoutError) as exc:
                    _say(f"error {type(exc).__name__}: {exc}")
    finally:
        await sim.close()


def main() -> None:
    """Parse the device count and serve."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=100, help="contact sensor + light pairs")
    parser.add_argument("--family", choices=("znp", "ezsp"), default="znp",
                        help="the coordinator: TI Z-Stack (zigpy-znp) or EmberZNet (bellows)")
    parser.add_argument("--lifetime-s", type=float, default=LIFETIME_S,
                        help="exit after this long whatever happens (longer for A/B runs)")
    args = parser.parse_args()
    asyncio.run(serve(args.pairs, args.family, args.lifetime_s))


if __name__ == "__main__":
    main()
