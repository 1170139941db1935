"""The systemd and udev files in systemd/: parsed as text, and run through systemd's tools."""

from __future__ import annotations

import configparser
import fnmatch
import os
import re
import shlex
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
UNITS = ROOT / "systemd"
SERVICE = UNITS / "hubd.service"


def parse_unit(path: Path) -> dict[str, dict[str, list[str]]]:
    """systemd.syntax(7): sections of KEY=VALUE lines; a key may repeat (kept in order)."""
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] | None = None
    for number, raw in enumerate(path.read_text().splitlines(), 1):
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        assert not line.endswith("\\"), f"{path.name}:{number}: keep lines unfolded"
        if line.startswith("["):
            assert line.endswith("]"), f"{path.name}:{number}: bad section header"
            current = sections.setdefault(line[1:-1], {})
            continue
        key, sep, value = line.partition("=")
        assert sep and current is not None, f"{path.name}:{number}: not KEY=VALUE: {line!r}"
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


@pytest.fixture(scope="module")
def service() -> dict[str, list[str]]:
    return parse_unit(SERVICE)["Service"]


def one(section: dict[str, list[str]], key: str) -> str:
    values = section.get(key)
    assert values is not None, f"{key}= missing"
    assert len(values) == 1, f"{key}= given {len(values)} times"
    return values[0]


# -- hubd.service -------------------------------------------------------------------------------


def test_service_lifecycle(service: dict[str, list[str]]) -> None:
    expected = {
        "Type": "notify", "NotifyAccess": "main", "WatchdogSec": "20", "Restart": "on-failure",
        "RestartSec": "2", "TimeoutStopSec": "10", "User": "hubd", "Group": "hubd",
        "SupplementaryGroups": "dialout", "StateDirectory": "hubd", "StateDirectoryMode": "0700",
        "ConfigurationDirectory": "hubd", "RuntimeDirectory": "hubd", "UMask": "0077",
    }
    assert {key: one(service, key) for key in expected} == expected


def test_exec_start_runs_the_installed_cli_on_the_configuration_directory(
        service: dict[str, list[str]]) -> None:
    argv = one(service, "ExecStart").split()
    assert argv == ["/usr/bin/hubd", "run", "--config", "/etc/hubd/hub.toml"]
    assert Path(argv[3]).parent == Path("/etc") / one(service, "ConfigurationDirectory")
    setup = configparser.ConfigParser()
    setup.read(ROOT / "setup.cfg")
    scripts = setup["options.entry_points"]["console_scripts"].split("\n")
    assert any(s.replace(" ", "").startswith("hubd=") for s in scripts), "no hubd entry point"


def test_a_config_error_is_not_restarted_in_a_loop(service: dict[str, list[str]]) -> None:
    # The daemon exits with os.EX_CONFIG on ConfigError, with os.EX_CANTCREAT when the state
    # directory is read-only; restarting cannot fix either.
    assert one(service, "RestartPreventExitStatus").split() == [str(os.EX_CONFIG),
                                                                str(os.EX_CANTCREAT)]


def test_a_failing_start_is_given_up_on_and_resources_are_bounded(
        service: dict[str, list[str]]) -> None:
    unit = parse_unit(SERVICE)["Unit"]
    assert int(one(unit, "StartLimitBurst")) >= 3
    assert int(one(unit, "StartLimitIntervalSec")) >= 60
    assert one(service, "MemoryMax").endswith("M")
    assert int(one(service, "MemoryHigh")[:-1]) < int(one(service, "MemoryMax")[:-1])
    assert 16 <= int(one(service, "TasksMax")) <= 256


def test_the_configuration_directory_is_not_world_readable(
        service: dict[str, list[str]]) -> None:
    assert int(one(service, "ConfigurationDirectoryMode"), 8) & 0o007 == 0
    lines = config_lines(UNITS / "hubd.tmpfiles")
    (etc,) = [f for f in lines if f[1] == "/etc/" + one(service, "ConfigurationDirectory")]
    assert int(etc[2], 8) & 0o007 == 0 and etc[4] == "hubd"


def test_service_sandbox(service: dict[str, list[str]]) -> None:
    flags = ("NoNewPrivileges", "ProtectHome", "PrivateTmp", "ProtectKernelTunables",
             "ProtectKernelModules", "ProtectKernelLogs", "ProtectControlGroups", "ProtectClock",
             "RestrictNamespaces", "LockPersonality", "MemoryDenyWriteExecute",
             "RestrictRealtime", "RestrictSUIDSGID")
    assert {flag: one(service, flag) for flag in flags} == dict.fromkeys(flags, "yes")
    assert one(service, "ProtectSystem") == "strict"
    assert one(service, "PrivateDevices") == "no"
    assert one(service, "DevicePolicy") == "closed"
    assert sorted(service["DeviceAllow"]) == [
        "char-ttyACM rw", "char-ttyAMA rw", "char-ttyUSB rw"]
    assert one(service, "CapabilityBoundingSet") == ""
    assert set(one(service, "RestrictAddressFamilies").split()) == {
        "AF_UNIX", "AF_INET", "AF_INET6", "AF_NETLINK"}
    assert service["SystemCallFilter"][0] == "@system-service"
    assert one(service, "SystemCallArchitectures") == "native"


def test_service_is_installed_for_boot() -> None:
    assert parse_unit(SERVICE)["Install"]["WantedBy"] == ["multi-user.target"]


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze here")
def test_security_exposure_is_at_most_2() -> None:
    done = subprocess.run(
        ["systemd-analyze", "security", "--offline=yes", "--no-pager", str(SERVICE)],
        capture_output=True, text=True, timeout=30, check=False)
    found = re.search(r"Overall exposure level for hubd\.service: (\d+\.\d+)", done.stdout)
    assert found, done.stdout + done.stderr
    assert float(found.group(1)) <= 2.0


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze here")
def test_systemd_knows_every_key(tmp_path: Path) -> None:
    # verify wants ExecStart to exist: check a copy that runs /bin/true instead.
    copy = tmp_path / "hubd.service"
    true = shutil.which("true") or "/bin/true"
    copy.write_text(SERVICE.read_text().replace("/usr/bin/hubd", true))
    done = subprocess.run(["systemd-analyze", "verify", str(copy)], capture_output=True,
                          text=True, timeout=30, check=False)
    complaints = [line for line in (done.stdout + done.stderr).splitlines()
                  if "hubd.service" in line]
    assert complaints == []


# -- sysusers and tmpfiles ----------------------------------------------------------------------


def config_lines(path: Path) -> list[list[str]]:
    """Non-comment lines split into fields, honouring double quotes."""
    return [shlex.split(line) for line in path.read_text().splitlines()
            if line.strip() and not line.lstrip().startswith("#")]


def test_sysusers_makes_hubd_a_member_of_dialout() -> None:
    lines = config_lines(UNITS / "hubd.sysusers")
    users = [f for f in lines if f[0] == "u"]
    assert [(f[1], f[2], f[4]) for f in users] == [("hubd", "-", "/var/lib/hubd")]
    assert ["m", "hubd", "dialout"] in lines


@pytest.mark.skipif(shutil.which("systemd-sysusers") is None, reason="no systemd-sysusers here")
def test_sysusers_creates_the_user_in_an_empty_root(tmp_path: Path) -> None:
    (tmp_path / "etc").mkdir()
    subprocess.run(["systemd-sysusers", f"--root={tmp_path}", str(UNITS / "hubd.sysusers")],
                   capture_output=True, check=True, timeout=30)
    passwd = (tmp_path / "etc/passwd").read_text().splitlines()
    group = (tmp_path / "etc/group").read_text().splitlines()
    (hubd,) = [line.split(":") for line in passwd if line.startswith("hubd:")]
    assert hubd[5] == "/var/lib/hubd" and hubd[6].endswith("nologin")
    (dialout,) = [line.split(":") for line in group if line.startswith("dialout:")]
    assert "hubd" in dialout[3].split(",")


def test_tmpfiles_state_directory_matches_the_unit(service: dict[str, list[str]]) -> None:
    lines = config_lines(UNITS / "hubd.tmpfiles")
    state = [f for f in lines if f[1] == "/var/lib/" + one(service, "StateDirectory")]
    assert state == [["d", "/var/lib/hubd", one(service, "StateDirectoryMode"), "hubd", "hubd",
                      "-"]]


# -- udev rules: a small interpreter for the subset the file uses -------------------------------

TOKEN = re.compile(r'\s*([A-Z_]+)(?:\{([^}]+)\})?\s*(==|!=|\+=|=)\s*"([^"]*)"\s*(?:,|$)')


@dataclass
class UsbTty:
    """A tty whose parents carry sysfs attributes (nearest first), and udev's environment."""

    parents: list[dict[str, str]]
    env: dict[str, str] = field(default_factory=dict)
    action: str = "add"
    subsystem: str = "tty"
    symlinks: list[str] = field(default_factory=list)
    group: str = "root"
    mode: str = "0600"


def parse_rules(path: Path) -> list[list[tuple[str, str, str, str]]]:
    """udev(7) rules as lists of (key, attribute, operator, value); LABEL lines included."""
    rules = []
    for number, raw in enumerate(path.read_text().splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        tokens, position = [], 0
        while position < len(line):
            match = TOKEN.match(line, position)
            assert match, f"{path.name}:{number}: cannot parse at {line[position:]!r}"
            tokens.append((match[1], match[2] or "", match[3], match[4]))
            position = match.end()
        rules.append(tokens)
    return rules


def matches(key: str, attr: str, op: str, value: str, dev: UsbTty,
            parent: dict[str, str] | None) -> bool:
    actual = {"ACTION": dev.action, "SUBSYSTEM": dev.subsystem}.get(key)
    if key == "ENV":
        actual = dev.env.get(attr, "")
    elif key == "ATTRS":
        actual = (parent or {}).get(attr)
    hit = actual is not None and fnmatch.fnmatchcase(actual, value)
    return hit if op == "==" else not hit


def rule_matches(rule: list[tuple[str, str, str, str]], dev: UsbTty) -> bool:
    tests = [t for t in rule if t[2] in ("==", "!=")]
    plain = [t for t in tests if t[0] != "ATTRS"]
    if not all(matches(*t, dev, None) for t in plain):
        return False
    attrs = [t for t in tests if t[0] == "ATTRS"]
    # udev(7): every ATTRS key of one rule must match on the same parent device.
    return not attrs or any(all(matches(*t, dev, p) for t in attrs) for p in dev.parents)


def run_rules(dev: UsbTty) -> UsbTty:
    rules = parse_rules(UNITS / "99-hubd-radios.rules")
    labels = {r[0][3]: n for n, r in enumerate(rules) if r[0][0] == "LABEL"}
    index = 0
    while index < len(rules):
        rule, index = rules[index], index + 1
        if rule[0][0] == "LABEL" or not rule_matches(rule, dev):
            continue
        for key, attr, op, value in rule:
            if key == "SYMLINK" and op == "+=":
                dev.symlinks.append(value)
            elif key == "GROUP":
                dev.group = value
            elif key == "MODE":
                dev.mode = value
            elif key == "ENV" and op == "=":
                dev.env[attr] = value
            elif key == "GOTO":
                assert labels[value] > index - 1, "udev jumps forward only"
                index = labels[value]
    return dev


def usb(vendor: str, product_id: str, product: str = "", interface: str = "00") -> UsbTty:
    interface_attrs = {"bInterfaceNumber": interface}
    device_attrs = {"idVendor": vendor, "idProduct": product_id, "product": product}
    return UsbTty([{}, interface_attrs, device_attrs], env={"ID_USB_INTERFACE_NUM": interface})


@pytest.mark.parametrize("dev", [
    usb("10c4", "ea60", "Sonoff Zigbee 3.0 USB Dongle Plus"),
    usb("10c4", "ea60", "Sonoff Zigbee 3.0 USB Dongle Plus V2"),
    usb("1a86", "55d4", "SONOFF Zigbee 3.0 USB Dongle Plus V2"),
    usb("0451", "bef3", "XDS110 (03.00.00.13) Embed with CMSIS-DAP", "00"),
    usb("0451", "16a8", "TI CC2531 USB CDC"),
    usb("1cf1", "0030", "ConBee II"),
    usb("0403", "6015", "ConBee III"),
], ids=["zbdongle-p", "zbdongle-e-cp2102n", "zbdongle-e-ch9102", "launchxl", "cc2531",
        "conbee2", "conbee3"])
def test_known_coordinators_get_a_stable_name(dev: UsbTty) -> None:
    result = run_rules(dev)
    assert result.symlinks == ["hubd/zigbee"]
    assert (result.group, result.mode) == ("dialout", "0660")
    assert result.env["ID_MM_DEVICE_IGNORE"] == "1"


def test_zwave_stick_gets_its_own_name() -> None:
    assert run_rules(usb("0658", "0200", "")).symlinks == ["hubd/zwave"]


@pytest.mark.parametrize("dev", [
    usb("10c4", "ea60", "CP2102N USB to UART Bridge Controller"),
    usb("1a86", "7523", "USB Serial"),
    usb("0451", "bef3", "XDS110", "03"),
], ids=["cp210x", "ch340", "launchxl-debug-uart"])
def test_bare_bridges_get_dialout_but_no_zigbee_name(dev: UsbTty) -> None:
    result = run_rules(dev)
    assert result.symlinks == []
    assert (result.group, result.mode) == ("dialout", "0660")
    assert result.env["ID_MM_DEVICE_IGNORE"] == "1"


def test_other_devices_and_removals_are_left_alone() -> None:
    ftdi = run_rules(usb("0403", "6001", "FT232R USB UART"))
    assert (ftdi.symlinks, ftdi.group, "ID_MM_DEVICE_IGNORE" in ftdi.env) == ([], "root", False)
    gone = usb("10c4", "ea60", "Sonoff Zigbee 3.0 USB Dongle Plus")
    gone.action = "remove"
    assert run_rules(gone).symlinks == []
    block = usb("10c4", "ea60", "Sonoff Zigbee 3.0 USB Dongle Plus")
    block.subsystem = "block"
    assert run_rules(block).group == "root"


def test_attrs_of_different_parents_do_not_combine() -> None:
    # The interpreter must model udev's same-parent rule, or the tests above prove little.
    dev = UsbTty([{"idVendor": "10c4"}, {"idProduct": "ea60"}])
    assert not rule_matches([("ATTRS", "idVendor", "==", "10c4"),
                             ("ATTRS", "idProduct", "==", "ea60")], dev)
