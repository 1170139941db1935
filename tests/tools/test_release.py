"""tools/release end to end: keygen, make, inspect, and the hub accepting the result."""

from __future__ import annotations

from pathlib import Path

import pytest

from hubd.ota.bootenv import FileBootEnv
from hubd.ota.bundle import Version, load_trusted_keys
from hubd.ota.config import UpdateConfig
from hubd.ota.install import Updater
from tools import release


def test_keygen_make_inspect_install(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    keys = tmp_path / "keys"
    assert release.main(["keygen", str(keys / "r1")]) == 0
    assert (keys / "r1.key").stat().st_mode & 0o777 == 0o600
    rootfs = tmp_path / "rootfs.ext4"
    rootfs.write_bytes(b"ext4" * 5000)
    bundle = tmp_path / "u.hubdupd"
    assert release.main(["make", "--image", str(rootfs), "--version", "2.1", "--board", "hub",
                         "--key", str(keys / "r1.key"), "--out", str(bundle)]) == 0
    assert release.main(["inspect", str(bundle), "--keys", str(keys)]) == 0
    out = capsys.readouterr().out
    assert "version=2.1 board=hub size=20000" in out and "verified by trusted key" in out
    (tmp_path / "a").write_bytes(b"")
    (tmp_path / "b").write_bytes(b"")
    config = UpdateConfig(board="hub", slot_a=tmp_path / "a", slot_b=tmp_path / "b",
                          slot_size_bytes=1 << 20, update_dir=tmp_path / "upd",
                          data_dir=tmp_path / "data")
    updater = Updater(config, FileBootEnv(tmp_path / "env"), load_trusted_keys(keys),
                      Version.parse("2.0"), "A")
    assert updater.install(bundle).slot == "B"
    assert (tmp_path / "b").read_bytes() == rootfs.read_bytes()


def test_inspect_with_the_wrong_keys_fails(tmp_path: Path) -> None:
    release.main(["keygen", str(tmp_path / "k1")])
    release.main(["keygen", str(tmp_path / "other/k2")])
    (tmp_path / "img").write_bytes(b"x")
    release.main(["make", "--image", str(tmp_path / "img"), "--version", "1", "--board", "b",
                  "--key", str(tmp_path / "k1.key"), "--out", str(tmp_path / "u")])
    assert release.main(["inspect", str(tmp_path / "u"), "--keys", str(tmp_path / "other")]) == 1


def test_make_compresses_by_default_and_none_makes_a_format_1_bundle(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    release.main(["keygen", str(tmp_path / "k")])
    image = tmp_path / "root.ext4"
    image.write_bytes(b"\0" * 300_000 + b"ext4 superblock" * 1000)
    common = ["make", "--image", str(image), "--version", "3", "--board", "hub",
              "--key", str(tmp_path / "k.key")]
    assert release.main([*common, "--out", str(tmp_path / "z.hubdupd")]) == 0
    assert release.main([*common, "--out", str(tmp_path / "raw.hubdupd"),
                         "--compression", "none"]) == 0
    assert (tmp_path / "z.hubdupd").stat().st_size < 10_000
    assert (tmp_path / "raw.hubdupd").stat().st_size > 315_000
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "k.key", "k.pub", "raw.hubdupd", "root.ext4", "z.hubdupd"]  # no leftovers
    capsys.readouterr()
    release.main(["inspect", str(tmp_path / "z.hubdupd")])
    out = capsys.readouterr().out
    assert "size=315000" in out and "compression=zstd" in out
    release.main(["inspect", str(tmp_path / "raw.hubdupd")])
    assert "compression=none payload_size=315000" in capsys.readouterr().out
