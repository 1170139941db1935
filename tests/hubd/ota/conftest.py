"""A hub without hardware: two slot files, a file boot env, and the bootloader's algorithm."""

from __future__ import annotations

import hashlib
import io
import shutil
import socket
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import zstandard
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from hubd.ota import helper
from hubd.ota.bootenv import BootPlan, FileBootEnv, choose_slot
from hubd.ota.bundle import Compression, Manifest, Version, key_id, write_bundle
from hubd.ota.config import UpdateConfig, load_update_config
from hubd.ota.host import open_updater
from hubd.ota.install import Outcome, Updater

SLOT_BYTES = 256 * 1024
BOARD = "hub-test"


def image(version: str, size: int = 100_000) -> bytes:
    """A fake root filesystem: it starts with its version so a booted slot knows what it runs."""
    head = f"version={version}\n".encode()
    body = hashlib.sha256(version.encode()).digest() * (size // 32 + 1)
    return (head + body)[:size]


def slot_version(path: Path) -> str:
    """The version written at the start of a slot file."""
    return path.read_bytes().split(b"\n", 1)[0].decode().partition("=")[2]


def bundle_bytes(payload: bytes, version: str, keys: list[Ed25519PrivateKey], *,
                 board: str = BOARD, min_version: str = "0", carried: bytes | None = None,
                 size: int | None = None) -> bytes:
    """A bundle as tools/release makes it; carried (zstd bytes) makes it a compressed one.

    size overrides the signed image size (a release tool that lied).
    """
    manifest = Manifest(Version.parse(version), board, len(payload) if size is None else size,
                        hashlib.sha256(payload).hexdigest(), Version.parse(min_version))
    if carried is not None:
        manifest = Manifest(manifest.version, board, manifest.size, manifest.sha256,
                            manifest.min_version, Compression.ZSTD, len(carried),
                            hashlib.sha256(carried).hexdigest())
    out = io.BytesIO()
    write_bundle(out, manifest, keys, io.BytesIO(payload if carried is None else carried))
    return out.getvalue()


def zstd(data: bytes) -> bytes:
    """data as one zstd frame, as tools/release compresses a root image."""
    return zstandard.ZstdCompressor(level=3).compress(data)


@dataclass
class FakeHub:
    """Slots A and B as files, the boot env as a file; reboot() runs the bootloader's choice."""

    root: Path
    key: Ed25519PrivateKey
    booted: str = "A"
    healthy: bool = True
    boots: list[str] = field(default_factory=list)

    @property
    def config(self) -> UpdateConfig:
        return UpdateConfig(board=BOARD, slot_a=self.root / "slot-a", slot_b=self.root / "slot-b",
                            slot_size_bytes=SLOT_BYTES, bootenv_path=self.root / "bootenv",
                            keys_dir=self.root / "keys", update_dir=self.root / "data/update",
                            data_dir=self.root / "data/hubd", tries=3)

    @property
    def env(self) -> FileBootEnv:
        return FileBootEnv(self.root / "bootenv")

    def updater(self) -> Updater:
        public = self.key.public_key()
        version = Version.parse(slot_version(self.config.slot_path(self.booted)))
        return Updater(self.config, self.env, {key_id(public): public}, version, self.booted)

    def write_bundle(self, payload: bytes, version: str, **kwargs: Any) -> Path:
        path = self.root / f"update-{version}.bundle"
        path.write_bytes(bundle_bytes(payload, version, [self.key], **kwargs))
        return path

    def reboot(self) -> str:
        """Power-cycle: the bootloader picks a slot, then the boot units run in systemd's order.

        rollback-check runs before hubd; mark-good after it, here only on a boot that is not an
        update's trial (each test confirms or fails a trial itself).
        """
        slot = choose_slot(self.env)
        self.booted = slot
        self.boots.append(slot)
        if self.updater().rollback_check() is not Outcome.TRIAL:
            assert self.updater().mark_good(lambda: True) is Outcome.NORMAL
        return slot

    def snapshot(self) -> dict[str, str]:
        return {"env": (self.root / "bootenv").read_text(),
                "a": hashlib.sha256((self.root / "slot-a").read_bytes()).hexdigest(),
                "b": hashlib.sha256((self.root / "slot-b").read_bytes()).hexdigest()}


@pytest.fixture
def hub(tmp_path: Path) -> FakeHub:
    """A hub that runs 1.0 from slot A, B holding an old 0.9, A marked good."""
    key = Ed25519PrivateKey.generate()
    fake = FakeHub(tmp_path, key)
    (tmp_path / "keys").mkdir()
    (tmp_path / "keys/release.pub").write_text(key.public_key().public_bytes_raw().hex())
    (tmp_path / "slot-a").write_bytes(image("1.0").ljust(SLOT_BYTES, b"\0"))
    (tmp_path / "slot-b").write_bytes(image("0.9").ljust(SLOT_BYTES, b"\0"))
    fake.env.set(BootPlan(("A", "B"), {"A": 3, "B": 3}).values())
    (tmp_path / "data/hubd").mkdir(parents=True)
    (tmp_path / "data/hubd/hubd.sqlite3").write_text("state of 1.0")
    return fake


@dataclass
class Slots:
    """A hub's slots, boot env and keys as files; what the fake reboot was asked."""

    root: Path
    key: Ed25519PrivateKey = field(default_factory=Ed25519PrivateKey.generate)
    reboots: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        (self.root / "keys").mkdir(parents=True)
        (self.root / "keys/release.pub").write_text(
            self.key.public_key().public_bytes_raw().hex())
        (self.root / "slot-a").write_bytes(image("1.0").ljust(SLOT_BYTES, b"\0"))
        (self.root / "slot-b").write_bytes(image("0.9").ljust(SLOT_BYTES, b"\0"))
        (self.root / "os-release").write_text('IMAGE_VERSION="1.0"\n')
        self.env.set(BootPlan(("A", "B"), {"A": 3, "B": 3}).values())
        r = self.root
        (r / "update.toml").write_text(
            f'board = "hub-test"\nslot_a = "{r}/slot-a"\nslot_b = "{r}/slot-b"\n'
            f"slot_size_bytes = {SLOT_BYTES}\n"
            f'bootenv_path = "{r}/bootenv"\nkeys_dir = "{r}/keys"\n'
            f'update_dir = "{r}/data/update"\ndata_dir = "{r}/data/hubd"\n'
            f'os_release = "{r}/os-release"\nbooted_slot = "A"\n')

    @property
    def env(self) -> FileBootEnv:
        return FileBootEnv(self.root / "bootenv")

    def bundle(self, version: str, *, board: str = BOARD, min_version: str = "0") -> bytes:
        return bundle_bytes(image(version), version, [self.key], board=board,
                            min_version=min_version)

    def toml(self, helper: Path | None = None) -> str:
        extra = f'helper_socket = "{helper}"\n' if helper is not None else ""
        return f'\n[update]\nconfig = "{self.root}/update.toml"\n{extra}'

    def files(self) -> dict[str, bytes]:
        return {name: (self.root / name).read_bytes() for name in ("slot-a", "slot-b", "bootenv")}

    async def reboot(self) -> None:
        self.reboots.append("reboot")


class HelperServer:
    """The root update helper as hubd-update.socket runs it (Accept=yes: a fresh ``serve`` per
    connection), in threads, on a unix socket; its settings are the Slots' update.toml."""

    def __init__(self, config: Path, reboots: list[str] | None = None) -> None:
        self.config = config
        # What the helper was asked to reboot (systemctl's place).
        self.reboots = reboots if reboots is not None else []
        # sun_path holds 108 bytes: pytest's tmp_path may be longer.
        self.dir = Path(tempfile.mkdtemp(prefix="hubd-helper-", dir="/tmp"))
        self.path = self.dir / "update.sock"
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(str(self.path))
        self.listener.listen(8)
        self.served = 0
        self.thread = threading.Thread(target=self._accept, name="helper-accept", daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self.served += 1
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            helper.serve(conn, lambda: open_updater(load_update_config(self.config)),
                         lambda: self.reboots.append("reboot"))

    def close(self) -> None:
        self.listener.shutdown(socket.SHUT_RDWR)  # wakes the accept (Linux)
        self.listener.close()
        self.thread.join(5)
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def helper_server(tmp_path: Path) -> Iterator[tuple[Slots, HelperServer]]:
    """Slots served by the root helper's code over a unix socket."""
    slots = Slots(tmp_path / "hw")
    server = HelperServer(slots.root / "update.toml")
    yield slots, server
    server.close()
