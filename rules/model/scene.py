"""Scenes: a named set of device states, applied together (by a rule's scene action or the API)."""

from __future__ import annotations

from dataclasses import dataclass

from hubd.core.model import Value
from rules.model.loc import Loc

__all__ = ["Scene", "SceneState"]


@dataclass(frozen=True, slots=True)
class SceneState:
    """One device's wanted state in a scene, as the command that makes it so."""

    loc: Loc
    device: str
    attribute: str
    value: Value


@dataclass(frozen=True, slots=True)
class Scene:
    """A named set of device states, applied together."""

    loc: Loc
    name: str
    states: tuple[SceneState, ...]
    transition_s: float | None = None
