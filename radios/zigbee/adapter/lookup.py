"""zigpy's device lookup by NWK address answered from an index instead of a scan.

zigpy's ``ControllerApplication.get_device(nwk=...)`` walks every device it knows, because a
device's NWK address can change at run time. zigpy calls it for every frame received and
zigpy-znp for every frame sent, so in a house of 200 devices each frame paid for a scan of up to
200. The adapter already keeps its interviewed devices by NWK address (the packet entry tracks
them at each attach); this answers from that index when the answer still holds (the device
still has that address and is still zigpy's device for its IEEE address), and asks zigpy's own
scan otherwise, so the answer is zigpy's in every case.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import zigpy.application
import zigpy.device


def index_by_nwk(app: zigpy.application.ControllerApplication,
                 known: Mapping[int, zigpy.device.Device]) -> Callable[[], None]:
    """Answer ``app.get_device(nwk=...)`` from ``known`` when it holds; returns what undoes it."""
    scan = app.get_device
    devices = app.devices

    def get_device(ieee: Any = None, nwk: Any = None) -> Any:
        if ieee is None and nwk is not None:
            device = known.get(int(nwk))
            if device is not None and device.nwk == nwk and devices.get(device.ieee) is device:
                return device
        return scan(ieee=ieee, nwk=nwk)

    app.get_device = get_device  # type: ignore[method-assign]

    def release() -> None:
        app.__dict__.pop("get_device", None)

    return release
