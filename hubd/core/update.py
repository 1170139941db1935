"""What an update install looks like from outside: the status the LAN API and the tunnel show.

The update service (hubd.ota.service) keeps it; the API and the tunnel read it through their
ports, so this value lives in the core that all three import.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hubd.core.events import UpdatePhase


@dataclass(frozen=True, slots=True)
class UpdateStatus:
    """What runs, and how the last install (or the one under way) goes."""

    running_version: str
    booted_slot: str
    phase: UpdatePhase
    version: str  # the bundle's version ("" until its manifest is read)
    done_bytes: int
    total_bytes: int
    reason: str  # why it failed ("" unless phase is failed)
    is_busy: bool  # an install is under way: another one gets UpdateBusyError
    max_bundle_bytes: int  # the largest bundle the inactive slot can take
    last_event: dict[str, Any] | None  # the updater's last boot-time event (marked good...)

    def as_json(self) -> dict[str, Any]:
        """The status as a JSON object (the same for the API and the tunnel)."""
        return {"running_version": self.running_version, "booted_slot": self.booted_slot,
                "phase": str(self.phase), "version": self.version,
                "done_bytes": self.done_bytes, "total_bytes": self.total_bytes,
                "reason": self.reason, "is_busy": self.is_busy,
                "max_bundle_bytes": self.max_bundle_bytes, "last_event": self.last_event}
