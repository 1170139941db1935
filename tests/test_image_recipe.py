"""The hub OS recipe in image/, checked without building it (`make image-test` boots the build)."""

from __future__ import annotations

import py_compile
import shutil
import subprocess
from pathlib import Path

import pytest

from hubd.config import check_file
from hubd.ota.config import BootEnvKind, load_update_config
from tests.test_units import parse_unit

ROOT = Path(__file__).resolve().parent.parent
IMAGE = ROOT / "image"
OVERLAY = IMAGE / "overlay"
SYSTEM = OVERLAY / "etc/systemd/system"


def test_default_hub_config_passes_the_check() -> None:
    config = check_file(OVERLAY / "etc/hubd/hub.toml")
    assert config.hub.identity_dir == Path("/data/identity")
    assert config.api is not None and config.api.is_tls


def test_update_config_parses_and_points_at_the_gpt_labels(tmp_path: Path) -> None:
    text = (OVERLAY / "etc/hubd/update.toml").read_text().replace("@ARCH@", "amd64")
    (tmp_path / "update.toml").write_text(text)
    config = load_update_config(tmp_path / "update.toml")
    assert config.board == "hub-amd64" and config.bootenv is BootEnvKind.FILE
    assert (config.slot_a.name, config.slot_b.name) == ("root-a", "root-b")
    build = (IMAGE / "build").read_text()
    for label in ("name=root-a", "name=root-b", "name=data"):
        assert label in build
    assert "/dev/disk/by-partlabel/data" in (SYSTEM / "data.mount").read_text()
    # The updater's and hubd's data directories are the ones the units may write.
    rollback = parse_unit(ROOT / "systemd/hubd-update-rollback-check.service")
    assert rollback["Service"]["ReadWritePaths"] == [f"{config.update_dir} {config.data_dir}"]


def test_state_lives_on_the_data_partition() -> None:
    bind = parse_unit(SYSTEM / "var-lib-hubd.mount")
    assert (bind["Mount"]["What"], bind["Mount"]["Where"]) == (["/data/hubd"], ["/var/lib/hubd"])
    assert bind["Install"]["RequiredBy"] == ["hubd.service"]
    data = parse_unit(SYSTEM / "data.mount")
    assert data["Unit"]["ConditionVirtualization"] == ["!container"]


def test_packages_are_plain_names_and_include_what_the_units_need() -> None:
    names = [line.strip() for line in (IMAGE / "packages").read_text().splitlines()
             if line.strip() and not line.lstrip().startswith("#")]
    assert all(n.replace("-", "").replace(".", "").isalnum() for n in names), names
    assert {"systemd", "dbus", "python3-venv", "avahi-daemon", "libubootenv-tool"} <= set(names)
    assert len(names) == len(set(names))


def test_no_unit_of_the_image_waits_for_the_internet() -> None:
    for path in [*SYSTEM.rglob("*"), *(ROOT / "systemd").glob("*")]:
        if path.is_file():
            assert "network-online" not in path.read_text(), path


def test_scripts_parse(tmp_path: Path) -> None:
    for script in ("build", "customize", "sidecar"):
        subprocess.run(["bash", "-n", str(IMAGE / script)], check=True, timeout=30)
    py_compile.compile(str(IMAGE / "boot-test"), cfile=str(tmp_path / "boot-test.pyc"),
                       doraise=True)


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze here")
def test_systemd_knows_every_key_of_the_overlay_units(tmp_path: Path) -> None:
    for unit in ("data.mount", "var-lib-hubd.mount"):
        shutil.copy(SYSTEM / unit, tmp_path / unit)
    done = subprocess.run(["systemd-analyze", "verify", *(str(p) for p in tmp_path.iterdir())],
                          capture_output=True, text=True, timeout=30, check=False)
    complaints = [line for line in (done.stdout + done.stderr).splitlines()
                  if ".mount" in line]
    assert complaints == []
