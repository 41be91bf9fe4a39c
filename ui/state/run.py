"""Running the workflow from the editor: start a manual run, follow the execution, colour the nodes."""

from __future__ import annotations

import asyncio
import json

import reflex as rx

from ui.api_client import ApiClient, ApiError, Tokens
from ui.editor import logs
from ui.editor.pins import captured_event
from ui.state.auth import AuthState, api_failed, call_api
from ui.state.editor import EditorState, notify, on

POLL_SECONDS = 0.4
LISTEN_SECONDS = 120  # the API's longest wait for a test event
FINISHED = {"succeeded", "failed", "cancelled", "waiting"}


def node_runs(steps: list[dict]) -> tuple[dict[str, dict], dict[str, dict]]:
    """Per node: what the canvas shows ({status, items, error}) and the items it took and gave."""
    shown: dict[str, dict] = {}
    data: dict[str, dict] = {}
    for step in steps:  # oldest first: a node that ran several times (a loop) ends with its last run
        node_id = step["node_id"]
        output = step.get("output") or {}
        items = sum(len(v) for v in output.values() if isinstance(v, list))
        previous = shown.get(node_id, {"items": 0})
        error = step.get("error") or {}
        shown[node_id] = {"status": step["status"], "items": previous["items"] + items,
                          "error": str(error.get("message") or error.get("error") or "") if error else ""}
        data[node_id] = {"input": step.get("input"), "output": step.get("output"), "error": error or None}
    return shown, data


class RunState(rx.State):
    input_text: str = "{}"
    input_error: str = ""
    input_open: bool = False
    running: bool = False
    execution_id: str = ""
    status: str = ""
    error: str = ""
    runs: dict[str, dict] = {}
    timeline: list[dict[str, str]] = []  # the logs panel: the run's steps in order (ui.editor.logs)
    focus_id: str = ""
    focus_input: str = ""
    focus_output: str = ""
    focus_error: str = ""
    listening: bool = False  # waiting for a request to the test webhook URL

    _data: dict[str, dict] = {}
    _capture_event: bool = False  # the run being followed came from a test event: keep it as the test input
    _inputs: dict[str, str] = {}  # workflow id -> its test input: one workflow's input never runs another
    _input_owner: str = ""

    def open_workflow(self, workflow_id: str) -> None:
        """Forget the last run and show the test input typed for ``workflow_id`` (or ``{}``)."""
        self.reset_run()
        if self._input_owner:
            self._inputs[self._input_owner] = self.input_text
        self._input_owner = workflow_id
        self.input_text, self.input_error, self.input_open = self._inputs.get(workflow_id, "{}"), "", False

    def reset_run(self) -> None:
        self.running, self.execution_id, self.status, self.error = False, "", "", ""
        self.runs, self._data, self.focus_id, self.timeline = {}, {}, "", []
        self.focus_input = self.focus_output = self.focus_error = ""

    def focus(self, node_id: str) -> None:
        self.focus_id = node_id
        data = self._data.get(node_id)
        self.focus_input = _pretty(_ports(data["input"])) if data else ""
        self.focus_output = _pretty(_ports(data["output"])) if data else ""
        self.focus_error = _pretty(data["error"]) if data and data["error"] else ""

    @rx.event
    def set_input_open(self, value: bool):
        self.input_open = value

    @rx.event
    def set_input_text(self, value: str):
        self.input_text = value
        self.input_error = ""

    def _input(self):
        try:
            value = json.loads(self.input_text or "{}")
        except json.JSONDecodeError as exc:
            raise ValueError(f"The test input is not valid JSON: {exc.msg} (line {exc.lineno})") from None
        if not isinstance(value, dict | list):
            raise ValueError("The test input must be a JSON object, or a list of objects (one per item)")
        return value

    def data_of(self, node_id: str) -> dict | None:
        """The last run's {input, output, error} of a node (None: it did not run)."""
        return self._data.get(node_id)

    def all_data(self) -> dict[str, dict]:
        return self._data

    def show_execution(self, execution: dict) -> None:
        """Show a past execution's node results on the canvas (Debug in editor)."""
        self.reset_run()
        self.execution_id, self.status = execution["id"], execution["status"]
        self.error = (execution.get("error") or {}).get("message", "") if isinstance(execution.get("error"), dict) \
            else str(execution.get("error") or "")
        self.runs, self._data = node_runs(execution.get("steps", []))
        self.timeline = logs.timeline(execution.get("steps", []))

    @rx.event
    async def run(self):
        return await self._start({})

    @rx.event
    async def run_node(self, node_name: str):
        """Run this node: only it and what it depends on (pinned nodes stand in for their parents)."""
        return await self._start({"destination_node": node_name})

    async def _start(self, options: dict):
        try:
            run_input = self._input()
        except ValueError as exc:
            self.input_error, self.input_open = str(exc), True
            return None
        editor = await self.get_state(EditorState)
        if editor.dirty:
            saved, events = await editor.save_definition()
            if not saved:
                return events
        try:
            accepted = await call_api(self, "POST", f"/workflows/{editor.workflow_id}/run",
                                      json={"input": run_input, **options})
        except ApiError as exc:
            return editor.refused(exc, "Not started")
        self.reset_run()
        self.input_open, self.running = False, True
        self.execution_id, self.status = accepted["execution_id"], accepted["status"]
        return RunState.follow

    @rx.event(background=True)
    async def follow(self):
        async with self:
            execution_id = self.execution_id
        while True:
            async with self:
                if self.execution_id != execution_id:
                    return  # a newer run took over
                try:
                    execution = await call_api(self, "GET", f"/executions/{execution_id}")
                except ApiError as exc:
                    self.running = False
                    yield api_failed(exc)
                    return
                self.status, self.error = execution["status"], execution.get("error") or ""
                self.runs, self._data = node_runs(execution.get("steps", []))
                self.timeline = logs.timeline(execution.get("steps", []))
                open_ids = await notify(self, "open_node_id")
                self.focus(open_ids[0] if open_ids else "")
                if self.status in FINISHED:
                    self.running = False
                    if self._capture_event:  # "Run this node" and Run use the captured event from now on
                        self._capture_event = False
                        event = captured_event((await self.get_state(EditorState)).definition(),
                                               execution.get("steps", []))
                        if event is not None:
                            self.input_text = json.dumps(event, indent=2, ensure_ascii=False)
                    await notify(self, "run_finished")  # the node panel's pins and previews, the NDV's panes
                    yield _finished_toast(self.status, self.error)
                    return
            await asyncio.sleep(POLL_SECONDS)

    # ---- Listen for test event ------------------------------------------------------------------
    @rx.event(background=True)
    async def listen(self):
        """Wait (long-poll) for a request to the test webhook URL; then follow the run it started."""
        async with self:
            if self.listening:
                return
            editor = await self.get_state(EditorState)
            if editor.dirty:
                saved, events = await editor.save_definition()
                if not saved:
                    yield events
                    return
            auth = await self.get_state(AuthState)
            client = ApiClient(Tokens(auth.access_token, auth.refresh_token, auth.team_id))
            workflow_id, self.listening = editor.workflow_id, True
        try:
            # Outside the lock: the browser stays responsive (and can cancel) while we wait.
            result = await client.post(f"/workflows/{workflow_id}/test-event", json={"timeout_s": LISTEN_SECONDS},
                                       timeout=LISTEN_SECONDS + 15)
        except ApiError as exc:
            async with self:
                self.listening = False
            yield api_failed(exc)
            return
        async with self:
            self.listening = False
            if client.refreshed:
                auth = await self.get_state(AuthState)
                auth.access_token, auth.refresh_token = client.tokens.access, client.tokens.refresh
            if result["status"] != "received":
                yield _listen_toast(result)
                return
            self.reset_run()
            self.running, self.execution_id, self.status = True, result["execution_id"], "running"
            self._capture_event = True
        yield rx.toast.success("Test event received")
        yield RunState.follow

    @rx.event
    async def stop_listening(self):
        editor = await self.get_state(EditorState)
        try:
            await call_api(self, "DELETE", f"/workflows/{editor.workflow_id}/test-event")
        except ApiError as exc:
            return api_failed(exc)
        self.listening = False
        return None


def _listen_toast(result: dict):
    if result["status"] == "cancelled":
        return rx.toast.info("Stopped listening for a test event")
    if result["status"] == "timeout":
        return rx.toast.warning("No test event arrived in two minutes; listen again to retry")
    return rx.toast.error(f"The test event could not be run: {result.get('message') or 'unknown error'}")


def _finished_toast(status: str, error: str):
    if status == "succeeded":
        return rx.toast.success("Run succeeded")
    if status == "waiting":
        return rx.toast.info("The run is waiting (a Wait node); it resumes on its own")
    return rx.toast.error(f"Run {status}" + (f": {error}" if error else ""))


def _ports(value):
    """Items per port; a node with only the main port shows its item list directly."""
    if isinstance(value, dict) and list(value) == ["main"]:
        return value["main"]
    return value


def _pretty(value) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, default=str) if value is not None else ""


# ---- what the editor's events do here (ui/state/editor.py: the editor never imports this module) ------------
@on("workflow_changed")
async def _open_workflow(editor: EditorState, workflow_id: str) -> None:
    (await editor.get_state(RunState)).open_workflow(workflow_id)


@on("node_opened", order=1)  # after the node panel showed it
async def _focus_node(editor: EditorState, node_id: str) -> None:
    (await editor.get_state(RunState)).focus(node_id)
