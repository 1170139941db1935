"""The updater on a real hub: boot env backend, booted slot, running version, hubd's health."""

from __future__ import annotations

import subprocess
from pathlib import Path

from hubd.core.errors import UpdateError
from hubd.ota.bootenv import SLOTS, BootEnv, FileBootEnv, GrubEnv, UBootEnv
from hubd.ota.bundle import Version, load_trusted_keys
from hubd.ota.config import BootEnvKind, UpdateConfig
from hubd.ota.install import Updater


def make_bootenv(config: UpdateConfig) -> BootEnv:
    """The backend config names."""
    match config.bootenv:
        case BootEnvKind.FILE:
            return FileBootEnv(config.bootenv_path)
        case BootEnvKind.UBOOT:
            return UBootEnv(config.bootenv_path)
        case BootEnvKind.GRUB:
            return GrubEnv(config.bootenv_path)


def booted_slot(config: UpdateConfig, cmdline: Path = Path("/proc/cmdline")) -> str:
    """The slot the bootloader started: config's booted_slot, else ``hubd.slot=`` on the cmdline."""
    if config.booted_slot:
        slot = config.booted_slot
    else:
        words = [w for w in cmdline.read_text().split() if w.startswith("hubd.slot=")]
        if not words:
            raise UpdateError(f"no hubd.slot= in {cmdline}: not booted by the hub's bootloader?")
        slot = words[-1].partition("=")[2]
    if slot not in SLOTS:
        raise UpdateError(f"booted slot {slot!r} is not one of {', '.join(SLOTS)}")
    return slot


def running_version(os_release: Path) -> Version:
    """IMAGE_VERSION= of os-release(5), which the image build writes."""
    for line in os_release.read_text().splitlines():
        key, _, value = line.partition("=")
        if key == "IMAGE_VERSION":
            return Version.parse(value.strip().strip('"'))
    raise UpdateError(f"{os_release} has no IMAGE_VERSION=")


def open_updater(config: UpdateConfig) -> Updater:
    """An Updater wired to this hub's boot env, keys, version and booted slot."""
    return Updater(config, make_bootenv(config), load_trusted_keys(config.keys_dir),
                   running_version(config.os_release), booted_slot(config))


def systemd_probe(unit: str) -> tuple[bool, int]:
    """(unit is active, its restart count) from systemctl; a failed query counts as down."""
    try:
        done = subprocess.run(
            ["systemctl", "show", "--property=ActiveState,NRestarts", unit],
            capture_output=True, text=True, timeout=10, check=True)
    except (OSError, subprocess.SubprocessError):
        return False, -1
    props = dict(line.split("=", 1) for line in done.stdout.splitlines() if "=" in line)
    restarts = props.get("NRestarts", "")
    return props.get("ActiveState") == "active", int(restarts) if restarts.isdigit() else -1
