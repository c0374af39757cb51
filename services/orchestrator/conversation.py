"""The `nexus` pattern: a hand-written durable agent loop in one long-running workflow.

Each turn: the LLM (an activity, LiteLLM native tool calling) picks tools; local
tools run as activities, IT and Finance tools as Nexus operations on the team's
endpoint, routed by what each service's `list_tools` returned. Memory lives in
the workflow and crosses continue-as-new. No I/O here: only workflow APIs.
"""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from typing import Any

from pydantic import BaseModel, Field
from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError, NexusOperationError
from temporalio.exceptions import TimeoutError as TemporalTimeoutError

with workflow.unsafe.imports_passed_through():
    from services.orchestrator.contract import (
        MAX_MESSAGE_CHARS,
        PROGRESS_QUERY,
        SEND_UPDATE,
        TRANSCRIPT_QUERY,
        WORKFLOW_NAME,
        Progress,
        Reply,
        ToolCallRecord,
        TranscriptEntry,
        UserMessage,
    )
    from services.orchestrator.discovery import ToolCatalogResult, ToolRoute, discover
    from services.orchestrator.failures import root_message
    from services.orchestrator.llm import LLM_TIMEOUT_SECONDS, NON_RETRYABLE, LlmActivities
    from services.orchestrator.memory import Memory, truncate
    from services.orchestrator.messages import ChatMessage, LlmRequest, LlmResponse, LlmToolCall
    from services.toolservice.activities import ToolActivities
    from services.toolservice.contract import ToolCall, ToolOutcome, ToolService
    from services.toolservice.workflows import TOOL_RETRY

MAX_STEPS = 8
TRANSCRIPT_KEPT = 200
DEFAULT_TURNS_PER_RUN = 100
TOOL_TIMEOUT = timedelta(seconds=30)
LLM_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    maximum_interval=timedelta(seconds=10),
    maximum_attempts=4,
    non_retryable_error_types=[NON_RETRYABLE],
)


# How a step fails: local activities surface the activity's own ApplicationError,
# regular ones an ActivityError, Nexus calls a NexusOperationError.
STEP_FAILURES = (ActivityError, ApplicationError, NexusOperationError, TemporalTimeoutError)


class CarriedState(BaseModel):
    memory: Memory = Field(default_factory=Memory)
    transcript: list[TranscriptEntry] = Field(default_factory=list)
    pending: list[UserMessage] = Field(default_factory=list)
    total_turns: int = 0


class ConversationInput(BaseModel):
    session: str
    turns_per_run: int = DEFAULT_TURNS_PER_RUN
    state: CarriedState = Field(default_factory=CarriedState)


@workflow.defn(name=WORKFLOW_NAME)
class NexusConversation:
    @workflow.init
    def __init__(self, request: ConversationInput) -> None:
        self.request = request
        self.memory = request.state.memory
        self.transcript = request.state.transcript
        self.pending = request.state.pending
        self.total_turns = request.state.total_turns
        self.replies = {e.message_id: e.reply for e in self.transcript if e.reply is not None}
        self.run_turns = 0
        self.catalog: ToolCatalogResult | None = None
        self.progress = Progress()

    @workflow.run
    async def run(self, request: ConversationInput) -> None:
        while True:
            await workflow.wait_condition(lambda: bool(self.pending) or self._time_to_roll_over())
            if self.pending:
                message = self.pending[0]
                reply = await self._turn(message)
                self._record(message, reply)
                self.pending.pop(0)
                continue
            # Let every `send` return its reply before this run ends.
            await workflow.wait_condition(workflow.all_handlers_finished)
            if not self.pending:
                workflow.continue_as_new(self._carry())

    # -- messages in, replies out ----------------------------------------------

    @workflow.update(name=SEND_UPDATE)
    async def send(self, message: UserMessage) -> Reply:
        if message.id not in self.replies and all(p.id != message.id for p in self.pending):
            self.pending.append(message)
        await workflow.wait_condition(lambda: message.id in self.replies)
        return self.replies[message.id]

    @send.validator
    def _validate_send(self, message: UserMessage) -> None:
        if not message.text.strip():
            raise ValueError("The message is empty.")
        if len(message.text) > MAX_MESSAGE_CHARS:
            raise ValueError(f"The message is longer than {MAX_MESSAGE_CHARS} characters.")

    @workflow.query(name=PROGRESS_QUERY)
    def get_progress(self) -> Progress:
        return self.progress.model_copy(
            update={
                "queued": max(0, len(self.pending) - (1 if self.progress.state != "idle" else 0)),
                "run_turns": self.run_turns,
                "total_turns": self.total_turns,
                "unavailable": self.catalog.unavailable if self.catalog else {},
            }
        )

    @workflow.query(name=TRANSCRIPT_QUERY)
    def get_transcript(self) -> list[TranscriptEntry]:
        return self.transcript

    # -- one turn ------------------------------------------------------------------

    async def _turn(self, message: UserMessage) -> Reply:
        started = workflow.now()
        if self.catalog is None:
            self.progress = Progress(state="thinking", message_id=message.id)
            self.catalog = await discover(workflow.info().workflow_id)
        routes = {route.name: route for route in self.catalog.tools}
        specs = [route.function_spec() for route in self.catalog.tools]
        self.memory.add(ChatMessage(role="user", content=message.text))
        records: list[ToolCallRecord] = []
        text, error, steps = "", False, 0
        for step in range(1, MAX_STEPS + 1):
            steps = step
            self.progress = Progress(state="thinking", message_id=message.id, step=step)
            try:
                response = await self._call_llm(specs)
            except STEP_FAILURES as exc:
                text, error = f"The model could not answer: {root_message(exc)}", True
                break
            self.memory.add(
                ChatMessage(role="assistant", content=response.content, tool_calls=response.tool_calls)
            )
            if not response.tool_calls:
                text = response.content or "(the model returned an empty answer)"
                break
            results = await asyncio.gather(
                *(self._call_tool(routes, call, message.id, step) for call in response.tool_calls)
            )
            for call, (record, content) in zip(response.tool_calls, results, strict=True):
                records.append(record)
                self.memory.add(
                    ChatMessage(role="tool", tool_call_id=call.id, name=call.name, content=content)
                )
        else:
            text = (
                f"I stopped after {MAX_STEPS} steps without reaching an answer; "
                "please rephrase or narrow the question."
            )
            error = True
        if error:
            self.memory.add(ChatMessage(role="assistant", content=text))
        self.memory.fold()
        self.progress = Progress()
        return Reply(
            message_id=message.id,
            text=text,
            tool_calls=records,
            started_at=started,
            finished_at=workflow.now(),
            steps=steps,
            error=error,
        )

    async def _call_llm(self, specs: list[dict[str, Any]]) -> LlmResponse:
        return await workflow.execute_local_activity_method(
            LlmActivities.call_llm,
            LlmRequest(messages=self.memory.context(), tools=specs),
            start_to_close_timeout=timedelta(seconds=LLM_TIMEOUT_SECONDS + 5),
            schedule_to_close_timeout=timedelta(seconds=4 * (LLM_TIMEOUT_SECONDS + 5)),
            retry_policy=LLM_RETRY,
        )

    async def _call_tool(
        self, routes: dict[str, ToolRoute], call: LlmToolCall, message_id: str, step: int
    ) -> tuple[ToolCallRecord, str]:
        arguments = _arguments(call.arguments)
        route = routes.get(call.name)
        if route is None:
            known = ", ".join(routes) or "none"
            result: dict[str, Any] = {"error": f"Tool '{call.name}' not found; known tools: {known}."}
            record = ToolCallRecord(service="?", tool=call.name, transport="local", arguments=arguments)
            return record.model_copy(update={"result": result, "ok": False}), json.dumps(result)
        request = ToolCall(
            tool=call.name,
            arguments_json=call.arguments or "{}",
            idempotency_key=f"{workflow.info().workflow_id}/{message_id}/{step}/{call.id}",
        )
        self.progress = Progress(
            state="calling_tool",
            message_id=message_id,
            step=step,
            tool=call.name,
            service=route.service,
            transport=route.transport,
        )
        try:
            outcome = await self._execute(route, request)
            result, ok = outcome.result, True
        except STEP_FAILURES as exc:
            result, ok = {"error": root_message(exc)}, False
        record = ToolCallRecord(
            service=route.service,
            tool=call.name,
            transport=route.transport,
            arguments=arguments,
            result=result,
            ok=ok,
        )
        return record, truncate(json.dumps(result))

    async def _execute(self, route: ToolRoute, request: ToolCall) -> ToolOutcome:
        if route.transport == "local":
            return await workflow.execute_local_activity_method(
                ToolActivities.run_tool,
                request,
                start_to_close_timeout=timedelta(seconds=10),
                schedule_to_close_timeout=TOOL_TIMEOUT,
                retry_policy=TOOL_RETRY,
            )
        assert route.endpoint is not None
        client = workflow.create_nexus_client(service=ToolService, endpoint=route.endpoint)
        return await client.execute_operation(
            ToolService.execute_tool, request, schedule_to_close_timeout=TOOL_TIMEOUT
        )

    # -- bookkeeping -------------------------------------------------------------------

    def _record(self, message: UserMessage, reply: Reply) -> None:
        self.replies[message.id] = reply
        self.transcript.append(TranscriptEntry(message_id=message.id, question=message.text, reply=reply))
        self.run_turns += 1
        self.total_turns += 1

    def _time_to_roll_over(self) -> bool:
        return self.run_turns >= self.request.turns_per_run or (
            self.run_turns > 0 and workflow.info().is_continue_as_new_suggested()
        )

    def _carry(self) -> ConversationInput:
        return ConversationInput(
            session=self.request.session,
            turns_per_run=self.request.turns_per_run,
            state=CarriedState(
                memory=self.memory,
                transcript=self.transcript[-TRANSCRIPT_KEPT:],
                pending=self.pending,
                total_turns=self.total_turns,
            ),
        )


def _arguments(raw: str) -> dict[str, Any]:
    try:
        value = json.loads(raw or "{}")
    except ValueError:
        return {"unparsed": raw}
    return value if isinstance(value, dict) else {"value": value}
