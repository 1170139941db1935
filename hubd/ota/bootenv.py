"""The boot environment: which root slot the bootloader tries, in what order, how many times.

Variables (the names RAUC uses, so U-Boot and GRUB scripts written for it read them as they are):

    BOOT_ORDER    slots to try, first first: "A B"
    BOOT_A_LEFT   boots slot A may still attempt before the bootloader skips it
    BOOT_B_LEFT

The bootloader (image/boot/grub.cfg and boot.cmd; ``choose_slot`` here is the same algorithm, which
the tests run as the bootloader) takes the first slot of BOOT_ORDER whose counter is above zero,
decrements that counter, saves the environment and boots the slot with ``hubd.slot=X`` on the
kernel command line. A booted slot that proves healthy resets its counter (mark good); a slot that
never does runs out of tries and the next slot of BOOT_ORDER boots: that is the rollback. If no
slot has tries left, the last slot of BOOT_ORDER (the fallback) boots without counting.

Every ``set`` is one atomic write of all the variables it names, so an update's commit point (new
order and a fresh counter together) is a single write: a file renamed into place, one
``fw_setenv --script`` (U-Boot writes its redundant copy with a flag flip), or one
write of GRUB's 1 KiB block over itself (as GRUB's save_env does).
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from hubd.core.errors import UpdateError

SLOTS = ("A", "B")


class BootEnv(Protocol):
    """Reads and atomically writes bootloader variables."""

    def read(self) -> dict[str, str]:
        """Every variable, as text."""
        ...

    def set(self, values: Mapping[str, str]) -> None:
        """Set all of values in one atomic write."""
        ...


def _check(values: Mapping[str, str]) -> None:
    for name, value in values.items():
        # A value may hold "=" (every backend splits a line at its first one), not a newline.
        if not name.isidentifier() or any(c in value for c in "\n\0"):
            raise UpdateError(f"boot variable {name}={value!r} cannot be stored")


class FileBootEnv:
    """``NAME=value`` lines in a file, replaced by rename: the tests' and containers' backend."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def read(self) -> dict[str, str]:
        """Every variable, as text; an absent file is an empty environment."""
        try:
            text = self.path.read_text()
        except FileNotFoundError:
            return {}
        return dict(line.split("=", 1) for line in text.splitlines() if "=" in line)

    def set(self, values: Mapping[str, str]) -> None:
        """Write the merged environment to a temporary file, fsync it, rename it over the old."""
        _check(values)
        merged = self.read() | dict(values)
        tmp = self.path.with_name(self.path.name + ".tmp")
        with open(tmp, "w") as out:
            out.write("".join(f"{k}={v}\n" for k, v in sorted(merged.items())))
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, self.path)
        directory = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)


def _run(argv: list[str], stdin: str | None = None) -> str:
    try:
        done = subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=30,
                              check=True)
    except (OSError, subprocess.SubprocessError) as exc:
        raise UpdateError(f"{argv[0]} failed: {exc}") from exc
    return done.stdout


class UBootEnv:
    """U-Boot's environment through libubootenv's fw_printenv / fw_setenv (fw_env.config)."""

    def __init__(self, config: Path | None = None, printenv: str = "fw_printenv",
                 setenv: str = "fw_setenv") -> None:
        self.options = ["-c", str(config)] if config else []
        self.printenv = printenv
        self.setenv = setenv

    def read(self) -> dict[str, str]:
        """Every variable fw_printenv lists."""
        out = _run([self.printenv, *self.options])
        return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)

    def set(self, values: Mapping[str, str]) -> None:
        """``fw_setenv --script FILE``: all the variables in one environment write."""
        _check(values)
        # libubootenv reads the script from a file only, one NAME=value per line.
        with tempfile.NamedTemporaryFile("w", prefix="hubd-env-", suffix=".txt") as script:
            script.write("".join(f"{k}={v}\n" for k, v in values.items()))
            script.flush()
            _run([self.setenv, *self.options, "--script", script.name])


GRUBENV_BYTES = 1024
GRUBENV_HEADER = b"# GRUB Environment Block\n"


class GrubEnv:
    """GRUB's environment block (grubenv), read and rewritten in place, as GRUB's save_env does.

    The block is GRUB's format (grub-core/lib/envblk.c): the header line, ``name=value`` lines,
    then ``#`` padding to exactly 1024 bytes. It is rewritten with one write at offset 0 of the
    existing file, never truncated or replaced, because GRUB's save_env writes to the sectors
    the file already occupies and refuses a block that moved or changed size. (grub-editenv
    truncates and rewrites, which may move the block on FAT; the tests check that both read
    what the other writes.)
    """

    def __init__(self, path: Path = Path("/boot/efi/EFI/BOOT/grubenv")) -> None:
        self.path = path

    def _block(self) -> bytes:
        try:
            block = self.path.read_bytes()
        except OSError as exc:
            raise UpdateError(f"cannot read the GRUB environment {self.path}: "
                              f"{exc.strerror}") from exc
        if len(block) != GRUBENV_BYTES or not block.startswith(GRUBENV_HEADER):
            raise UpdateError(f"{self.path} is not a {GRUBENV_BYTES}-byte GRUB environment "
                              "block (grub-editenv FILE create makes one)")
        return block

    def read(self) -> dict[str, str]:
        """Every variable in the block."""
        text = self._block()[len(GRUBENV_HEADER):].decode("utf-8", "replace")
        # GRUB escapes a backslash or newline in a value with a backslash; set() refuses both.
        return dict(line.split("=", 1) for line in text.split("\n")
                    if "=" in line and not line.startswith("#"))

    def set(self, values: Mapping[str, str]) -> None:
        """Merge values into the block and write it over itself in one write, then fsync."""
        _check(values)
        if any("\\" in v for v in values.values()):
            raise UpdateError("a GRUB environment value cannot hold a backslash here")
        merged = self.read() | dict(values)
        body = GRUBENV_HEADER + "".join(f"{k}={v}\n" for k, v in merged.items()).encode()
        if len(body) > GRUBENV_BYTES:
            raise UpdateError(f"the GRUB environment would need {len(body)} bytes of "
                              f"{GRUBENV_BYTES}")
        fd = os.open(self.path, os.O_WRONLY)
        try:
            os.pwrite(fd, body.ljust(GRUBENV_BYTES, b"#"), 0)
            os.fsync(fd)
        finally:
            os.close(fd)


@dataclass(frozen=True, slots=True)
class BootPlan:
    """What the bootloader reads: the try order and each slot's remaining tries."""

    order: tuple[str, ...]
    left: dict[str, int]

    @classmethod
    def read(cls, env: BootEnv) -> BootPlan:
        """The plan in env; unknown slot names and unreadable counters count as no tries."""
        values = env.read()
        order = tuple(s for s in values.get("BOOT_ORDER", "").split() if s in SLOTS)
        left = {}
        for slot in SLOTS:
            raw = values.get(f"BOOT_{slot}_LEFT", "0")
            left[slot] = int(raw) if raw.isdigit() else 0
        return cls(order, left)

    def values(self) -> dict[str, str]:
        """The variables that store this plan."""
        return {"BOOT_ORDER": " ".join(self.order),
                **{f"BOOT_{slot}_LEFT": str(n) for slot, n in self.left.items()}}


def choose_slot(env: BootEnv) -> str:
    """The bootloader's choice, its counter decremented and saved.

    When no slot of BOOT_ORDER has tries left (power cut before every mark-good), the last slot of
    the order, the fallback, boots anyway: a hub that boots something can still be fixed.
    """
    plan = BootPlan.read(env)
    for slot in plan.order:
        if plan.left[slot] > 0:
            env.set({f"BOOT_{slot}_LEFT": str(plan.left[slot] - 1)})
            return slot
    return plan.order[-1] if plan.order else SLOTS[0]


def other_slot(slot: str) -> str:
    """The slot that is not slot."""
    if slot not in SLOTS:
        raise UpdateError(f"unknown slot {slot!r} (slots are {', '.join(SLOTS)})")
    return SLOTS[1 - SLOTS.index(slot)]
