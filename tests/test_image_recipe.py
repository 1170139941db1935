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
    assert fstab()["/data"][:3] == ["PARTLABEL=data", "/data", "ext4"]
    # The updater's and hubd's data directories are the ones the units may write, and GRUB's
    # environment on the ESP where there is one.
    rollback = parse_unit(ROOT / "systemd/hubd-update-rollback-check.service")
    assert rollback["Service"]["ReadWritePaths"] == [
        f"{config.update_dir} {config.data_dir} -/boot/efi"]


def fstab() -> dict[str, list[str]]:
    """The image's fstab by mount point."""
    lines = (OVERLAY / "etc/fstab").read_text().splitlines()
    entries = [line.split() for line in lines if line.strip() and not line.startswith("#")]
    return {entry[1]: entry for entry in entries}


def test_the_root_is_read_only_and_state_is_on_data_or_tmpfs() -> None:
    mounts = fstab()
    # Not in fstab: the kernel mounts the slot read-only (ro) and systemd keeps it so.
    assert "/" not in mounts
    assert mounts["/data"][5] == "2", "the data partition is checked at boot"
    assert mounts["/tmp"][2] == "tmpfs"
    assert mounts["/boot/efi"][:3] == ["PARTLABEL=esp", "/boot/efi", "vfat"]
    for loader in ("grub.cfg", "boot.cmd"):
        text = (IMAGE / "boot" / loader).read_text()
        assert " ro " in text and "systemd.volatile=state" in text and "panic=" in text


def test_grub_cfg_uses_the_updaters_variables_and_the_build_points_hubd_at_grubenv() -> None:
    grub = (IMAGE / "boot/grub.cfg").read_text()
    assert "load_env BOOT_ORDER BOOT_A_LEFT BOOT_B_LEFT" in grub
    assert "save_env BOOT_A_LEFT BOOT_B_LEFT" in grub
    assert grub.count("@ROOT_A_PARTUUID@") == 1 and grub.count("@ROOT_B_PARTUUID@") == 1
    build = (IMAGE / "build").read_text()
    assert 'bootenv_path = "/boot/efi/EFI/BOOT/grubenv"' in build
    assert "-p /EFI/BOOT" in build and "::/EFI/BOOT/" in build


def test_state_lives_on_the_data_partition() -> None:
    bind = parse_unit(SYSTEM / "var-lib-hubd.mount")
    assert (bind["Mount"]["What"], bind["Mount"]["Where"]) == (["/data/hubd"], ["/var/lib/hubd"])
    assert bind["Install"]["RequiredBy"] == ["hubd.service"]
    assert "/data" in bind["Unit"]["RequiresMountsFor"][0].split()


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
    for unit in ("var-lib-hubd.mount",):
        shutil.copy(SYSTEM / unit, tmp_path / unit)
    done = subprocess.run(["systemd-analyze", "verify", *(str(p) for p in tmp_path.iterdir())],
                          capture_output=True, text=True, timeout=30, check=False)
    complaints = [line for line in (done.stdout + done.stderr).splitlines()
                  if ".mount" in line]
    assert complaints == []
