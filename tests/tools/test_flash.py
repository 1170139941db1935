"""tools/flash refuses mounted and fixed disks (a fake /sys and mountinfo; no disk is touched)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tools.flash import FlashRefused, Host, check_target, disk_name, main

ROOT_MOUNT = "22 1 8:1 / / rw,relatime - ext4 /dev/sda1 rw\n"


def fake_host(tmp_path: Path, disks: dict[str, str], mounts: str = ROOT_MOUNT) -> Host:
    """disks: name → removable flag; sdb1 and sdb2 partitions under each disk."""
    block = tmp_path / "sys/block"
    for name, removable in disks.items():
        (block / name / f"{name}1").mkdir(parents=True)
        (block / name / f"{name}2").mkdir()
        (block / name / "removable").write_text(removable + "\n")
    (tmp_path / "mountinfo").write_text(mounts)
    return Host(block, tmp_path / "mountinfo")


def test_an_unmounted_removable_disk_is_accepted(tmp_path: Path) -> None:
    check_target("sdb", fake_host(tmp_path, {"sda": "0", "sdb": "1"}))


def test_a_fixed_disk_is_refused(tmp_path: Path) -> None:
    with pytest.raises(FlashRefused, match="not a removable"):
        check_target("sdc", fake_host(tmp_path, {"sdc": "0"}, ""))


def test_a_disk_with_a_mounted_partition_is_refused(tmp_path: Path) -> None:
    mounts = ROOT_MOUNT + "40 22 8:17 / /media/card rw - vfat /dev/sdb1 rw\n"
    with pytest.raises(FlashRefused, match="mounted at /media/card"):
        check_target("sdb", fake_host(tmp_path, {"sdb": "1"}, mounts))


def test_an_sd_card_on_mmc_is_accepted(tmp_path: Path) -> None:
    host = fake_host(tmp_path, {"mmcblk0": "0"}, "")
    (host.sys_block / "mmcblk0/device").mkdir()
    (host.sys_block / "mmcblk0/device/type").write_text("SD\n")
    check_target("mmcblk0", host)


def test_a_partition_is_refused(tmp_path: Path) -> None:
    with pytest.raises(FlashRefused, match="not a whole disk"):
        check_target("sdb1", fake_host(tmp_path, {"sdb": "1"}))


def test_a_regular_file_is_not_a_target(tmp_path: Path) -> None:
    (tmp_path / "disk.img").write_bytes(b"")
    with pytest.raises(FlashRefused, match="not a block device"):
        disk_name(tmp_path / "disk.img")
    assert main([str(tmp_path / "x.img.zst"), str(tmp_path / "disk.img")]) == 2
