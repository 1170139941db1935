"""The hub's configuration file: its sections as frozen dataclasses, and loading and checking it.

Every section has defaults, so an empty file is a valid configuration.
"""

from __future__ import annotations

import os
import re
import tomllib
import zoneinfo
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from hubd.config.convert import bounds, checked, from_table
from hubd.config.locate import find_line
from hubd.core.errors import ConfigError
from radios.lutron.settings import LutronSettings
from radios.virtual.settings import VirtualSettings
from radios.zigbee.settings import ZigbeeSettings


def default_state_dir() -> Path:
    """$STATE_DIRECTORY (set by systemd's StateDirectory=) if set, else ./state."""
    # systemd lists several directories separated by colons when several are configured.
    configured = os.environ.get("STATE_DIRECTORY", "").split(":")[0]
    return Path(configured) if configured else Path("state").absolute()


def _non_empty(text: str) -> None:
    if not text.strip():
        raise ValueError("must not be empty")


def _time_zone(name: str) -> None:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"{name!r} is not an IANA time zone name (like 'Europe/Paris' or "
                         "'UTC')") from exc


@dataclass(frozen=True, slots=True)
class HubSection:
    """``[hub]``: who the hub is and where it stands (for the sun and local time)."""

    name: str = field(default="hubd", metadata=checked(_non_empty))
    state_dir: Path = field(default_factory=default_state_dir)
    latitude: float = field(default=0.0, metadata=bounds(-90, 90))
    longitude: float = field(default=0.0, metadata=bounds(-180, 180))
    timezone: str = field(default="UTC", metadata=checked(_time_zone))
    elevation_m: float = field(default=0.0, metadata=bounds(-500, 9000))


class LogLevel(StrEnum):
    """How much the daemon logs."""

    DEBUG = "debug"
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class LogSection:
    """``[log]``."""

    level: LogLevel = LogLevel.INFO


@dataclass(frozen=True, slots=True)
class RulesSection:
    """``[rules]``: where rule files live and the engine's limits (DESIGN.md, "Rules")."""

    dir: Path | None = None  # None: no rule files
    catch_up_s: float = 300.0  # timers missed by less than this while down still run at boot
    max_depth: int = field(default=8, metadata=bounds(1, 100))
    storm_runs: int = field(default=20, metadata=bounds(1))
    storm_window_s: float = field(default=10.0, metadata=bounds(0.001))
    storm_cooldown_s: float = field(default=60.0, metadata=bounds(1.0))
    storm_cooldown_max_s: float = field(default=3600.0, metadata=bounds(1.0))


@dataclass(frozen=True, slots=True)
class RadiosConfig:
    """``[radios.*]``: one optional table per radio family; absent means not used."""

    virtual: VirtualSettings | None = None
    lutron: LutronSettings | None = None
    zigbee: ZigbeeSettings | None = None


@dataclass(frozen=True, slots=True)
class DeviceName:
    """``[[devices]]``: the name and room people gave a device (its id comes from its radio)."""

    id: str = field(metadata=checked(_non_empty))
    name: str = field(metadata=checked(_non_empty))
    room: str = ""


@dataclass(frozen=True, slots=True)
class StoreSection:
    """``[store]``: persistence."""

    write_interval_s: float = field(default=0.1, metadata=bounds(0.001, 60))


@dataclass(frozen=True, slots=True)
class HubConfig:
    """The whole configuration file."""

    hub: HubSection = field(default_factory=HubSection)
    log: LogSection = field(default_factory=LogSection)
    rules: RulesSection = field(default_factory=RulesSection)
    radios: RadiosConfig = field(default_factory=RadiosConfig)
    store: StoreSection = field(default_factory=StoreSection)
    devices: tuple[DeviceName, ...] = ()

    @property
    def database_path(self) -> Path:
        """Where the Store keeps its SQLite file."""
        return self.hub.state_dir / "hubd.sqlite3"


_TOML_POSITION = re.compile(r"\s*\((?:at line (\d+), column (\d+)|at end of document)\)$")


def parse_config(text: str, file: str) -> HubConfig:
    """The configuration in text (read from file, used in messages and for relative paths)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        match = _TOML_POSITION.search(message)
        if match is None:
            raise ConfigError(f"invalid TOML: {message}", file=file) from exc
        if match[1] is None:  # at end of document
            line, where = text.count("\n") + (not text.endswith("\n")), "at the end"
        else:
            line, where = int(match[1]), f"column {match[2]}"
        raise ConfigError(f"invalid TOML: {message[:match.start()]} ({where})", file=file,
                          line=line) from exc
    try:
        config = from_table(HubConfig, data, file=file, key="")
        _check_radios(config, file)
    except ConfigError as exc:
        if exc.line is None and exc.key:
            exc = ConfigError(exc.message, file=exc.file, key=exc.key,
                              line=find_line(text, exc.key))
        raise exc from exc.__cause__
    return config


def _check_radios(config: HubConfig, file: str) -> None:
    """What no single dataclass can see: device addresses that would collide."""
    virtual = config.radios.virtual
    if virtual is None:
        return
    seen: dict[str, int] = {}
    for n, device in enumerate(virtual.devices):
        if device.address in seen:
            raise ConfigError(f"address {device.address!r} is already used by "
                              f"radios.virtual.devices[{seen[device.address]}]", file=file,
                              key=f"radios.virtual.devices[{n}].address")
        seen[device.address] = n


def load_config(path: Path) -> HubConfig:
    """Read and check the configuration file at path."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read the file: {exc.strerror or exc}", file=str(path)) from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"not UTF-8 text: {exc.reason} at byte {exc.start}",
                          file=str(path)) from exc
    return parse_config(text, str(path))


def check_file(path: Path) -> HubConfig:
    """Load the file and check what the daemon will need from the disk (``hubd config check``)."""
    config = load_config(path)
    rules_dir = config.rules.dir
    if rules_dir is not None and not rules_dir.is_dir():
        text = path.read_text(encoding="utf-8")
        raise ConfigError(f"{rules_dir} is not a directory", file=str(path), key="rules.dir",
                          line=find_line(text, "rules.dir"))
    return config
