"""Requests to a vendor trigger's URL (GitHub, Stripe, Slack, Telegram; backend/vendorhooks registers them).

In this order, so nothing reads a forged body: the raw body is read within the webhook body limit; the node's
``refusal`` checks the vendor's signature (or secret header) on those bytes with the secret stored at
registration; a refusal is a 401 and starts nothing. Only then is the body parsed (with the depth and field
limits of every webhook), a handshake answered (GitHub's ping, Slack's url_verification), an event type the
node does not listen to acknowledged with 200 and no run, and any other event queued as an execution (202
with its id: vendors want a quick 2xx and retry otherwise).
"""

from __future__ import annotations

import asyncio
import json
import time

from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import Response

from backend.billing import hooks as billing
from backend.errors import NotFound, UserError
from backend.settings import get_settings
from backend.storage.binary import StorageBinaryStore
from backend.storage.service import get_storage
from backend.vendorhooks.service import VendorTarget, request_secret
from backend.webhooks.intake import read_body, request_item
from backend.webhooks.persist import ordered_id
from backend.webhooks.runs import Trigger, queue_run
from backend.webhooks.sender import send_soon


class VendorUnauthorized(UserError):
    status_code = 401
    code = "unauthorized"


async def answer(request: Request, trigger: Trigger, target, path: str, vendor: VendorTarget,
                 seen) -> Response:
    body = await read_body(request, get_settings().http.webhook_body_limit_bytes)
    seen.body_bytes = len(body)
    secret = await asyncio.to_thread(request_secret, trigger.workflow_id, trigger.node_id, path)
    if secret is None:
        raise NotFound(f"the {vendor.trigger.vendor} trigger of workflow {trigger.workflow_id} is not registered at "
                       "this URL; activate the workflow again")
    refusal = vendor.trigger.refusal(request.headers, body, secret, time.time(), vendor.params)
    if refusal is not None:
        raise VendorUnauthorized(f"the {vendor.trigger.vendor} trigger refused the request: {refusal}")
    execution_id = ordered_id()
    files = StorageBinaryStore(get_storage(), trigger.team_id, execution_id)
    request_data = (await request_item(request, body, {}, files, secret_header=vendor.trigger.secret_header))["json"]
    document = request_data["body"]
    handshake = vendor.trigger.handshake(request.headers, document)
    if handshake is not None:
        return _json(handshake[1], handshake[0])
    if not vendor.trigger.wanted(request.headers, document, vendor.params):
        return _json({"ignored": True, "reason": "the trigger does not listen to this event type"}, 200)
    billing.admit_execution(trigger.team_id, trigger.mode)  # 402 past the plan's executions (+ grace)
    try:
        item = {"json": vendor.trigger.item(request_data)}
        execution_id = seen.execution_id = await queue_run(trigger, target, item, execution_id)
    except BaseException:
        billing.release_execution(trigger.team_id, trigger.mode)
        raise
    return _json({"execution_id": execution_id}, 202, background=BackgroundTask(send_soon, execution_id))


def _json(content: object, status: int, background: BackgroundTask | None = None) -> Response:
    return Response(json.dumps(content, separators=(",", ":")).encode(), status_code=status,
                    media_type="application/json", background=background)
