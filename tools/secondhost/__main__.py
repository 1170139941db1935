"""Run zigbee-herdsman against a coordinator simulator and print what it saw, one JSON line each.

    python -m tools.secondhost                       # the ZNP simulator, a light and a sensor
    python -m tools.secondhost --adapter ember                # the EZSP simulator, the same two
    python -m tools.secondhost --adapter ember --path tcp://127.0.0.1:9999 --expect 2

Without ``--path`` the simulator of the adapter's family (ZNP for ``zstack``, EZSP for
``ember``) is started here on 127.0.0.1 with a light and a contact sensor, and the sensor is
opened when herdsman asks. With ``--path`` herdsman connects to a
simulator started elsewhere (an EZSP one, say); its devices must join at the permit-join window,
and a ``trigger`` line names the sensor the simulator must make act.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
from pathlib import Path

from radios.zigbee.sim import DeviceKind, Simulator, ZStackConfig
from radios.zigbee.sim.ezsp.ncp import NcpConfig
from radios.zigbee.sim.ezsp.simulator import EzspSimulator
from tools.secondhost.harness import HostRun, run_host


async def _run(args: argparse.Namespace, state_dir: Path) -> tuple[HostRun, list[str] | None]:
    """The host's run and the simulator's unknown requests (None: not our simulator)."""
    if args.path:
        run = await run_host(
            args.path, state_dir, adapter=args.adapter, expect_devices=args.expect,
            on_trigger=lambda ieee: None, timeout_s=args.timeout_s,
        )  # fmt: skip
        return run, None
    sim: Simulator | EzspSimulator
    if args.adapter == "ember":
        sim = EzspSimulator(NcpConfig(seed=args.seed))
    else:
        sim = Simulator(ZStackConfig(seed=args.seed))
    path = await sim.start_tcp()
    try:
        sim.add_device(DeviceKind.ON_OFF_LIGHT, "00:0d:6f:00:00:00:10:01")
        sim.add_device(DeviceKind.CONTACT_SENSOR, "00:0d:6f:00:00:00:10:02")
        run = await run_host(
            path, state_dir, adapter=args.adapter, expect_devices=2,
            on_trigger=lambda ieee: sim.device(ieee).open(), timeout_s=args.timeout_s,
        )  # fmt: skip
        if isinstance(sim, EzspSimulator):
            return run, [f"0x{u.frame_id:04x}" for u in sim.unknown_requests]
        return run, [u.name for u in sim.unknown_requests]
    finally:
        await sim.close()


def main() -> int:
    """Parse the arguments, run the host, print its events; the exit code is the host's."""
    parser = argparse.ArgumentParser(prog="python -m tools.secondhost", description=__doc__)
    parser.add_argument("--adapter", default="zstack", help="herdsman's adapter: zstack, ember")
    parser.add_argument("--path", help="a simulator already running: tcp://HOST:PORT")
    parser.add_argument("--expect", type=int, default=2, help="devices to wait for (--path)")
    parser.add_argument("--seed", type=int, default=13, help="the simulator's seed")
    parser.add_argument("--timeout-s", type=float, default=90.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="herdsman-") as state:
        run, unknown = asyncio.run(_run(args, Path(state)))
        for event in run.events:
            sys.stdout.write(json.dumps({"event": event.event, **event.fields}) + "\n")
        if unknown is not None:
            sys.stdout.write(json.dumps({"event": "simulator", "unknown_requests": unknown}) + "\n")
        if run.returncode != 0:
            sys.stderr.write(run.log_path.read_text(errors="replace")[-4000:])
    return run.returncode


if __name__ == "__main__":
    sys.exit(main())
