"""The boot env backends and the bootloader's choice."""

from __future__ import annotations

import shutil
import struct
import subprocess
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
        editenv(tmp_path / "grubenv", "create")
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


def editenv(path: Path, *args: str) -> str:
    """The real grub-editenv on path."""
    done = subprocess.run(["grub-editenv", str(path), *args], capture_output=True, text=True,
                          check=True, timeout=30)
    return done.stdout


needs_editenv = pytest.mark.skipif(shutil.which("grub-editenv") is None,
                                   reason="grub-common (grub-editenv) not installed")


@needs_editenv
def test_grub_env_and_grub_editenv_read_what_the_other_writes(tmp_path: Path) -> None:
    path = tmp_path / "grubenv"
    editenv(path, "create")
    editenv(path, "set", "saved_entry=0", "BOOT_ORDER=A B")
    env = GrubEnv(path)
    assert env.read() == {"saved_entry": "0", "BOOT_ORDER": "A B"}
    inode = path.stat().st_ino
    env.set(BootPlan(("B", "A"), {"A": 3, "B": 1}).values())
    # Rewritten in place: the same file, still one 1 KiB block, as GRUB's save_env needs.
    assert path.stat().st_ino == inode and path.stat().st_size == 1024
    assert editenv(path, "list").splitlines() == [
        "saved_entry=0", "BOOT_ORDER=B A", "BOOT_A_LEFT=3", "BOOT_B_LEFT=1"]
    editenv(path, "unset", "saved_entry")
    assert env.read() == {"BOOT_ORDER": "B A", "BOOT_A_LEFT": "3", "BOOT_B_LEFT": "1"}


@needs_editenv
def test_a_grub_env_that_would_overflow_its_block_is_left_as_it_was(tmp_path: Path) -> None:
    path = tmp_path / "grubenv"
    editenv(path, "create")
    GrubEnv(path).set({"BOOT_ORDER": "A"})
    before = path.read_bytes()
    with pytest.raises(UpdateError, match="bytes of 1024"):
        GrubEnv(path).set({"X": "y" * 1000})
    with pytest.raises(UpdateError, match="backslash"):
        GrubEnv(path).set({"X": "a\\b"})
    assert path.read_bytes() == before


@pytest.mark.parametrize("content", [b"", b"BOOT_ORDER=A\n", b"# GRUB Environment Block\n"])
def test_a_file_that_is_no_grub_env_block_is_refused(tmp_path: Path, content: bytes) -> None:
    (tmp_path / "grubenv").write_bytes(content)
    with pytest.raises(UpdateError, match="not a 1024-byte GRUB environment block"):
        GrubEnv(tmp_path / "grubenv").read()
    with pytest.raises(UpdateError, match="cannot read"):
        GrubEnv(tmp_path / "absent").read()


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
