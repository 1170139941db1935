"""Run the EmberZNet NCP simulator by itself, for another host (zigbee-herdsman, bellows' CLI).

    python -m radios.zigbee.sim.ezsp --tcp 0            # socket://127.0.0.1:PORT (printed)
    python -m radios.zigbee.sim.ezsp --pty --devices 9  # a pty path (printed)

It prints ``ready <path>`` and serves until interrupted; the devices (the demo house's mix)
join when the host opens the network. ``--baud 115200`` emulates the serial line;
``--state FILE`` keeps the NCP's tokens and the devices across runs.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from pathlib import Path

from radios.zigbee.sim.demo import HOUSE_MIX, demo_ieee
from radios.zigbee.sim.ezsp.demo import demo_ncp
from radios.zigbee.sim.ezsp.simulator import EzspSimulator


def _say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


async def serve(args: argparse.Namespace) -> None:
    """Start the NCP on TCP or a pty, print where, and run until SIGINT or SIGTERM."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    if args.pty:
        async with demo_ncp(args.devices, state_path=args.state, baud_rate=args.baud) as house:
            _say(f"ready {house.path}")
            await stop.wait()
        return
    sim = EzspSimulator(baud_rate=args.baud)
    path = await sim.start_tcp(args.tcp)
    try:
        for index in range(1, args.devices + 1):
            sim.add_device(HOUSE_MIX[(index - 1) % len(HOUSE_MIX)], demo_ieee(index))
        _say(f"ready {path}")
        await stop.wait()
    finally:
        await sim.close()
        unknown = sim.unknown_requests
        if unknown:
            sys.stderr.write(f"unknown frames: {unknown!r}\n")


def main() -> None:
    """Parse the options and serve."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--tcp", type=int, default=0, help="TCP port on 127.0.0.1 (0: any)")
    where.add_argument("--pty", action="store_true", help="a pty instead of TCP")
    parser.add_argument("--devices", type=int, default=9, help="devices waiting to join")
    parser.add_argument("--baud", type=int, default=None, help="emulate a serial line")
    parser.add_argument("--state", type=Path, default=None, help="tokens file (pty only)")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(parser.parse_args()))


if __name__ == "__main__":
    main()
