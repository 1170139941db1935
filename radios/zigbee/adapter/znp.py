"""zigpy-znp's application with device frames handed to zigpy in the turn they are read.

zigpy-znp registers ``on_af_message`` (AF.IncomingMsg, MT AF 3.2.1.3 → zigpy's
``packet_received``) as a callback, and because it is a coroutine function its listener wraps
each call in a new task: every device frame waits one loop turn (and whatever else is ready
in it) between being read from the line and reaching zigpy, and so hubd. The coroutine never
awaits anything: it builds the ``ZigbeePacket`` and calls ``packet_received``. ``SyncZnp`` runs
that same coroutine to its end at once, inside the frame's own handling; its body, and so
zigpy's handling of every frame, is zigpy-znp's own, unchanged.

Should a later zigpy-znp make ``on_af_message`` wait for something, ``never_suspends`` says so
at import and the class keeps zigpy-znp's own scheduling (a task per frame).

On the way out, the MT API object zigpy-znp builds at ``connect`` becomes an ``EagerZnpApi``
(radios/zigbee/adapter/znp_send.py): a unicast's AF.DataRequestExt is written in the turn the
rule sends it, rather than one turn later by the task zigpy-znp shields it in; and its serial
protocol becomes an ``MtLine`` (radios/zigbee/adapter/znp_line.py): the same MT frames, cut
and built with byte operations rather than zigpy-znp's generic types.
"""

from __future__ import annotations

import dis
from collections.abc import Callable
from typing import Any

from zigpy_znp.api import ZNP
from zigpy_znp.uart import ZnpMtProtocol
from zigpy_znp.zigbee.application import ControllerApplication as Znp

from radios.zigbee.adapter.znp_line import MtLine
from radios.zigbee.adapter.znp_send import EagerZnpApi

# What a coroutine's code needs in order to suspend (await, async for, async with, yield).
_SUSPENDING_OPS = frozenset(("GET_AWAITABLE", "YIELD_VALUE", "SEND", "GET_AITER", "GET_ANEXT",
                             "BEFORE_ASYNC_WITH", "ASYNC_GEN_WRAP"))


def never_suspends(function: Callable[..., Any]) -> bool:
    """True if this coroutine function's own code has no suspension point."""
    return not any(op.opname in _SUSPENDING_OPS for op in dis.get_instructions(function))


_IS_SYNC = never_suspends(Znp.on_af_message)


class SyncZnp(Znp):  # type: ignore[misc]
    """zigpy-znp's ControllerApplication; device frames reach zigpy without a task each, and
    a unicast's data request is written in the sender's turn (``znp_send``)."""

    async def connect(self) -> None:
        """zigpy-znp's connect; its MT API object then writes data requests eagerly, and its
        serial protocol frames with byte operations."""
        await super().connect()
        if type(self._znp) is ZNP:  # EagerZnpApi adds methods only, no state
            self._znp.__class__ = EagerZnpApi
        if type(self._znp._uart) is ZnpMtProtocol:  # MtLine: methods only, no state
            self._znp._uart.__class__ = MtLine

    if _IS_SYNC:
        def on_af_message(self, msg: Any) -> None:
            """zigpy-znp's own handler, run to its end now (it never waits)."""
            coroutine = super().on_af_message(msg)
            try:
                coroutine.send(None)
            except StopIteration:
                return
            coroutine.close()  # unreachable: checked by never_suspends
            raise RuntimeError("zigpy-znp's on_af_message suspended")
