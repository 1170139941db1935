"""The start of ``hubd run``: the heavy modules its config needs, imported in a thread at once.

Zigbee is the start's longest chain (zigpy's import, then the stick's requests and zigpy's
database load); the check of the config, the store's load and the other radios' links come
before or beside it. ``hubd run`` reads which radios and whether the LAN API the TOML turns on
(tomllib only: the check proper comes next, and a file it cannot read prefetches nothing) and
imports their modules in a thread from its first moment, so that the chain's waits on the stick
and on the disk overlap the main thread's work. A module that fails to import here is imported
again where the daemon needs it, which raises its error where it belongs.

While that thread imports, ``SSL_CERT_FILE`` names an empty file: aiohttp (two default client
contexts) and zigpy's OTA providers (three) each build an SSL context at import, and each would
parse the whole CA bundle (~0.08 s of CPU and ~1.1 MiB apiece) for contexts a start never uses.
Those contexts then find the same system CAs in OpenSSL's hashed directory, looked up when a
certificate is verified (Debian's ca-certificates fills both). Done only when that directory
holds hashed certificates and the environment does not set ``SSL_CERT_FILE`` itself; set before
the thread starts and removed when it ends (unsetenv frees nothing another thread could read).
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import os
import re
import ssl
import threading
import tomllib
from collections.abc import Iterator
from pathlib import Path

from hubd.config.hub import MAX_CONFIG_BYTES

log = logging.getLogger(__name__)

# In the order the daemon needs them: Lutron's driver first (it starts first), Zigbee's (the
# longest chain), Z-Wave's, then the LAN API's (it starts last, after the rules).
RADIO_MODULES = (("lutron", "radios.lutron.driver"), ("zigbee", "radios.zigbee.driver"),
                 ("zwave", "radios.zwave.driver"))
API_MODULE = "hubd.apiwire"
CA_FILE_ENV = "SSL_CERT_FILE"
_HASHED = re.compile(r"^[0-9a-f]{8}\.\d+$")


def modules_for(config_path: Path) -> list[str]:
    """The heavy modules the config at config_path turns on; none if it cannot be read."""
    try:
        with config_path.open("rb") as file:
            data = file.read(MAX_CONFIG_BYTES + 1)
        if len(data) > MAX_CONFIG_BYTES:
            return []
        toml = tomllib.loads(data.decode("utf-8"))
    except (OSError, ValueError, RecursionError):  # TOMLDecodeError, UnicodeDecodeError too
        return []
    radios = toml.get("radios")
    wanted = set(radios) if isinstance(radios, dict) else set()
    modules = [module for name, module in RADIO_MODULES if name in wanted]
    if isinstance(toml.get("api"), dict):
        modules.append(API_MODULE)
    return modules


def has_hashed_cas(directory: str | None) -> bool:
    """Whether directory holds CA certificates under OpenSSL's hashed names (``5ad8a5d6.0``)."""
    if not directory:
        return False
    try:
        with os.scandir(directory) as entries:
            return any(_HASHED.match(entry.name) for entry in entries)
    except OSError:
        return False


@contextlib.contextmanager
def no_ca_bundle() -> Iterator[bool]:
    """SSL contexts built inside skip the CA bundle file; yields whether that is so."""
    if CA_FILE_ENV in os.environ or not has_hashed_cas(ssl.get_default_verify_paths().capath):
        yield False
        return
    os.environ[CA_FILE_ENV] = os.devnull
    try:
        yield True
    finally:
        os.environ.pop(CA_FILE_ENV, None)


def _import_all(modules: list[str], lean_ca: contextlib.ExitStack) -> None:
    with lean_ca:
        for module in modules:
            try:
                importlib.import_module(module)
            except Exception as exc:  # noqa: BLE001 - the daemon imports it again, reports it
                log.debug("event=prefetch_failed module=%s error=%r", module, exc)


def start(config_path: Path) -> threading.Thread | None:
    """Import what the config at config_path needs in a daemon thread; None if nothing."""
    modules = modules_for(config_path)
    if not modules:
        return None
    lean_ca = contextlib.ExitStack()
    lean_ca.enter_context(no_ca_bundle())  # here, in the main thread, before any other thread
    thread = threading.Thread(target=_import_all, args=(modules, lean_ca), name="prefetch",
                              daemon=True)
    thread.start()
    return thread
