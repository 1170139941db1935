"""Secrets kept outside hub.toml: a 0600 file named by the config, or a systemd credential.

hub.toml is often shared to get help; a password inside it travels with it. The Lutron telnet
password may instead live in a file of its own (``password_file``, readable by its owner only),
or come from systemd: ``LoadCredential=lutron-password:/etc/hubd/lutron-password`` in a drop-in
puts it in ``$CREDENTIALS_DIRECTORY`` (systemd.exec(5), "Credentials"), where no other unit and
no other user can read it. A file named in the config wins over a credential, which wins over
``password`` in hub.toml.
"""

from __future__ import annotations

import dataclasses
import os
import stat
from collections.abc import Mapping
from pathlib import Path

from hubd.config.hub import HubConfig
from hubd.core.errors import ConfigError

LUTRON_CREDENTIAL = "lutron-password"
MAX_SECRET_BYTES = 4096


def read_secret(path: Path, key: str) -> str:
    """The secret in path (one line, trailing newline dropped); ConfigError unless the file is
    a regular file that only its owner may read."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError as exc:
        raise ConfigError(f"cannot read the secret file {path}: {exc.strerror or exc}",
                          key=key) from exc
    with os.fdopen(fd, "rb") as file:
        info = os.fstat(file.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise ConfigError(f"the secret file {path} is not a regular file", key=key)
        if info.st_mode & 0o077:
            raise ConfigError(f"the secret file {path} may be read by others (mode "
                              f"{stat.S_IMODE(info.st_mode):04o}); make it 0600", key=key)
        data = file.read(MAX_SECRET_BYTES + 1)
    if len(data) > MAX_SECRET_BYTES:
        raise ConfigError(f"the secret file {path} is over {MAX_SECRET_BYTES} bytes", key=key)
    try:
        text = data.decode("utf-8").rstrip("\r\n")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"the secret file {path} is not UTF-8 text", key=key) from exc
    if not text or "\n" in text:
        raise ConfigError(f"the secret file {path} must hold one non-empty line", key=key)
    return text


def resolve_secrets(config: HubConfig, environ: Mapping[str, str] | None = None) -> HubConfig:
    """config with secrets read from their files or systemd credentials."""
    lutron = config.radios.lutron
    if lutron is None:
        return config
    env = os.environ if environ is None else environ
    password: str | None = None
    if lutron.password_file is not None:
        password = read_secret(lutron.password_file, "radios.lutron.password_file")
    elif credentials := env.get("CREDENTIALS_DIRECTORY"):
        credential = Path(credentials) / LUTRON_CREDENTIAL
        if credential.exists():
            # systemd made it 0400 for our user; the mode check holds all the same.
            password = read_secret(credential, "radios.lutron.password")
    if password is None:
        return config
    radios = dataclasses.replace(config.radios,
                                 lutron=dataclasses.replace(lutron, password=password))
    return dataclasses.replace(config, radios=radios)
