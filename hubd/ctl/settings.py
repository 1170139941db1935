"""Where hubctl keeps the hub's address, pin and token: a JSON file, 0600, in the user's config
directory ($HUBCTL_CONFIG, else $XDG_CONFIG_HOME/hubctl/config.json, else ~/.config/...)."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from hubd.core.errors import ConfigError


class SettingsError(ConfigError):
    """The settings file cannot be read or written."""


@dataclass(frozen=True, slots=True)
class CtlSettings:
    """What hubctl remembers between runs."""

    url: str = ""
    pin_sha256: str = ""
    token: str = ""
    hub_id: str = ""
    events_seq: int | None = None  # where `hubctl events` resumes


def default_path() -> Path:
    """The settings file of this user."""
    explicit = os.environ.get("HUBCTL_CONFIG")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "hubctl" / "config.json"


def load(path: Path) -> CtlSettings:
    """The saved settings (empty ones if there is no file yet)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return CtlSettings()
    except (OSError, ValueError) as exc:
        raise SettingsError(f"cannot read: {exc}", file=str(path)) from exc
    if not isinstance(data, dict):
        raise SettingsError("not a settings object", file=str(path))
    known = {k: v for k, v in data.items() if k in CtlSettings.__dataclass_fields__}
    try:
        return CtlSettings(**known)
    except TypeError as exc:
        raise SettingsError(str(exc), file=str(path)) from exc


def save(path: Path, settings: CtlSettings) -> None:
    """Write the settings, 0600 from the first byte (the token is a secret), atomically."""
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        temp = path.with_name(path.name + ".tmp")
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(asdict(settings), out, indent=2)
        os.replace(temp, path)
    except OSError as exc:
        raise SettingsError(f"cannot write: {exc}", file=str(path)) from exc
