"""The updater's settings: /etc/hubd/update.toml (image/overlay ships the hub's), parsed here."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, fields
from enum import StrEnum
from pathlib import Path
from typing import Any

from hubd.core.errors import ConfigError, InvalidValueError

DEFAULT_PATH = Path("/etc/hubd/update.toml")


class BootEnvKind(StrEnum):
    """Where the boot variables live."""

    FILE = "file"
    UBOOT = "uboot"
    GRUB = "grub"


@dataclass(frozen=True, slots=True)
class UpdateConfig:
    """Everything the updater needs to know about this hub; paths are absolute on a hub."""

    board: str
    slot_a: Path
    slot_b: Path
    # Bytes a slot holds; 0 = the size of the block device (a regular file needs a value).
    slot_size_bytes: int = 0
    bootenv: BootEnvKind = BootEnvKind.FILE
    # file: the variables file; grub: the grubenv block; uboot: fw_env.config (libubootenv).
    bootenv_path: Path = Path("/data/update/bootenv")
    keys_dir: Path = Path("/etc/hubd/update-keys")
    # update.json and the data snapshot live here, on the data partition.
    update_dir: Path = Path("/data/update")
    # hubd's state directory, snapshotted before an updated slot first runs hubd.
    data_dir: Path = Path("/var/lib/hubd")
    # The running image's version: IMAGE_VERSION= in this os-release(5) file.
    os_release: Path = Path("/etc/os-release")
    # "" = read hubd.slot= from /proc/cmdline (the bootloader sets it); containers name it here.
    booted_slot: str = ""
    tries: int = 3
    min_version: str = "0"
    healthy_for_s: float = 60.0
    health_timeout_s: float = 300.0
    health_unit: str = "hubd.service"

    def slot_path(self, slot: str) -> Path:
        """The device (or file) that holds slot A or B."""
        return {"A": self.slot_a, "B": self.slot_b}[slot]


def load_update_config(path: Path = DEFAULT_PATH) -> UpdateConfig:
    """Parse path; an unknown key or a wrong type is a ConfigError naming it."""
    try:
        data: dict[str, Any] = tomllib.loads(path.read_text())
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror}", file=str(path)) from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(exc), file=str(path)) from exc
    kinds = {f.name: f.type for f in fields(UpdateConfig)}
    values: dict[str, Any] = {}
    for key, raw in data.items():
        kind = kinds.get(key)
        if kind is None:
            raise ConfigError("unknown key", file=str(path), key=key)
        try:
            if kind == "Path":
                values[key] = Path(_text(raw))
            elif kind == "BootEnvKind":
                values[key] = BootEnvKind(raw)
            elif kind == "int":
                values[key] = _number(raw, int)
            elif kind == "float":
                values[key] = float(_number(raw, float))
            else:
                values[key] = _text(raw)
        except (TypeError, ValueError) as exc:
            raise ConfigError(str(exc), file=str(path), key=key) from exc
    missing = {"board", "slot_a", "slot_b"} - values.keys()
    if missing:
        raise ConfigError("required", file=str(path), key=sorted(missing)[0])
    return UpdateConfig(**values)


def _text(raw: object) -> str:
    if not isinstance(raw, str):
        raise InvalidValueError(f"expected a string, got {raw!r}")
    return raw


def _number(raw: object, kind: type) -> Any:
    if isinstance(raw, bool) or not isinstance(raw, int | float) or (
            kind is int and not isinstance(raw, int)):
        raise InvalidValueError(f"expected {kind.__name__}, got {raw!r}")
    return raw
