"""The boot env backends and the bootloader's choice."""

from __future__ import annotations

import shutil
import struct
import zlib
from pathlib import Path

import pytest

from hubd.core.errors import UpdateError
from hubd.ota.bootenv import BootEnv, BootPlan, FileBootEnv, GrubEnv, UBootEnv, choose_slot

ENV_BYTES = 0x4000


def uboot_env(tmp_path: Path) -> UBootEnv:
    """A real libubootenv environment in a file: CRC32 then NUL-separated NAME=value."""
    data = b"bootdelay=1\0\0".ljust(ENV_BYTES - 4, b"\0")
    (tmp_path / "uboot.env").write_bytes(struct.pack("<I", zlib.crc32(data)) + data)
    config = tmp_path / "fw_env.config"
    config.write_text(f"{tmp_path / 'uboot.env'} 0x0 {ENV_BYTES:#x}\n")
    return UBootEnv(config)


def backends(tmp_path: Path) -> list[BootEnv]:
    found: list[BootEnv] = [FileBootEnv(tmp_path / "bootenv")]
    if shutil.which("fw_setenv"):
        found.append(uboot_env(tmp_path))
    if shutil.which("grub-editenv"):
        found.append(GrubEnv(tmp_path / "grubenv"))
    return found


def test_every_installed_backend_round_trips_a_plan(tmp_path: Path) -> None:
    if shutil.which("grub-editenv"):
        import subprocess
        subprocess.run(["grub-editenv", str(tmp_path / "grubenv"), "create"], check=True)
    for env in backends(tmp_path):
        env.set(BootPlan(("B", "A"), {"A": 3, "B": 3}).values())
        assert BootPlan.read(env) == BootPlan(("B", "A"), {"A": 3, "B": 3}), env
        assert [choose_slot(env) for _ in range(4)] == ["B", "B", "B", "A"], env
        assert BootPlan.read(env).left == {"A": 2, "B": 0}


@pytest.mark.skipif(shutil.which("fw_setenv") is None, reason="libubootenv-tool not installed")
def test_uboot_keeps_other_variables(tmp_path: Path) -> None:
    env = uboot_env(tmp_path)
    env.set({"BOOT_ORDER": "A B", "BOOT_A_LEFT": "3"})
    assert env.read() == {"bootdelay": "1", "BOOT_ORDER": "A B", "BOOT_A_LEFT": "3"}


def test_file_env_is_replaced_whole(tmp_path: Path) -> None:
    env = FileBootEnv(tmp_path / "bootenv")
    assert env.read() == {}
    env.set({"BOOT_ORDER": "A", "X": "1"})
    env.set({"BOOT_ORDER": "B A"})
    assert env.read() == {"BOOT_ORDER": "B A", "X": "1"}
    assert not (tmp_path / "bootenv.tmp").exists()


@pytest.mark.parametrize("bad", [{"BOOT ORDER": "A"}, {"BOOT_ORDER": "A\nX=1"}])
def test_values_that_would_corrupt_the_env_are_refused(tmp_path: Path,
                                                        bad: dict[str, str]) -> None:
    with pytest.raises(UpdateError):
        FileBootEnv(tmp_path / "bootenv").set(bad)


def test_garbage_counts_as_no_tries_and_the_fallback_boots(tmp_path: Path) -> None:
    env = FileBootEnv(tmp_path / "bootenv")
    env.set({"BOOT_ORDER": "B C A", "BOOT_A_LEFT": "x", "BOOT_B_LEFT": "-1"})
    assert BootPlan.read(env) == BootPlan(("B", "A"), {"A": 0, "B": 0})
    assert choose_slot(env) == "A"


def test_a_missing_tool_is_an_update_error(tmp_path: Path) -> None:
    with pytest.raises(UpdateError, match="failed"):
        UBootEnv(printenv="/nonexistent/fw_printenv").read()
