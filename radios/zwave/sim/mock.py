"""Z-Wave JS's mock controller as hubd's Z-Wave simulator: spawn it, drive it, read its frames.

``mock_controller.cjs`` runs zwave-js's MockController and MockNodes behind a Serial API on TCP
(127.0.0.1, no mDNS, chunks split into single Serial API frames). ``MockStick`` starts it and
speaks its line-JSON control port: make a node report (a notification, a scene, a temperature),
queue a node for inclusion or exclusion, and see each command a node receives with its
CLOCK_MONOTONIC time (the same clock as ``time.monotonic_ns``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from hubd.core.errors import RemoteProtocolError, TransientError
from radios.zwave.settings import REPO_ROOT

log = logging.getLogger(__name__)

SCRIPT = Path(__file__).with_name("mock_controller.cjs")
_LISTENING = re.compile(rb"serial=tcp://127\.0\.0\.1:(\d+) control=127\.0\.0\.1:(\d+)")

# The nodes every simulated network starts with: id -> kind (see mock_nodes.cjs).
DEFAULT_NODES = {2: "binary_switch", 3: "dimmer", 4: "door_lock", 5: "door_window", 6: "motion",
                 7: "temperature", 8: "thermostat", 9: "remote"}


@dataclass(frozen=True, slots=True)
class NodeFrame:
    """A command a mock node received from the controller, and when (monotonic ns)."""

    node_id: int
    command: str
    t_ns: int


class MockStick:
    """One mock controller process and a connection to its control port."""

    def __init__(self, process: asyncio.subprocess.Process, serial_port: int,
                 control_port: int, *, args: list[str]) -> None:
        self._process = process
        self._args = args
        self.serial_port = serial_port
        self.control_port = control_port
        self.frames: asyncio.Queue[NodeFrame] = asyncio.Queue()
        self.labels: asyncio.Queue[tuple[int, str, str]] = asyncio.Queue()  # id, DSK, PIN
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._answers: asyncio.Queue[dict[str, object]] = asyncio.Queue()
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._drain: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        """The Serial API endpoint zwave-js-server opens."""
        return f"tcp://127.0.0.1:{self.serial_port}"

    async def _connect(self) -> None:
        self._reader, self._writer = await asyncio.open_connection("127.0.0.1",
                                                                   self.control_port)
        loop = asyncio.get_running_loop()
        self._task = loop.create_task(self._read())
        self._drain = loop.create_task(self._forward_output())

    async def _forward_output(self) -> None:
        """The mock's own output goes to the log (and never fills its pipe)."""
        assert self._process.stdout is not None
        async for line in self._process.stdout:
            log.debug("mock controller: %s", line.decode(errors="replace").rstrip())

    async def _read(self) -> None:
        assert self._reader is not None
        async for line in self._reader:
            message = json.loads(line)
            if message.get("ev") == "frame":
                self.frames.put_nowait(NodeFrame(int(message["id"]), str(message["cc"]),
                                                 int(message["t_ns"])))
            elif message.get("ev") == "dsk":
                self.labels.put_nowait((int(message["id"]), str(message["dsk"]),
                                        str(message["pin"])))
            else:
                self._answers.put_nowait(message)

    async def call(self, op: str, **args: object) -> dict[str, object]:
        """One control request; RemoteProtocolError if the mock refuses it."""
        assert self._writer is not None
        async with self._lock:
            self._writer.write(json.dumps({"op": op, **args}).encode() + b"\n")
            await self._writer.drain()
            async with asyncio.timeout(10):
                answer = await self._answers.get()
        if answer.get("ok") is not True:
            raise RemoteProtocolError(f"mock controller: {answer.get('error')}")
        return answer

    async def notify(self, node_id: int, notification_type: int, event: int) -> int:
        """Make a node send a Notification Report; return when it was written (ns)."""
        answer = await self.call("notify", id=node_id, type=notification_type, event=event)
        return int(str(answer["t_ns"]))

    async def scene(self, node_id: int, scene: int, key: int = 0) -> int:
        """Make a remote send a Central Scene Notification (key 0 pressed, 2 held...)."""
        answer = await self.call("scene", id=node_id, scene=scene, key=key)
        return int(str(answer["t_ns"]))

    async def temperature(self, node_id: int, celsius: float) -> int:
        """Make a sensor report an air temperature."""
        answer = await self.call("sensor", id=node_id, celsius=celsius)
        return int(str(answer["t_ns"]))

    async def queue_inclusion(self, node_id: int, kind: str) -> None:
        """A node of this kind joins at the controller's next inclusion."""
        await self.call("include", id=node_id, kind=kind)

    async def queue_exclusion(self, node_id: int) -> None:
        """This node leaves at the controller's next exclusion."""
        await self.call("exclude", id=node_id)

    async def wait_frame(self, node_id: int, command: str, timeout_s: float = 10.0
                         ) -> NodeFrame:
        """The next frame of this command to this node (others are dropped)."""
        async with asyncio.timeout(timeout_s):
            while True:
                frame = await self.frames.get()
                if frame.node_id == node_id and frame.command == command:
                    return frame

    async def unplug_and_replug(self) -> None:
        """Kill the stick (SIGKILL, as a yanked USB stick) and start it again on its ports."""
        await self.close(kill=True)
        self._process, _, _ = await _spawn(self._args, self.serial_port, self.control_port)
        self._answers = asyncio.Queue()
        await self._connect()

    async def close(self, *, kill: bool = False) -> None:
        """Stop the mock controller."""
        if self._writer is not None:
            self._writer.close()
        for task in (self._task, self._drain):
            if task is not None:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        if self._process.returncode is None and kill:
            self._process.kill()
        if self._process.returncode is None:
            self._process.terminate()
            try:
                async with asyncio.timeout(5):
                    await self._process.wait()
            except TimeoutError:
                self._process.kill()
                await self._process.wait()


async def _spawn(args: list[str], serial_port: int, control_port: int
                 ) -> tuple[asyncio.subprocess.Process, int, int]:
    """Start the mock controller; its process and the ports it listens on."""
    process = await asyncio.create_subprocess_exec(
        *args, "--port", str(serial_port), "--control-port", str(control_port), cwd=REPO_ROOT,
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT)
    try:
        assert process.stdout is not None
        async with asyncio.timeout(30):
            while True:
                line = await process.stdout.readline()
                if not line:
                    raise TransientError("the mock controller exited while starting")
                match = _LISTENING.search(line)
                if match:
                    return process, int(match[1]), int(match[2])
                log.info("mock controller: %s", line.decode(errors="replace").rstrip())
    except BaseException:
        if process.returncode is None:
            process.kill()
            await process.wait()
        raise


@contextlib.asynccontextmanager
async def mock_stick(nodes: dict[int, str] | None = None, state_path: Path | None = None,
                     names: dict[int, tuple[str, str]] | None = None,
                     node_bin: str = "node") -> AsyncIterator[MockStick]:
    """Run a mock controller with these nodes (or those saved at state_path) until exit;
    ``names`` gives nodes a name and location of their own (Node Naming and Location CC)."""
    chosen = DEFAULT_NODES if nodes is None else nodes
    args = [node_bin, str(SCRIPT),
            "--nodes", ",".join(f"{i}:{k}" for i, k in sorted(chosen.items())),
            "--names", json.dumps({str(i): list(n) for i, n in (names or {}).items()})]
    if state_path is not None:
        args += ["--state", str(state_path)]
    stick = MockStick(*await _spawn(args, 0, 0), args=args)
    try:
        await stick._connect()
        yield stick
    finally:
        await stick.close()
