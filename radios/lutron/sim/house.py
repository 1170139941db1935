"""What the simulated repeater controls: zones with fades, keypads with LEDs, occupancy groups.

State moves on an injectable clock: a fade is a straight line from the level at its start to its
target, so ``level_at(now)`` is exact at any time and nothing needs to tick while a light dims.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from radios.lutron.codec import OccupancyState
from radios.lutron.settings import LutronDeviceConfig, LutronKind

RAMP_PCT_PER_S = 20.0  # raise / lower: how fast a held dimmer moves (5 s from off to full)
MAIN_REPEATER_ID = 1  # RA2: the main repeater's phantom buttons are components 1-100 of id 1
PHANTOM_LED_OFFSET = 100  # RA2 main repeater: phantom button n has its LED at component 100 + n


@dataclass(slots=True)
class SimZone:
    """A dimmer, switch or shade: a level that may be fading."""

    integration_id: int
    name: str
    kind: LutronKind
    room: str = ""
    start_level: float = 0.0
    target: float = 0.0
    start_t: float = 0.0
    end_t: float = 0.0
    is_ramping: bool = False
    is_flashing: bool = False

    def level_at(self, now: float) -> float:
        """The level at a moment, on the fade's straight line."""
        if now <= self.start_t:
            return self.start_level
        if now >= self.end_t:
            return self.target
        share = (now - self.start_t) / (self.end_t - self.start_t)
        return self.start_level + (self.target - self.start_level) * share

    def fade_to(self, now: float, target: float, fade_s: float, delay_s: float = 0.0) -> None:
        """Start moving to ``target`` after ``delay_s``, taking ``fade_s``."""
        if self.kind is LutronKind.SWITCH:
            target = 100.0 if target > 0 else 0.0
            fade_s = 0.0
        self.start_level = self.level_at(now + delay_s)
        self.target = target
        self.start_t = now + delay_s
        self.end_t = self.start_t + max(0.0, fade_s)
        self.is_ramping = self.is_flashing = False

    def stop(self, now: float) -> float:
        """Freeze where it is now; returns that level."""
        level = round(self.level_at(now), 2)
        self.start_level = self.target = level
        self.start_t = self.end_t = now
        self.is_ramping = False
        return level


@dataclass(slots=True)
class SimKeypad:
    """A keypad, a Pico or the main repeater (phantom buttons): buttons and their LEDs."""

    integration_id: int
    name: str
    kind: LutronKind
    room: str = ""
    buttons: tuple[int, ...] = ()
    leds: dict[int, int] = field(default_factory=dict)  # component -> LED state
    is_repeater: bool = False


@dataclass(slots=True)
class SimGroup:
    """An occupancy group (reported under its area's integration id)."""

    integration_id: int
    name: str
    room: str = ""
    state: OccupancyState = OccupancyState.UNOCCUPIED


@dataclass(frozen=True, slots=True)
class PhantomPreset:
    """What a phantom button of the main repeater does: set zones to levels."""

    component: int
    name: str
    levels: tuple[tuple[int, float], ...]  # (zone id, level)


@dataclass(slots=True)
class House:
    """Everything the simulated repeater knows, by integration id."""

    zones: dict[int, SimZone] = field(default_factory=dict)
    keypads: dict[int, SimKeypad] = field(default_factory=dict)
    groups: dict[int, SimGroup] = field(default_factory=dict)
    presets: dict[int, PhantomPreset] = field(default_factory=dict)
    name: str = "hubd simulated house"

    @classmethod
    def from_devices(cls, devices: tuple[LutronDeviceConfig, ...],
                     presets: tuple[PhantomPreset, ...] = ()) -> House:
        """A house with these devices, plus the main repeater (id 1) and its phantom buttons."""
        house = cls()
        house.keypads[MAIN_REPEATER_ID] = SimKeypad(
            MAIN_REPEATER_ID, "Main repeater", LutronKind.KEYPAD, "Equipment room",
            tuple(p.component for p in presets), is_repeater=True)
        for preset in presets:
            house.presets[preset.component] = preset
        for d in devices:
            if d.integration_id in house.ids():
                raise ValueError(f"integration id {d.integration_id} is used twice")
            if d.kind in (LutronKind.DIMMER, LutronKind.SWITCH, LutronKind.SHADE):
                house.zones[d.integration_id] = SimZone(d.integration_id, d.name, d.kind, d.room)
            elif d.kind is LutronKind.OCCUPANCY:
                house.groups[d.integration_id] = SimGroup(d.integration_id, d.name, d.room)
            else:
                house.keypads[d.integration_id] = SimKeypad(d.integration_id, d.name, d.kind,
                                                            d.room, d.buttons)
        return house

    def ids(self) -> set[int]:
        """Every integration id in use."""
        return set(self.zones) | set(self.keypads) | set(self.groups)

    def led_components(self, keypad: SimKeypad) -> tuple[int, ...]:
        """LED component numbers: RA2 keypads 81+, the main repeater 101+ (phantom LEDs)."""
        offset = PHANTOM_LED_OFFSET if keypad.is_repeater else 80
        if keypad.kind is LutronKind.PICO:
            return ()
        return tuple(offset + b for b in keypad.buttons if b <= 20 or keypad.is_repeater)
