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

from hubd.api.settings import ApiSettings
from hubd.config.convert import bounds, checked, from_table
from hubd.config.locate import find_line
from hubd.core.errors import ConfigError, InvalidValueError
from hubd.ota.settings import UpdateSettings
from hubd.tunnel.settings import TunnelSettings
from radios.lutron.settings import LutronSettings
from radios.virtual.settings import VirtualSettings
from radios.zigbee.settings import ZigbeeSettings
from radios.zwave.settings import ZwaveSettings


def default_state_dir() -> Path:
    """$STATE_DIRECTORY (set by systemd's StateDirectory=) if set, else ./state."""
    # systemd lists several directories separated by colons when several are configured.
    configured = os.environ.get("STATE_DIRECTORY", "").split(":")[0]
    return Path(configured) if configured else Path("state").absolute()


def _non_empty(text: str) -> None:
    if not text.strip():
        raise InvalidValueError("must not be empty")


def _time_zone(name: str) -> None:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidValueError(f"{name!r} is not an IANA time zone name (like 'Europe/Paris' or "
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
    # Where `hubd provision` put the hub id and setup code (the image: /data/identity); the LAN
    # API then uses them. None: the API makes its own and keeps them in the store.
    identity_dir: Path | None = None


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
    # Loggers of libraries (zigpy, zigpy_znp, aiosqlite...) whose debug records are wanted too;
    # by default only hubd's own loggers go below info, the libraries' debug output is a flood.
    debug_loggers: tuple[str, ...] = ()


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
    zwave: ZwaveSettings | None = None


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
    tunnel: TunnelSettings | None = None  # ``[tunnel]``: the cloud tunnel; absent means none
    devices: tuple[DeviceName, ...] = ()
    api: ApiSettings | None = None  # ``[api]``: the LAN API; absent means not served
    update: UpdateSettings | None = None  # ``[update]``: bundles over the API and tunnel

    @property
    def database_path(self) -> Path:
        """Where the Store keeps its SQLite file."""
        return self.hub.state_dir / "hubd.sqlite3"


# A hub's configuration is a few KiB; a file much larger is a mistake (or an attack on tomllib,
# which parses nested arrays and tables by recursion).
MAX_CONFIG_BYTES = 1 << 20

_TOML_POSITION = re.compile(r"\s*\((?:at line (\d+), column (\d+)|at end of document)\)$")


def parse_config(text: str, file: str) -> HubConfig:
    """The configuration in text (read from file, used in messages and for relative paths)."""
    if len(text) > MAX_CONFIG_BYTES:
        raise ConfigError(f"the file is too large ({len(text)} characters; a configuration "
                          f"holds at most {MAX_CONFIG_BYTES})", file=file)
    try:
        data = tomllib.loads(text)
    except RecursionError as exc:
        raise ConfigError("invalid TOML: arrays or tables nested too deeply", file=file) from exc
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

