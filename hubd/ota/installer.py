"""The seam between the daemon's update service and whatever writes the slots.

hubd runs unprivileged on a hub: it cannot open the slot partitions nor write the boot
environment. There the installer is the root helper behind a unix socket
(``hubd.ota.remote.HelperInstaller`` talking to ``hubd.ota.helper``), which verifies every bundle
itself. In the tests, the demo, and wherever hubd may write the slots, the installer is the
updater in hubd's own process (``LocalInstaller``). Every method blocks (files, devices, a
socket): the service calls them in a thread.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from hubd.ota.bundle import Manifest
from hubd.ota.install import Installed, PhaseProgress, Updater
from hubd.ota.state import UpdateState


@dataclass(frozen=True, slots=True)
class InstallerInfo:
    """What the hub runs and what the updater remembers, as the update service shows it."""

    running_version: str
    booted_slot: str
    max_bundle_bytes: int  # the largest bundle the inactive slot can take
    last_event: dict[str, Any] | None  # the updater's last boot-time event
    committed_version: str | None  # an install committed but not booted yet

    def as_json(self) -> dict[str, Any]:
        """The wire form (hubd.ota.wire)."""
        return {"running_version": self.running_version, "booted_slot": self.booted_slot,
                "max_bundle_bytes": self.max_bundle_bytes, "last_event": self.last_event,
                "committed_version": self.committed_version}


class Installer(Protocol):
    """Installs bundles into the inactive slot; each call blocks."""

    def info(self) -> InstallerInfo:
        """The running version and slot, the size cap, the last event, a committed update."""
        ...

    def check_header(self, header: bytes) -> Manifest:
        """Refuse a bundle by its first bytes (signature, board, version, size) or pass it."""
        ...

    def install(self, bundle: Path, phases: PhaseProgress) -> Installed:
        """Verify, write, check and commit the bundle at bundle; raises with nothing booted."""
        ...


def info_of(updater: Updater) -> InstallerInfo:
    """An updater's view of the hub."""
    state = UpdateState.load(updater.state_path)
    pending = state.pending
    committed = None
    if pending is not None and pending.get("slot") != updater.booted:
        committed = str(pending.get("version", ""))
    return InstallerInfo(str(updater.running), updater.booted, updater.max_bundle_bytes(),
                         state.last_event, committed)


class LocalInstaller:
    """The updater in this process (hubd may write the slots: tests, demo, a developer's box)."""

    def __init__(self, open_updater: Callable[[], Updater]) -> None:
        # Opened per call: trusted keys rotated on disk take effect without a restart.
        self._open_updater = open_updater

    def info(self) -> InstallerInfo:
        """From update.json, the slots and os-release."""
        return info_of(self._open_updater())

    def check_header(self, header: bytes) -> Manifest:
        """Step 1 of the updater without the payload."""
        return self._open_updater().check_header(io.BytesIO(header))

    def install(self, bundle: Path, phases: PhaseProgress) -> Installed:
        """The updater's whole install, in this thread."""
        return self._open_updater().install(bundle, phases=phases)
