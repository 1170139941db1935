"""A simulated TI Z-Stack 3.30 coordinator (ZNP) that unmodified zigpy-znp runs against.

Start it on a pty (zigpy opens ``sim.path``, a stable symlink to the pty slave) or on TCP
(``socket://127.0.0.1:PORT``)::

    async with Simulator() as sim:                 # or: await sim.start_tcp()
        sim.add_device(DeviceKind.CONTACT_SENSOR, "00:0d:6f:00:00:00:00:01")
        ... zigpy-znp ControllerApplication on sim.path, permit join: the device joins ...
        sim.device("00:0d:6f:00:00:00:00:01").open()   # -> IAS zone notification

zigpy config that keeps startup fast on a pty: ``znp_config: {connect_rts_pin_states: [],
connect_dtr_pin_states: []}`` (no modem-pin toggling, which a pty has no use for).

Physical hooks on ``sim.device(ieee)``: ``switch(on)``, ``open()``, ``close()``,
``motion(active)``, ``set_temperature(c)``, ``set_humidity(pct)``, ``set_battery(pct)``,
``set_power(watts)``, ``add_energy(kwh)``, ``set_lock(locked)``, ``jam()``,
``set_heating_setpoint(c)``, ``press(button, action)``, ``leave()``, ``rejoin()``.
Device kinds: see ``DeviceKind``. New devices wait for a permit-join window unless added with
``is_joined=True`` (then the network must be running).

Fault knobs: ``sim.unplug()`` / ``await sim.replug()``, ``sim.hang()``, ``sim.reset()``
(spontaneous SYS.ResetInd), ``sim.inject_garbage(b"...")``, ``sim.faults`` (late or missing
AF.DataConfirm, corrupted checksums, broadcast table size), per device
``fail_next(Status.MAC_NO_ACK)`` and ``is_silent = True``; ``Simulator(baud_rate=115200)``
(or ``sim.baud_rate = 115200`` at any time, ``None`` to turn it off) paces both directions at
10 bits per byte. Group-addressed frames reach every member endpoint (``sim.device(ieee)
.endpoint.groups``); ``sim.multicasts`` lists the group requests the coordinator sent.

Strictness: any MT request the simulator does not implement is answered with the RPC error
"command not recognized" and listed in ``sim.unknown_requests``; tests assert it stays empty.
The request sequence of zigpy-znp's startup is checked in as ``startup_requests.txt``.

Faithful to Z-Stack, not to one host: zigbee-herdsman (tools/secondhost) runs against it too.
ZDO requests work as AF frames to endpoint 0 (zigpy-znp) and as ZDO MT commands (herdsman);
answers come as ZDO.MsgCbIncoming (registered clusters) and as the per-cluster callbacks
(ZDO_DIRECT_CB), see zdo_mt.py; link keys and install codes: security.py.
"""

from radios.zigbee.sim.commands import ResetReason, Status
from radios.zigbee.sim.devices import SimDevice
from radios.zigbee.sim.kinds import DeviceKind, DeviceSpec
from radios.zigbee.sim.nvram import NvStore
from radios.zigbee.sim.simulator import Simulator
from radios.zigbee.sim.zstack import Faults, UnknownRequest, ZStack, ZStackConfig

__all__ = [
    "DeviceKind",
    "DeviceSpec",
    "Faults",
    "NvStore",
    "ResetReason",
    "SimDevice",
    "Simulator",
    "Status",
    "UnknownRequest",
    "ZStack",
    "ZStackConfig",
]
