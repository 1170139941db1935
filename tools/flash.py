"""Write a hub image to an SD card or USB stick with bmaptool, refusing disks that could be yours.

    python -m tools.flash build/image-amd64/hub-amd64.img.zst /dev/sdX

The target must be a whole disk that the kernel calls removable (or that sits on USB, or is an SD
card), with none of its partitions mounted. bmaptool then writes only the mapped blocks and checks
them against the .bmap next to the image.
"""

from __future__ import annotations

import argparse
import os
import stat
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path


class FlashRefused(Exception):
    """The target is not a disk this tool may overwrite."""


@dataclass(frozen=True, slots=True)
class Host:
    """Where to look: the real /sys and /proc, or a fake tree in tests."""

    sys_block: Path = Path("/sys/block")
    mountinfo: Path = Path("/proc/self/mountinfo")


def disk_name(target: Path) -> str:
    """``/dev/sdb`` → ``sdb``; refuses anything that is not a block device."""
    real = Path(os.path.realpath(target))
    try:
        mode = real.stat().st_mode
    except FileNotFoundError as exc:
        raise FlashRefused(f"{target}: no such device") from exc
    if not stat.S_ISBLK(mode):
        raise FlashRefused(f"{target}: not a block device")
    return real.name


def check_target(name: str, host: Host) -> None:
    """Raise FlashRefused unless disk name is whole, removable and unmounted."""
    disk = host.sys_block / name
    if not disk.is_dir():
        raise FlashRefused(f"{name}: not a whole disk (give /dev/sdX, not a partition)")
    removable = (disk / "removable").read_text().strip() == "1"
    on_usb = "/usb" in os.path.realpath(disk)
    device_type = disk / "device" / "type"
    is_sd = device_type.is_file() and device_type.read_text().strip() == "SD"
    if not (removable or on_usb or is_sd):
        raise FlashRefused(f"{name}: not a removable, USB or SD disk; refusing to overwrite it")
    parts = {name} | {p.name for p in disk.iterdir() if p.name.startswith(name)}
    for line in host.mountinfo.read_text().splitlines():
        # mountinfo(5): fields after " - " are fstype, mount source, options.
        tail = line.split(" - ", 1)[1].split() if " - " in line else []
        source = tail[1] if len(tail) > 1 else ""
        if source.startswith("/dev/") and Path(os.path.realpath(source)).name in parts:
            raise FlashRefused(f"{name}: {source} is mounted at {line.split()[4]}; unmount it")


def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(prog="tools.flash", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("image", type=Path)
    parser.add_argument("target", type=Path)
    parser.add_argument("--bmap", type=Path, help="default: the image's name with .bmap")
    args = parser.parse_args(argv)
    bmap = args.bmap or Path(str(args.image).removesuffix(".zst").removesuffix(".xz") + ".bmap")
    try:
        check_target(disk_name(args.target), Host())
    except FlashRefused as exc:
        print(f"flash: refused: {exc}", file=sys.stderr)
        return 2
    return subprocess.run(["bmaptool", "copy", "--bmap", str(bmap), str(args.image),
                           str(args.target)], check=False).returncode


if __name__ == "__main__":
    sys.exit(main())
