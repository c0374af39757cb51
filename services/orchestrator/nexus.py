"""The `nexus` pattern: a hand-written durable agent loop.

Each turn: the LLM (a local activity, LiteLLM native tool calling) picks tools;
local tools run as activities, IT and Finance tools as Nexus operations on the
team's endpoint, routed by what each service's `list_tools` returned. Memory
is a sliding window with a summary, carried across continue-as-new.
"""

from __future__ import annotations

import asyncio
from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from services.conversation.contract import (
        WORKFLOW_TYPES,
        Progress,
        ToolCallRecord,
        ToolCatalogResult,
        Usage,
        UserMessage,
    )
    from services.failures import root_message
    from services.llm import policy
    from services.llm.activity import LlmActivities
    from services.llm.messages import ChatMessage, LlmRequest, LlmResponse
    from services.orchestrator.base import MAX_STEPS, Answer, Conversation, ConversationInput
    from services.orchestrator.tool_calls import STEP_FAILURES, ToolCaller


@workflow.defn(name=WORKFLOW_TYPES["nexus"])
class NexusConversation(Conversation):
    @workflow.init
    def __init__(self, request: ConversationInput) -> None:
        super().__init__(request)

    @workflow.run
    async def run(self, request: ConversationInput) -> None:
        await self.loop()

    async def answer(self, message: UserMessage, catalog: ToolCatalogResult) -> Answer:
        caller = ToolCaller({r.name: r for r in catalog.tools}, self.circuits, self.show, message)
        specs = [route.function_spec() for route in catalog.tools]
        self.memory.add(ChatMessage(role="user", content=message.text))
        records: list[ToolCallRecord] = []
        answer: Answer | None = None
        usage = Usage()
        for step in range(1, MAX_STEPS + 1):
            self.progress = Progress(state="thinking", message_id=message.id, step=step)
            try:
                response = await self._call_llm(specs, catalog.unavailable, f"{message.id} step {step}")
            except STEP_FAILURES as exc:
                answer = Answer.model_failed(root_message(exc), records, step)
                break
            usage = usage.plus(response.usage)
            self.memory.add(
                ChatMessage(role="assistant", content=response.content, tool_calls=response.tool_calls)
            )
            if not response.tool_calls:
                answer = Answer.final(response.content, records, step)
                break
            results = await asyncio.gather(
                *(caller.call(call.name, call.arguments, step, call.id) for call in response.tool_calls)
            )
            for call, (record, content) in zip(response.tool_calls, results, strict=True):
                records.append(record)
                self.memory.add(
                    ChatMessage(role="tool", tool_call_id=call.id, name=call.name, content=content)
                )
        if answer is None:
            answer = Answer.out_of_steps(records)
        if answer.error:
            self.memory.add(ChatMessage(role="assistant", content=answer.remembered()))
        self.memory.fold()
        return answer.model_copy(update={"usage": usage})

    async def _call_llm(
        self, specs: list[dict[str, Any]], unavailable: dict[str, str], where: str
    ) -> LlmResponse:
        return await workflow.execute_local_activity_method(
            LlmActivities.call_llm,
            LlmRequest(messages=self.memory.context(unavailable), tools=specs),
            start_to_close_timeout=policy.START_TO_CLOSE,
            schedule_to_close_timeout=policy.SCHEDULE_TO_CLOSE,
            retry_policy=policy.RETRY,
            summary=f"model call: message {where}",
        )
