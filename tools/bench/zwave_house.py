"""Z-Wave in the bench house as on the hub: zwave-js-server runs beside hubd, not under it.

On the hub systemd runs zwave-js-server as its own unit (``systemd/zwave-js-server.service``)
and hubd connects to it by ``url``; restarting hubd leaves the server and its interviewed nodes
up. So the footprint's house starts Z-Wave JS's mock controller with the demo's eight nodes and
the server on it (``ServerProcess``, the same command line hubd would spawn), waits until every
node is interviewed, and declares the server's pid as a sidecar: the footprint counts its
memory as the hub's. The mock controller is the simulated stick, not part of the hub.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

from hubd.core.errors import HubError
from radios.zwave.client import ZwaveClient
from radios.zwave.session import parse_state
from radios.zwave.sidecar import ServerProcess
from radios.zwave.sim.demo import DEMO_NODES, demo_stick
from tools.bench.house import RadioPart

INTERVIEWED_TIMEOUT_S = 180.0  # Node loading zwave-js is 6-8 s on a loaded VM; 8 interviews
RULES = """rules:
  - {id: zw-window, triggers: [{kind: state, device: 'zwave:5', attribute: contact.is_open,
     to: true}], actions: [{kind: command, device: 'zwave:2', command: switch.on}]}
  - {id: zw-stairs, mode: restart, triggers: [{kind: state, device: 'zwave:6',
     attribute: motion.is_active, to: true}], actions: [{kind: command, device: 'zwave:3',
     command: level.set, args: {level_pct: 40}}, {kind: delay, duration: 2m},
     {kind: command, device: 'zwave:3', command: switch.off}]}
"""


async def _nodes_ready(url: str) -> bool:
    """Whether the server answers and has every demo node interviewed."""
    try:
        client = await ZwaveClient.open(url, lambda _: None, timeout_s=2.0,
                                        request_timeout_s=10.0, heartbeat_s=20.0)
    except HubError:
        return False
    reader = asyncio.get_running_loop().create_task(client.run())
    try:
        await client.request("set_api_schema", {"schemaVersion": client.schema})
        _, nodes = parse_state(await client.request("start_listening"))
        ready = {n.node_id for n in nodes if n.is_ready}
        return set(DEMO_NODES) <= ready
    except HubError:
        return False
    finally:
        await client.close()
        reader.cancel()
        await asyncio.gather(reader, return_exceptions=True)


async def _stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def zwave_part(stack: contextlib.AsyncExitStack, root: Path) -> RadioPart:
    """The mock stick and zwave-js-server running beside hubd; ``[radios.zwave]`` by url."""
    (root / "zwave-sim").mkdir(exist_ok=True)
    _, settings = await stack.enter_async_context(demo_stick(root / "zwave-sim"))
    server = ServerProcess(settings, root / "zwave-server")
    task = asyncio.get_running_loop().create_task(server.run())
    stack.push_async_callback(_stop, task)
    async with asyncio.timeout(INTERVIEWED_TIMEOUT_S):
        while not await _nodes_ready(settings.url):
            if task.done():
                task.result()  # the server exited: say why
            await asyncio.sleep(0.5)
    assert server.pid is not None
    return RadioPart(f'[radios.zwave]\nurl = "{settings.url}"\n', RULES, len(DEMO_NODES),
                     sidecar_pids=(server.pid,))
