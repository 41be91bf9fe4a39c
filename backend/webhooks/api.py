"""The public webhook URLs (no login; mounted at the root, not under /api/v1).

* ``/webhook/<path>``: production; registered paths of active workflows, any method.
* ``/webhook-test/<path>``: runs the definition the editor listens with, once (listeners.py).
* ``/webhook-waiting/<execution id>?signature=...``: resumes a Wait node in webhook mode.

What the caller gets, by the Webhook node's ``respond``:

* ``immediately``: 202 ``{"execution_id"}``, after the queued execution is committed (in one
  transaction with the others arriving at the same moment); the id goes to the queue once the
  answer is on its way, in one round trip with the others (sender.py).
* ``last_node``: 200 with the first item's json of the last node that sent items.
* ``respond_node``: what the Respond to Webhook node set (status, headers, body), even if
  a later node failed or waits; without one having run, as below. It is sent when the run
  ends or parks, not the moment the node runs.
* a run that failed: 500 ``execution_failed`` naming only the execution id; one that ran
  past its timeout (settings.timeout_s, else 30 s): 504 ``execution_timeout``; one that
  parked in a Wait node: 202 ``{"execution_id", "status": "waiting"}``.

A request that fails the node's auth (header, basic, HMAC) gets 401 and starts nothing.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable
from dataclasses import dataclass

from fastapi import APIRouter
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import Response

from backend.billing import hooks as billing
from backend.db.deps import CommittingRoute
from backend.db.session import session_scope
from backend.engine.services import InMemoryBinaryStore
from backend.errors import NotFound, UserError, error_body
from backend.settings import get_settings
from backend.storage.binary import StorageBinaryStore
from backend.storage.service import get_storage
from backend.webhooks import facts, listeners, resume, vendor_intake
from backend.webhooks.intake import SpooledBody, read_body, read_webhook_body, request_item
from backend.webhooks.persist import ordered_id
from backend.webhooks.runs import Outcome, Trigger, queue_run, run_inline
from backend.webhooks.sender import send_soon
from backend.webhooks.service import match
from backend.webhooks.targets import Target, version_target
from backend.workflows.models import Workflow
from nodes.builtin.webhook import WebhookParameters

log = logging.getLogger("linkflow.webhooks")
router = APIRouter(route_class=CommittingRoute, tags=["webhooks"])
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"]


class WebhookUnauthorized(UserError):
    status_code = 401
    code = "unauthorized"


async def production_webhook(request: Request) -> Response:
    path = request.path_params["path"]
    found = match(request.method, path)
    if found is None:
        raise NotFound(f"no active workflow listens on {request.method} /webhook/{path.strip('/')}")
    route, params = found
    target = version_target(route.version_id)
    trigger = Trigger(route.team_id, route.workflow_id, route.workflow_name, route.node_id, "webhook")
    seen = _Seen()
    vendor = target.vendors.get(route.node_id)
    if vendor is not None:  # GitHub, Stripe, Slack, Telegram: the vendor's signature decides (vendor_intake.py)
        return await _recorded(request, trigger, route.path,
                               vendor_intake.answer(request, trigger, target, route.path, vendor, seen), seen)
    return await _recorded(request, trigger, route.path, _answer(request, trigger, target, params, seen), seen)


async def webhook_test_url(request: Request) -> Response:
    path = request.path_params["path"]
    found = listeners.find_listener(request.method, path)
    if found is None:
        raise NotFound(f"nothing is listening on {request.method} /webhook-test/{path.strip('/')}: press "
                       "'Listen for test event' in the editor, then call this URL within two minutes")
    listener, params = found
    team_id, name = await asyncio.to_thread(_workflow_owner, listener.workflow_id)
    trigger = Trigger(team_id, listener.workflow_id, name, listener.node_id, "test")
    seen = _Seen()
    return await _recorded(request, trigger, listener.path,
                           _answer(request, trigger, listener.target, params, seen, listener=listener), seen)


async def waiting_webhook(request: Request) -> Response:
    execution_id = request.path_params["execution_id"]
    resume.check_signature(execution_id, request.query_params.get("signature"))
    body = await read_body(request, get_settings().http.webhook_body_limit_bytes)
    # The waiting run is handed the item's json only (continue_run), so files in the call are not kept.
    item = await request_item(request, body, {}, InMemoryBinaryStore())
    item["json"]["query"].pop("signature", None)
    claimed = await asyncio.to_thread(resume.claim_waiting, execution_id)
    return _json({"execution_id": execution_id, "status": "running"}, 202,
                 background=BackgroundTask(resume.continue_run, execution_id, claimed, item["json"]))


@dataclass(slots=True)
class _Seen:
    """What `_answer` learnt that the request's webhook.answered event reports."""

    body_bytes: int = 0
    execution_id: str | None = None


async def _recorded(request: Request, trigger: Trigger, path: str, answering: Awaitable[Response],
                    seen: _Seen) -> Response:
    """The answer, and its webhook.answered (and trigger.fired) events, whatever the answer was."""
    started, response, status = time.perf_counter(), None, 500
    try:
        response = await answering
        status = response.status_code
        return response
    except UserError as exc:
        status = exc.status_code
        raise
    finally:
        facts.answered(team_id=trigger.team_id, workflow_id=trigger.workflow_id, node_id=trigger.node_id,
                       mode=trigger.mode, method=request.method, path=path, status=status, started=started,
                       request_bytes=seen.body_bytes, response_bytes=len(response.body) if response is not None else 0,
                       execution_id=seen.execution_id)


async def _answer(request: Request, trigger: Trigger, target: Target, params: dict[str, str], seen: _Seen, *,
                  listener: listeners.TestListener | None = None) -> Response:
    node = target.triggers.get(trigger.node_id)
    if node is None:  # registered from another version than the one that is active
        raise NotFound(f"the active version of workflow {trigger.workflow_id} has no Webhook node "
                       f"{trigger.node_id!r}; activate the workflow again")
    http = get_settings().http
    body = await read_webhook_body(request, http.webhook_body_limit_bytes, http.webhook_file_limit_bytes)
    seen.body_bytes = body.size if isinstance(body, SpooledBody) else len(body)
    try:
        return await _accepted(request, trigger, target, params, node, body, listener, seen)
    finally:
        if isinstance(body, SpooledBody):
            body.close()


async def _accepted(request: Request, trigger: Trigger, target: Target, params: dict[str, str],
                    node: WebhookParameters, body: bytes | SpooledBody,
                    listener: listeners.TestListener | None, seen: _Seen) -> Response:
    if isinstance(body, SpooledBody):  # an upload in a file: read off the request loop
        refusal = await asyncio.to_thread(node.refusal, request.headers, body.chunks(), time.time())
    else:
        refusal = node.refusal(request.headers, body, time.time())
    if refusal is not None:
        raise _unauthorized(node, refusal)
    billing.admit_execution(trigger.team_id, trigger.mode)  # 402 past the plan's executions (+ grace)
    if listener is not None and not listeners.take(listener):
        billing.release_execution(trigger.team_id, trigger.mode)
        raise NotFound("this test URL was just used by another request; listen for a test event again")
    try:
        # The id is drawn first so the request's files are stored under the execution they belong to.
        execution_id = ordered_id()
        files = StorageBinaryStore(get_storage(), trigger.team_id, execution_id)
        item = await request_item(request, body, params, files, secret_header=_secret_header(node))
        if node.respond == "immediately":
            execution_id = seen.execution_id = await queue_run(trigger, target, item, execution_id)
            _started(listener, execution_id)
            return _json({"execution_id": execution_id}, 202, background=BackgroundTask(send_soon, execution_id))
        outcome = await run_inline(trigger, target, item, execution_id, input_bytes=seen.body_bytes)
    except BaseException as exc:
        billing.release_execution(trigger.team_id, trigger.mode)
        if listener is not None:  # the editor waiting for this event hears why nothing came of it
            listeners.failed(listener, getattr(exc, "message", None) or "the test request could not be run")
        raise
    seen.execution_id = outcome.execution_id
    _started(listener, outcome.execution_id)
    return _outcome_response(outcome, node)


def _started(listener: listeners.TestListener | None, execution_id: str) -> None:
    if listener is not None:
        listeners.started(listener, execution_id)


# Plain Starlette routes: FastAPI's per-request dependency solving costs more than the rest of
# a short webhook run, and these endpoints take nothing but the request.
router.add_route("/webhook/{path:path}", production_webhook, methods=METHODS, include_in_schema=False)
router.add_route("/webhook-test/{path:path}", webhook_test_url, methods=METHODS, include_in_schema=False)
router.add_route("/webhook-waiting/{execution_id}", waiting_webhook, methods=["GET", "POST"],
                 include_in_schema=False)


def _outcome_response(outcome: Outcome, node: WebhookParameters) -> Response:
    result, execution_id = outcome.result, outcome.execution_id
    if result is None:
        return _error(409, "execution_cancelled", f"execution {execution_id} was cancelled while it ran",
                      execution_id)
    if node.respond == "respond_node" and result.response is not None:
        return _custom(result.response.status, result.response.headers, result.response.body)
    if result.status == "waiting":
        return _json({"execution_id": execution_id, "status": "waiting"}, 202)
    if outcome.timed_out:
        return _error(504, "execution_timeout", f"the workflow did not finish in time; see execution "
                      f"{execution_id}", execution_id)
    if result.status == "failed":
        return _error(500, "execution_failed", f"the workflow failed; see execution {execution_id}", execution_id)
    return _json(result.output[0].get("json", {}) if result.output else {}, 200)


def _custom(status: int, headers: dict[str, str], body: object) -> Response:
    if body is None:
        return Response(status_code=status, headers=headers)
    if isinstance(body, str):
        has_type = any(name.lower() == "content-type" for name in headers)
        return Response(body, status_code=status, headers=headers,
                        media_type=None if has_type else "text/plain; charset=utf-8")
    return Response(_dumps(body), status_code=status, headers=headers, media_type="application/json")


def _error(status: int, code: str, message: str, execution_id: str) -> Response:
    return _json(error_body(code, message, {"execution_id": execution_id}), status)


def _json(content: object, status: int, background: BackgroundTask | None = None) -> Response:
    return Response(_dumps(content), status_code=status, media_type="application/json", background=background)


_ANSWER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=str).encode  # built once


def _dumps(content: object) -> bytes:
    return _ANSWER(content).encode()


def _unauthorized(node: WebhookParameters, reason: str) -> WebhookUnauthorized:
    error = WebhookUnauthorized(f"the webhook refused the request: {reason}")
    if node.auth == "basic":
        error.headers = {"WWW-Authenticate": 'Basic realm="webhook"'}
    return error


def _secret_header(node: WebhookParameters) -> str | None:
    return {"header": node.header_name, "basic": "authorization"}.get(node.auth)


def _workflow_owner(workflow_id: str) -> tuple[str, str]:
    with session_scope() as session:
        workflow = session.get(Workflow, workflow_id)
        if workflow is None:
            raise NotFound(f"workflow {workflow_id} no longer exists")
        return workflow.team_id, workflow.name
