"""The relay is its own distribution: the hub's wheel (and so its image) carries none of it."""

from __future__ import annotations

import configparser
import fnmatch
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def find_packages(include: list[str]) -> list[str]:
    """What setuptools' find_packages(include=...) picks from the tree (packages with an
    __init__.py, top-down from the root, whose dotted name matches a pattern)."""
    found = []
    for init in ROOT.rglob("__init__.py"):
        parts = init.parent.relative_to(ROOT).parts
        if any(p.startswith(".") or p in ("node_modules", "build") for p in parts):
            continue
        if all((ROOT.joinpath(*parts[:n]) / "__init__.py").exists() for n in range(1, len(parts))):
            name = ".".join(parts)
            if any(fnmatch.fnmatchcase(name, pattern) for pattern in include):
                found.append(name)
    return found


def test_the_hub_wheel_has_no_relay() -> None:
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    include = config["options.packages.find"]["include"].split()
    packages = find_packages(include)
    assert "hubd.tunnel" in packages
    assert not [p for p in packages if p == "tools" or p.startswith("tools.")]
    scripts = config["options.entry_points"]["console_scripts"]
    assert "hubd-relay" not in scripts
    assert "nats" not in config["options"]["install_requires"]
    # The hub runs on uvloop too (hubd.loop): its wheel carries it.
    assert any(r.startswith("uvloop") for r in config["options"]["install_requires"].split())


def test_the_relay_distribution_has_its_entry_point_and_deps() -> None:
    project = tomllib.loads((ROOT / "tools/relay/pyproject.toml").read_text())["project"]
    assert project["scripts"]["hubd-relay"] == "tools.relay.cli:main"
    names = {d.split(">")[0].split("=")[0] for d in project["dependencies"]}
    assert {"hubd", "nats-py", "uvloop"} <= names
