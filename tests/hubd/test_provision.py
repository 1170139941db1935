"""First-boot provisioning: made once, never replaced, finished after a partial run."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from hubd.cli import main
from hubd.provision import ProvisionError, hub_id_of, provision


def test_first_run_makes_everything_with_tight_modes(tmp_path: Path) -> None:
    made = provision(tmp_path / "identity")
    assert made.created == ("device.key", "hub-id", "setup-code")
    directory = tmp_path / "identity"
    assert directory.stat().st_mode & 0o777 == 0o700
    assert (directory / "device.key").stat().st_mode & 0o777 == 0o600
    assert (directory / "setup-code").stat().st_mode & 0o777 == 0o600
    assert made.setup_code.isdigit() and len(made.setup_code) == 8
    key = serialization.load_pem_private_key((directory / "device.key").read_bytes(), None)
    assert isinstance(key, Ed25519PrivateKey)
    assert hub_id_of(key) == made.hub_id == (directory / "hub-id").read_text().strip()
    assert sorted(p.name for p in directory.iterdir()) == ["device.key", "hub-id", "setup-code"]


def test_a_second_run_changes_nothing(tmp_path: Path) -> None:
    first = provision(tmp_path)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    again = provision(tmp_path)
    assert again.created == () and (again.hub_id, again.setup_code) == (first.hub_id,
                                                                        first.setup_code)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_a_partial_identity_is_completed_around_the_existing_key(tmp_path: Path) -> None:
    first = provision(tmp_path)
    (tmp_path / "setup-code").unlink()
    (tmp_path / "hub-id").write_text("hub-wrong\n")
    again = provision(tmp_path)
    assert again.created == ("hub-id", "setup-code")
    assert again.hub_id == first.hub_id and again.setup_code != ""


def test_a_damaged_key_is_refused_not_replaced(tmp_path: Path) -> None:
    (tmp_path / "device.key").write_text("garbage")
    with pytest.raises(ProvisionError):
        provision(tmp_path)
    assert (tmp_path / "device.key").read_text() == "garbage"
    result = CliRunner().invoke(main, ["provision", "--dir", str(tmp_path)])
    assert result.exit_code == 1 and "not a PEM private key" in result.output


def test_cli_says_what_it_made(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["provision", "--dir", str(tmp_path / "id")])
    assert result.exit_code == 0 and "created: device.key, hub-id, setup-code" in result.output
    result = CliRunner().invoke(main, ["provision", "--dir", str(tmp_path / "id")])
    assert "nothing (already provisioned)" in result.output
