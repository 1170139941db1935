"""HubConfig: defaults, sections, broken files named by file, key and line, the example file."""

from __future__ import annotations

from pathlib import Path

import pytest

from hubd.config import (
    HubConfig,
    LogLevel,
    check_file,
    default_state_dir,
    load_config,
    parse_config,
)
from hubd.core.errors import ConfigError
from radios.virtual.settings import VirtualKind

ROOT = Path(__file__).resolve().parents[2]


def test_an_empty_file_is_valid_with_defaults(monkeypatch: pytest.MonkeyPatch,
                                              tmp_path: Path) -> None:
    monkeypatch.delenv("STATE_DIRECTORY", raising=False)
    monkeypatch.chdir(tmp_path)
    config = parse_config("", "hub.toml")
    assert config.hub.name == "hubd" and config.hub.timezone == "UTC"
    assert config.hub.state_dir == tmp_path / "state"
    assert config.log.level is LogLevel.INFO
    assert config.rules.dir is None and config.rules.max_depth == 8
    assert (config.rules.catch_up_s, config.rules.storm_runs,
            config.rules.storm_window_s) == (300.0, 20, 10.0)
    assert config.radios.virtual is None
    assert config.store.write_interval_s == 0.1
    assert config.database_path == tmp_path / "state" / "hubd.sqlite3"


def test_state_directory_from_systemd(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STATE_DIRECTORY", "/var/lib/hubd:/var/lib/other")
    assert default_state_dir() == Path("/var/lib/hubd")
    assert parse_config("", "hub.toml").hub.state_dir == Path("/var/lib/hubd")


def test_sections_and_relative_paths(tmp_path: Path) -> None:
    path = tmp_path / "etc" / "hub.toml"
    path.parent.mkdir()
    path.write_text('[hub]\nstate_dir = "../var"\ntimezone = "America/New_York"\n'
                    'latitude = -33.9\nlongitude = 151\n'
                    '[log]\nlevel = "debug"\n[rules]\ndir = "rules"\nmax_depth = 4\n'
                    '[store]\nwrite_interval_s = 0.5\n'
                    '[radios.virtual]\ndevices = [{address = "1", name = "A", kind = "switch"}]\n')
    config = load_config(path)
    assert config.hub.state_dir == tmp_path / "etc" / ".." / "var"
    assert config.hub.longitude == 151.0 and config.log.level is LogLevel.DEBUG
    assert config.rules.dir == tmp_path / "etc" / "rules" and config.rules.max_depth == 4
    assert config.store.write_interval_s == 0.5
    assert config.radios.virtual is not None
    assert config.radios.virtual.devices[0].kind is VirtualKind.SWITCH


BROKEN = [
    ('[hub]\nname = "x"\nlatitude = 91\n', 3, "hub.latitude", "must be at most 90"),
    ('[hub]\nlongitude = "east"\n', 2, "hub.longitude", "expected a number"),
    ('[hub]\n\ntimezone = "Europe/Pariss"\n', 3, "hub.timezone", "not an IANA time zone"),
    ('[log]\nlevel = "verbose"\n', 2, "log.level",
     "expected one of 'debug', 'info', 'warning', 'error'"),
    ('[rules]\ncatch_up_s = -5\n', 2, "rules.catch_up_s", "must be at least 0"),
    ('[rules]\nmax_depth = 0\n', 2, "rules.max_depth", "must be at least 1"),
    ('[rules]\nstorm_window_s = 0\n', 2, "rules.storm_window_s", "must be at least 0.001"),
    ('[store]\nwrite_interval_s = 0\n', 2, "store.write_interval_s", "must be at least"),
    ('[stroe]\n', 1, "stroe", "did you mean 'store'?"),
    ('[radios.zwav]\n', 1, "radios.zwav", "did you mean 'zwave'?"),
    ('[radios.zwave]\nurl = "http://x"\n', 1, "radios.zwave", "ws://host:port"),
    ('[radios.virtual]\ncommand_latency_s = -1\n', 2, "radios.virtual.command_latency_s",
     "must be at least 0"),
    ('[[radios.virtual.devices]]\naddress = "1"\nname = "A"\nkind = "dimmer"\n\n'
     '[[radios.virtual.devices]]\naddress = "2"\nname = "B"\nkind = "lamp"\n', 9,
     "radios.virtual.devices[1].kind", "expected one of 'switch', 'dimmer'"),
    ('[[radios.virtual.devices]]\naddress = 1\nname = "A"\nkind = "dimmer"\n', 2,
     "radios.virtual.devices[0].address", 'quote it: "1"'),
    ('[[radios.virtual.devices]]\naddress = "1"\nkind = "dimmer"\n', 1,
     "radios.virtual.devices[0].name", "missing"),
    ('[radios.virtual]\ndevices = [\n  {address = "1", name = "A", kind = "switch"},\n'
     '  {address = "1", name = "B", kind = "switch"},\n]\n', 4,
     "radios.virtual.devices[1].address", "already used by radios.virtual.devices[0]"),
]


@pytest.mark.parametrize(("text", "line", "key", "message"), BROKEN)
def test_broken_files_name_file_key_and_line(tmp_path: Path, text: str, line: int, key: str,
                                             message: str) -> None:
    path = tmp_path / "hub.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    err = info.value
    assert (err.file, err.line, err.key) == (str(path), line, key)
    assert message in err.message
    assert str(err).startswith(f"{path}:{line}: {key}: ")


def test_toml_syntax_error_carries_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "hub.toml"
    path.write_text('[hub]\nname = "x"\nlatitude = = 3\n')
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.line == 3 and info.value.key is None
    assert str(info.value) == f"{path}:3: invalid TOML: Invalid value (column 12)"


def test_syntax_error_at_the_end_of_the_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"hub.toml:2: invalid TOML: .*at the end"):
        parse_config('[hub]\nname = "unterminated', "hub.toml")


def test_missing_and_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"missing.toml: cannot read the file: No such file"):
        load_config(tmp_path / "missing.toml")
    binary = tmp_path / "bin.toml"
    binary.write_bytes(b"name = \"\xff\xfe\"\n")
    with pytest.raises(ConfigError, match=r"bin.toml: not UTF-8 text"):
        load_config(binary)


def test_check_file_wants_the_rules_dir_to_exist(tmp_path: Path) -> None:
    path = tmp_path / "hub.toml"
    path.write_text('[log]\nlevel = "info"\n[rules]\ndir = "rules"\n')
    assert load_config(path).rules.dir == tmp_path / "rules"
    with pytest.raises(ConfigError) as info:
        check_file(path)
    assert (info.value.key, info.value.line) == ("rules.dir", 4)
    assert "does not exist" in info.value.message
    (tmp_path / "rules").mkdir()
    assert isinstance(check_file(path), HubConfig)


def test_the_example_configuration_is_valid(tmp_path: Path) -> None:
    path = ROOT / "examples" / "hub.toml"
    config = load_config(path)
    assert config.rules.dir == ROOT / "examples" / "rules"
    assert config.radios.virtual is not None
    devices = [(d.address, d.name, d.kind.value, d.room) for d in config.radios.virtual.devices]
    assert devices == [
        ("1", "Hall light", "dimmer", "Hall"),
        ("2", "Porch light", "switch", "Outside"),
        ("3", "Front door", "contact", "Hall"),
        ("4", "Hall motion", "motion", "Hall"),
        ("5", "Kitchen remote", "button", "Kitchen"),
        ("6", "Kitchen light", "dimmer", "Kitchen"),
        ("7", "Living lamp", "switch", "Living room"),
    ]
    copy = tmp_path / "hub.toml"
    copy.write_text(path.read_text())
    (tmp_path / "rules").mkdir()
    assert check_file(copy).radios == config.radios
