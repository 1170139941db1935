"""Everything ``hubd run`` refuses to start with, found once, before anything starts.

``hubd config check`` and ``hubd run`` both call ``check_config``, so they agree on every file:
the TOML itself (hub.py), the rules directory and the rules in it, each radio's settings as its
own library validates them, and the secrets kept outside hub.toml (secrets.py). A ConfigError
names the file, the line and the key; both commands exit 78 for it. Rule problems are returned,
not raised: the check reports them and fails, while the daemon starts without those rules (a bad
rule file disables its own rules, never the hub).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from hubd.config.hub import HubConfig, load_config
from hubd.config.locate import find_line
from hubd.config.secrets import resolve_secrets
from hubd.core.errors import ConfigError
from rules.model import Rule, RuleProblem
from rules.parse import Document, read_rules_dir


@dataclass(frozen=True, slots=True)
class CheckedConfig:
    """A configuration that passed the check, with the rules it names, parsed once."""

    config: HubConfig
    document: Document = field(default_factory=Document)

    @property
    def rules(self) -> tuple[Rule, ...]:
        """The rules that parsed."""
        return tuple(self.document.rules)

    @property
    def rule_problems(self) -> tuple[RuleProblem, ...]:
        """The problems of the rules that did not."""
        return tuple(self.document.problems)


def check_config(path: Path, *, radio_libraries: bool = True) -> CheckedConfig:
    """Load path and check everything the daemon would reject; ConfigError if anything is.

    ``radio_libraries=False`` leaves out each radio's check by its own library (zigpy's
    schema), which imports it: ``hubd run`` has the daemon call ``check_radio_libraries`` in a
    thread while the other radios connect (see ``Daemon.config_path``).
    """
    config = load_config(path)
    try:
        config = resolve_secrets(config)
        if radio_libraries:
            _check_radio_libraries(config)
        document = _load_rules(config)
    except ConfigError as exc:
        raise _located(exc, path) from exc.__cause__
    return CheckedConfig(config, document)


def check_radio_libraries(config: HubConfig, path: Path) -> None:
    """What ``check_config(path, radio_libraries=False)`` left out; ConfigError located in path."""
    try:
        _check_radio_libraries(config)
    except ConfigError as exc:
        raise _located(exc, path) from exc.__cause__


def check_file(path: Path) -> HubConfig:
    """The configuration at path, checked as ``check_config`` does (rule problems ignored)."""
    return check_config(path).config


def _located(exc: ConfigError, path: Path) -> ConfigError:
    """exc with the config file and the key's line filled in where it had none."""
    if exc.file is not None and exc.file != str(path):
        return exc  # about another file (a rule, a secret): it says where itself
    line = exc.line
    if line is None and exc.key:
        try:
            line = find_line(path.read_text(encoding="utf-8"), exc.key)
        except (OSError, UnicodeDecodeError):
            line = None
    return ConfigError(exc.message, file=str(path), key=exc.key, line=line)


def _load_rules(config: HubConfig) -> Document:
    """The rules of the rules directory; ConfigError if the directory itself is unusable."""
    rules_dir = config.rules.dir
    if rules_dir is None:
        return Document()
    if not rules_dir.is_dir():
        what = "does not exist" if not rules_dir.exists() else "is not a directory"
        raise ConfigError(f"{rules_dir} {what}", key="rules.dir")
    try:
        return read_rules_dir(rules_dir)
    except OSError as exc:
        raise ConfigError(f"cannot read {rules_dir}: {exc.strerror or exc}",
                          key="rules.dir") from exc
    except RecursionError:
        # The rules parser bounds nesting itself; this only guards the hub against a parser
        # that one day does not.
        problem = RuleProblem(str(rules_dir), 1, "", "a rule file is nested too deeply")
        return Document(problems=[problem])


def _check_radio_libraries(config: HubConfig) -> None:
    """Each radio's settings as its own library checks them (zigpy's schema for Zigbee)."""
    zigbee = config.radios.zigbee
    if zigbee is not None:
        # Imported only when configured: zigpy costs ~40 MiB (the daemon imports it anyway).
        from radios.zigbee.adapter.glue import validate_config

        validate_config(zigbee, zigbee.effective_database_path(config.hub.state_dir))

