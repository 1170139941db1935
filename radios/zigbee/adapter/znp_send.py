"""zigpy-znp's MT API with a device's data request written in the caller's turn.

Theory of operation. zigpy-znp sends a unicast to a device (``_send_request_raw``) as an
AF.DataRequestExt or AF.DataRequestSrcRtg SREQ (MT AF 3.2.1.1), then waits for its SRSP and
for the AF.DataConfirm callback that tells the frame's fate, inside ``asyncio.shield`` so
that a caller's timeout never leaves those answers unmatched. The shield makes a task of the
coroutine, and the bytes are written only when that task first runs: one loop turn after
the rule decided, behind whatever else is ready in that turn.

``EagerZnpApi.request_callback_rsp`` splits such a request where the original first waits:
when the SREQ lock is free (no request outstanding, nobody queued for it), it takes the
lock and writes the frame in the caller's turn, then registers the same listeners zigpy-znp
registers (the AF.DataConfirm with the request's TSN; the SRSP, or MT's "command not
recognized" for it) before that turn ends, so before any answer can be read. It returns a
task that waits for the answers with zigpy-znp's timeout, frees the lock at the SRSP and
raises what zigpy-znp raises (``CommandNotRecognized``, ``InvalidCommandResponse`` for an
SRSP that is not a success). So:

- one SREQ at a time (MT API 2.1.1) still holds: the lock is zigpy-znp's own; when it is
  taken or has waiters (a reset or ping first by priority), zigpy-znp's own coroutine runs,
  unchanged, and queues as before;
- the answers are matched by zigpy-znp's own listeners and ``frame_received``;
- ``_send_request_raw`` still shields the returned task, so a caller's timeout leaves it to
  match its answers and free the lock; route repair and retries in ``send_packet`` see the
  same exceptions, as they wrap this call unchanged;
- the lock and the listeners are freed by the task's done callback too, so a task
  cancelled before it ever ran (a loop shutting down) cannot leave the line locked.

Every other request, and multicasts (``background``), take zigpy-znp's path.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

import zigpy_znp.commands as c
import zigpy_znp.config as conf
from zigpy_znp.api import ZNP
from zigpy_znp.exceptions import CommandNotRecognized, InvalidCommandResponse

# The SREQs zigpy-znp wraps in a shielded task (its ``_send_request_raw``, unicasts).
_DATA_REQUESTS = (c.AF.DataRequestExt.Req, c.AF.DataRequestSrcRtg.Req)


class EagerZnpApi(ZNP):  # type: ignore[misc]
    """zigpy-znp's ZNP; a data request's frame is written in the caller's turn when it may."""

    def request_callback_rsp(self, *, request: Any, callback: Any, timeout: float | None = None,
                             background: bool = False, **response_params: Any) -> Awaitable[Any]:
        """zigpy-znp's SREQ → SRSP → callback; the frame already written when this returns,
        if the line is free and the request is a unicast data request."""
        if (background or type(request) not in _DATA_REQUESTS or self._uart is None
                or self._sync_request_lock.locked()):
            return super().request_callback_rsp(  # type: ignore[no-any-return]
                request=request, callback=callback, timeout=timeout, background=background,
                **response_params)
        if timeout is None:
            timeout = self._znp_config[conf.CONF_ARSP_TIMEOUT]
        if any(not name.startswith("Rsp") for name in response_params):
            raise KeyError(f"response parameters start with 'Rsp': {response_params!r}")
        frame = request.to_frame(align=self.nvram.align_structs)
        _take_now(self._sync_request_lock)
        lock = _Held(self._sync_request_lock)
        try:
            self._uart.send(frame)
        except BaseException:
            lock.release()
            raise
        # Listening after the write is as early as before it: answers are read, and matched,
        # only once this turn is over. Building them here keeps their cost off the line.
        confirm, confirm_listener = self.wait_for_responses([callback], context=True)
        srsp = self.wait_for_responses([
            request.Rsp(partial=True),
            c.RPCError.CommandNotRecognized.Rsp(partial=True, RequestHeader=request.header)])
        task = asyncio.ensure_future(
            self._answers(request, response_params, srsp, confirm, lock, timeout))

        def tidy(_: object) -> None:
            lock.release()
            srsp.cancel()
            self.remove_listener(confirm_listener)

        task.add_done_callback(tidy)
        return task

    async def _answers(self, request: Any, response_params: dict[str, Any],
                       srsp: asyncio.Future[Any], confirm: asyncio.Future[Any], lock: _Held,
                       within_s: float) -> Any:
        """The SRSP (then the lock is free) and the callback, as zigpy-znp checks them."""
        expected = request.Rsp(partial=True, **{name.removeprefix("Rsp"): value
                                                for name, value in response_params.items()})
        async with asyncio.timeout(within_s):
            try:
                response = await srsp
            finally:
                lock.release()
            if isinstance(response, c.RPCError.CommandNotRecognized.Rsp):
                raise CommandNotRecognized(
                    f"Fatal request error {response} in response to {request}")
            if not expected.matches(response):
                raise InvalidCommandResponse(
                    f"Expected SRSP response {expected}, got {response}", response)
            return await confirm


class _Held:
    """The SREQ lock while this request holds it; released once."""

    def __init__(self, lock: Any) -> None:
        self._lock: Any = lock

    def release(self) -> None:
        """Free the line for the next SREQ (again: nothing)."""
        if self._lock is not None:
            lock, self._lock = self._lock, None
            lock.release()


def _take_now(lock: Any) -> None:
    """Acquire a free zigpy PriorityLock in this turn (its acquire does not wait when free)."""
    acquiring = lock.acquire()
    try:
        acquiring.send(None)
    except StopIteration:
        return
    acquiring.close()  # unreachable: the caller checked ``locked()``
    raise RuntimeError("the SREQ lock was not free")
