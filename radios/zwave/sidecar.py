"""zwave-js-server as hubd's child process (development, tests, ``make demo``).

On the hub systemd runs the server (``systemd/zwave-js-server.service``); elsewhere hubd spawns
it and the daemon supervises ``ServerProcess.run`` (hubd.supervise: restart with backoff). The
server listens on 127.0.0.1 only, without mDNS (``--disable-dns-sd``); its config file holds the
network keys, generated once into ``state_dir/zwave/keys.json`` and written mode 0600, as is the
config itself. Its output is forwarded line by line to hubd's log.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import secrets
from pathlib import Path

from hubd.core.errors import ConfigError, TransientError
from radios.zwave.settings import ZwaveSettings

log = logging.getLogger("radios.zwave.server")

KEY_NAMES = ("S0_Legacy", "S2_Unauthenticated", "S2_Authenticated", "S2_AccessControl")
LR_KEY_NAMES = ("S2_Authenticated", "S2_AccessControl")


def _write_private(path: Path, text: str) -> None:
    """Write a file only its owner can read (it holds network keys)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)
    os.chmod(path, 0o600)  # an older file may have been created with other bits


def network_keys(directory: Path) -> dict[str, dict[str, str]]:
    """The network's security keys, generated on first use and kept in keys.json (0600)."""
    path = directory / "keys.json"
    if path.exists():
        keys = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(keys, dict) or set(keys.get("securityKeys", {})) != set(KEY_NAMES):
            raise ConfigError(f"{path} does not hold the four Z-Wave network keys", file=str(path))
        return keys
    keys = {"securityKeys": {name: secrets.token_hex(16) for name in KEY_NAMES},
            "securityKeysLongRange": {name: secrets.token_hex(16) for name in LR_KEY_NAMES}}
    _write_private(path, json.dumps(keys, indent=1))
    return keys


def write_server_config(directory: Path, log_level: str = "warn") -> Path:
    """The zwave-js driver options file zwave-server reads (--config), written 0600."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    options: dict[str, object] = dict(network_keys(directory))
    options.update({
        "storage": {"cacheDir": str(directory / "cache")},
        "logConfig": {"enabled": True, "level": log_level, "logToFile": False,
                      "forceConsole": True},  # to hubd's log even without a TTY
        "emitValueUpdateAfterSetValue": True,
    })
    path = directory / "server-config.json"
    _write_private(path, json.dumps(options, indent=1))
    return path


# V8's young generation defaults to 16 MiB semi-spaces, sized for throughput; the server's traffic
# is a few messages a second. At 1 MiB its RSS with the demo's 8 nodes interviewed is 121 MiB
# instead of 163 (tools/bench footprint), which keeps the whole hub under 256 MB.
NODE_FLAGS = ("--max-semi-space-size=1",)


def server_command(settings: ZwaveSettings, config_path: Path) -> list[str]:
    """The command line of zwave-js-server bound to 127.0.0.1 on the settings' port."""
    return [settings.node_bin, *NODE_FLAGS, str(settings.server_bin), settings.serial_path,
            "--host", "127.0.0.1", "--port", str(settings.port), "--disable-dns-sd",
            "--config", str(config_path)]


class ServerProcess:
    """One run of zwave-js-server: ``run`` returns never; it raises when the server exits."""

    def __init__(self, settings: ZwaveSettings, state_dir: Path) -> None:
        if not settings.spawns_server:
            raise ConfigError("radios.zwave.serial_path is empty: nothing to spawn")
        if not settings.server_bin.exists():
            raise ConfigError(f"{settings.server_bin} is missing: run `make npm` (npm ci)",
                              key="radios.zwave.server_bin")
        self._settings = settings
        self._directory = state_dir / "zwave"
        self.pid: int | None = None
        self.starts = 0

    async def run(self) -> None:
        """Start the server, forward its output, and raise TransientError when it exits."""
        config = await asyncio.to_thread(write_server_config, self._directory)
        command = server_command(self._settings, config)
        process = await asyncio.create_subprocess_exec(
            *command, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT)
        self.pid = process.pid
        self.starts += 1
        log.info("event=zwave_server_started pid=%d serial=%s port=%d", process.pid,
                 self._settings.serial_path, self._settings.port)
        try:
            assert process.stdout is not None
            async for line in process.stdout:
                text = line.decode("utf-8", "replace").rstrip()
                if text:
                    log.info("zwave-js-server: %s", text)
            code = await process.wait()
        finally:
            self.pid = None
            await self._stop(process)
        raise TransientError(f"zwave-js-server exited with status {code}")

    async def _stop(self, process: asyncio.subprocess.Process) -> None:
        if process.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            process.terminate()
        try:
            async with asyncio.timeout(self._settings.stop_timeout_s):
                await asyncio.shield(process.wait())
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()


def main(argv: list[str]) -> int:
    """``python -m radios.zwave.sidecar DIR``: write the server's config and keys (systemd's
    ExecStartPre on the hub); keys already there are kept."""
    if len(argv) != 1:
        log.error("usage: python -m radios.zwave.sidecar STATE_DIRECTORY")
        return 2
    write_server_config(Path(argv[0]))
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(main(sys.argv[1:]))
