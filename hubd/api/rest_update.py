"""REST handlers for updates: the status, a bundle upload (streamed), the reboot into it.

``POST /update/bundle`` takes the raw bundle (``application/octet-stream``, as
``tools/release`` writes it) and streams it to the update service, which spools it to disk
within the slot's size cap; the answer comes once the bundle is verified: 202 while it is written
(follow ``update_progress`` events on the WebSocket, or poll ``GET /update``), 422 with the reason
when it is refused (nothing changed), 409 while another install runs.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from hubd.api import schemas
from hubd.api.app import Route, json_response, state_of, token_of
from hubd.api.auth import Scope
from hubd.api.ports import UpdatesPort
from hubd.api.problems import ApiProblem, Code
from hubd.core.errors import BundleRejectedError, UpdateBusyError, UpdateError
from hubd.core.model import api_origin

CHUNK_BYTES = 256 * 1024


def _updates(request: web.Request) -> UpdatesPort:
    updates = state_of(request).updates
    if updates is None:
        raise ApiProblem(Code.UNAVAILABLE, "this hub takes no update bundles (no [update] "
                         "section in its configuration)")
    return updates


async def get_update(request: web.Request) -> web.Response:
    """The running version and slot, and the last install's progress."""
    return json_response(_updates(request).status().as_json())


async def _chunks(request: web.Request) -> AsyncIterator[bytes]:
    async for chunk in request.content.iter_chunked(CHUNK_BYTES):
        yield chunk


async def upload_bundle(request: web.Request) -> web.Response:
    """Install an uploaded bundle; answers once it is verified (or refused)."""
    updates = _updates(request)
    if request.content_type not in ("application/octet-stream", ""):
        raise ApiProblem(Code.UNSUPPORTED_MEDIA_TYPE, "send the bundle as "
                         f"application/octet-stream, not {request.content_type}")
    cap = updates.status().max_bundle_bytes
    if request.content_length is not None and cap and request.content_length > cap:
        raise ApiProblem(Code.BODY_TOO_LARGE, f"a bundle of {request.content_length} bytes "
                         f"cannot fit the inactive slot (at most {cap})")
    origin = api_origin(token_of(request).client)
    try:
        status = await updates.upload(_chunks(request), request.content_length, origin)
    except UpdateBusyError as exc:
        raise ApiProblem(Code.UPDATE_BUSY, str(exc)) from exc
    except BundleRejectedError as exc:
        raise ApiProblem(Code.UPDATE_REJECTED, str(exc), reason=str(exc)) from exc
    except UpdateError as exc:
        raise ApiProblem(Code.UPDATE_REJECTED, str(exc), reason=str(exc)) from exc
    return json_response(status.as_json(), 202)


async def reboot(request: web.Request) -> web.Response:
    """Reboot into the committed update."""
    updates = _updates(request)
    try:
        await updates.reboot(api_origin(token_of(request).client))
    except UpdateError as exc:
        raise ApiProblem(Code.CONFLICT, str(exc)) from exc
    return json_response(updates.status().as_json(), 202)


ROUTES = [
    Route("GET", "/update", get_update, Scope.READ, "Running version, slot and update progress",
          "getUpdate", response=schemas.UPDATE_STATUS, errors=(401, 403, 503), tags=("update",)),
    Route("POST", "/update/bundle", upload_bundle, Scope.ADMIN,
          "Upload and install an update bundle; 202 once verified, then follow its progress",
          "uploadBundle", body=schemas.BUNDLE, response=schemas.UPDATE_STATUS, status=202,
          errors=(401, 403, 409, 413, 415, 422, 503),
          body_types=("application/octet-stream",), tags=("update",)),
    Route("POST", "/update/reboot", reboot, Scope.ADMIN, "Reboot into the committed update",
          "rebootIntoUpdate", response=schemas.UPDATE_STATUS, status=202,
          errors=(401, 403, 409, 503), tags=("update",)),
]
