"""`hubd update ...` as the units and a developer run it, on file slots."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from hubd.cli import main
from tests.hubd.ota.conftest import bundle_bytes, image


def setup_hub(tmp_path: Path) -> tuple[Path, Ed25519PrivateKey]:
    key = Ed25519PrivateKey.generate()
    (tmp_path / "keys").mkdir()
    (tmp_path / "keys/r.pub").write_text(key.public_key().public_bytes_raw().hex())
    (tmp_path / "os-release").write_text('ID=debian\nIMAGE_VERSION="1.0"\n')
    for slot in "ab":
        (tmp_path / f"slot-{slot}").write_bytes(b"")
    config = tmp_path / "update.toml"
    config.write_text(
        f'board = "hub-test"\nslot_a = "{tmp_path}/slot-a"\nslot_b = "{tmp_path}/slot-b"\n'
        f'slot_size_bytes = 1048576\nbootenv_path = "{tmp_path}/bootenv"\n'
        f'keys_dir = "{tmp_path}/keys"\nupdate_dir = "{tmp_path}/update"\n'
        f'data_dir = "{tmp_path}/data"\nos_release = "{tmp_path}/os-release"\n'
        'booted_slot = "A"\n')
    return config, key


def test_install_status_and_boot_checks(tmp_path: Path) -> None:
    config, key = setup_hub(tmp_path)
    bundle = tmp_path / "u.hubdupd"
    bundle.write_bytes(bundle_bytes(image("1.1", 300_000), "1.1", [key]))
    runner = CliRunner()
    result = runner.invoke(main, ["update", "install", str(bundle), "--config", str(config)])
    assert result.exit_code == 0, result.output
    assert "installed 1.1 into slot B" in result.output
    assert "writing slot: 100%" in result.output
    result = runner.invoke(main, ["update", "status", "--config", str(config)])
    status = json.loads(result.output)
    assert (status["boot_order"], status["pending"]["version"]) == (["B", "A"], "1.1")
    # Still booted on A (the pending update never ran): rollback-check abandons it.
    result = runner.invoke(main, ["update", "rollback-check", "--config", str(config)])
    assert result.output.strip() == "rolled_back"
    result = runner.invoke(main, ["update", "mark-good", "--config", str(config)])
    assert (result.exit_code, result.output.strip()) == (0, "normal")


def test_a_refused_bundle_exits_1_with_the_reason(tmp_path: Path) -> None:
    config, _ = setup_hub(tmp_path)
    bundle = tmp_path / "u.hubdupd"
    bundle.write_bytes(bundle_bytes(image("1.1"), "1.1", [Ed25519PrivateKey.generate()]))
    result = CliRunner().invoke(main, ["update", "install", str(bundle), "--config",
                                       str(config)])
    assert result.exit_code == 1
    assert "no valid signature by a trusted key" in result.output
    assert not (tmp_path / "bootenv").exists()


def test_a_broken_update_config_exits_1(tmp_path: Path) -> None:
    (tmp_path / "update.toml").write_text("board = 1\n")
    result = CliRunner().invoke(main, ["update", "status", "--config",
                                       str(tmp_path / "update.toml")])
    assert result.exit_code == 1 and "board" in result.output
