"""Hold synthesis, sans-I/O: RadioRA 2 keypads and Picos send only press and release.

LIP's DEVICE actions 5 (hold) and 6 (multi-tap) are "not supported in RadioRA 2", so a button
still down ``hold_after_s`` after its press is reported as held, once; its release follows as a
plain release. A device that does send action 5 itself cancels the synthetic hold.
"""

from __future__ import annotations

ButtonKey = tuple[int, int]  # (integration id, component number)


class HoldTracker:
    """Which buttons are down, and when each one becomes a hold."""

    def __init__(self, hold_after_s: float) -> None:
        self.hold_after_s = hold_after_s
        self._due: dict[ButtonKey, float] = {}

    def press(self, key: ButtonKey, now: float) -> None:
        """A button went down."""
        self._due[key] = now + self.hold_after_s

    def release(self, key: ButtonKey) -> None:
        """A button came up (a hold that was due is no longer)."""
        self._due.pop(key, None)

    def native_hold(self, key: ButtonKey) -> None:
        """The device reported the hold itself."""
        self._due.pop(key, None)

    def poll(self, now: float) -> list[ButtonKey]:
        """Buttons that became holds by now; each is returned once."""
        held = [key for key, due in self._due.items() if now >= due]
        for key in held:
            del self._due[key]
        return held

    def next_deadline(self) -> float | None:
        """When the next hold becomes due."""
        return min(self._due.values(), default=None)

    def clear(self) -> None:
        """Forget every pressed button (the link dropped: releases will not come)."""
        self._due.clear()
