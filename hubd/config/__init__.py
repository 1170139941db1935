"""hubd's configuration: TOML (tomllib) into frozen dataclasses; ConfigError names file and key."""

from hubd.config.check import CheckedConfig, check_config, check_file
from hubd.config.convert import bounds, checked, from_table
from hubd.config.hub import (
    HubConfig,
    HubSection,
    LogLevel,
    LogSection,
    RadiosConfig,
    RulesSection,
    StoreSection,
    default_state_dir,
    load_config,
    parse_config,
)
from hubd.config.locate import find_line

__all__ = [
    "CheckedConfig",
    "HubConfig",
    "HubSection",
    "LogLevel",
    "LogSection",
    "RadiosConfig",
    "RulesSection",
    "StoreSection",
    "bounds",
    "check_config",
    "check_file",
    "checked",
    "default_state_dir",
    "find_line",
    "from_table",
    "load_config",
    "parse_config",
]
