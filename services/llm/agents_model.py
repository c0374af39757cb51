"""The model the OpenAI Agents SDK uses inside dagent's workflows: LiteLLM, configured
on the worker. Workflows name no model; the worker's `--model` decides."""

from __future__ import annotations

from typing import Any

from agents import Model, ModelProvider, ModelResponse
from agents.extensions.models.litellm_model import LitellmModel
from openai.types.responses import ResponseFunctionToolCall, ResponseOutputMessage, ResponseOutputText
from temporalio.exceptions import ApplicationError
from temporalio.openai_agents import ModelActivityParameters

from services import limits
from services.llm import policy
from services.llm.activity import cap_answer, cap_arguments, litellm_model
from services.llm.keys import call_problem

# What workflows put in Agent(model=...): a string, so the plugin routes the call
# to this provider instead of silently defaulting to an OpenAI model.
WORKFLOW_MODEL_NAME = "dagent-configured-model"


class ConfiguredModelProvider(ModelProvider):
    def __init__(self, model: str) -> None:
        self.model = litellm_model(model)

    def get_model(self, model_name: str | None) -> Model:
        return CappedLitellmModel(model=self.model)


class CappedLitellmModel(LitellmModel):
    """LiteLLM, with each response cut to what a workflow can carry (as in the nexus
    pattern): an answer of megabytes would exceed Temporal's payload limit."""

    async def get_response(self, *args: Any, **kwargs: Any) -> ModelResponse:
        problem = call_problem(self.model)
        if problem:  # LiteLLM would call a missing key a server error, and retry it
            raise ApplicationError(problem, type=policy.LLM_CONFIG_ERROR, non_retryable=True)
        response = await super().get_response(*args, **kwargs)
        calls = [item for item in response.output if isinstance(item, ResponseFunctionToolCall)]
        dropped = {id(item) for item in calls[limits.MAX_TOOL_CALLS :]}
        response.output = [item for item in response.output if id(item) not in dropped]
        for item in response.output:
            if isinstance(item, ResponseFunctionToolCall):
                item.arguments = cap_arguments(item.arguments)
            elif isinstance(item, ResponseOutputMessage):
                for part in item.content:
                    if isinstance(part, ResponseOutputText):
                        part.text = cap_answer(part.text)
        return response


def model_activity_parameters() -> ModelActivityParameters:
    return ModelActivityParameters(
        # As in the nexus pattern: the model call needs no task round trip through
        # the server. Fixed for good: changing it breaks running workflows' replay.
        use_local_activity=True,
        start_to_close_timeout=policy.START_TO_CLOSE,
        schedule_to_close_timeout=policy.SCHEDULE_TO_CLOSE,
        retry_policy=policy.RETRY,
    )
