"""Hub Commands as LIP requests: which OUTPUT line each capability command becomes.

Zones take ``#OUTPUT,id,1,level[,fade]`` for every absolute change (on, off, a level, a shade
position), which the repeater echoes as ``~OUTPUT,id,1,level``: those are confirmed by the echo and
coalesce per zone. Raise, lower and stop (OUTPUT actions 2, 3, 4) have no echo to wait for: they
end ``sent`` unless the repeater answers ~ERROR.
"""

from __future__ import annotations

from hubd.core.model import Capability, Command, validate_args
from radios.lutron.codec import LipMessage, OutputAction, output_action, output_set_level
from radios.lutron.devices import CAPABILITIES
from radios.lutron.session import Request
from radios.lutron.settings import LutronDeviceConfig

_ACTIONS: dict[str, OutputAction] = {
    "level.raise": OutputAction.START_RAISING,
    "level.lower": OutputAction.START_LOWERING,
    "level.stop": OutputAction.STOP,
    "shade.stop": OutputAction.STOP,
}

_FIXED_LEVELS: dict[str, float] = {
    "switch.on": 100.0,
    "switch.off": 0.0,
    "shade.open": 100.0,
    "shade.close": 0.0,
}


def build_request(command: Command, config: LutronDeviceConfig,
                  level_pct: float | None) -> Request:
    """The LIP request for a command; ValueError (with a reason for people) if there is none.

    ``level_pct`` is the zone's last known level (toggle needs it; None: unknown, toggle turns on).
    """
    if command.capability not in CAPABILITIES[config.kind]:
        raise ValueError(f"{config.name or config.integration_id} ({config.kind}) has no "
                         f"{command.capability}")
    args = validate_args(command.capability, command.name, command.args)
    name = command.qualified_name
    iid = config.integration_id
    fade_s: float | None = None
    if name in _ACTIONS:
        return Request(command.id, output_action(iid, _ACTIONS[name]), iid,
                       deadline=command.deadline)
    if name in _FIXED_LEVELS:
        level = _FIXED_LEVELS[name]
    elif name == "switch.toggle":
        level = 0.0 if level_pct else 100.0
    elif command.capability is Capability.LEVEL and command.name == "set":
        level = _number(args["level_pct"])
        transition = args.get("transition_s")
        fade_s = None if transition is None else _number(transition)
    elif name == "shade.set_position":
        level = _number(args["position_pct"])
    else:
        raise ValueError(f"Lutron zones cannot {name}")
    message: LipMessage = output_set_level(iid, level, fade_s)
    return Request(command.id, message, iid, expect_level_pct=round(level, 2),
                   deadline=command.deadline)


def _number(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"not a number: {value!r}")
    return float(value)
