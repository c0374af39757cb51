"""The model the OpenAI Agents SDK uses inside dagent's workflows: LiteLLM, configured
on the worker. Workflows name no model; the worker's `--model` decides."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from agents import Model, ModelProvider, ModelResponse
from agents.extensions.models.litellm_model import LitellmModel
from openai.types.responses import ResponseFunctionToolCall, ResponseOutputMessage, ResponseOutputText
from temporalio.common import RetryPolicy
from temporalio.openai_agents import ModelActivityParameters

from services.orchestrator.llm import MAX_ANSWER_CHARS, MAX_ARGUMENT_CHARS, MAX_TOOL_CALLS, cap_text
from services.orchestrator.offline_model import litellm_model

# What workflows put in Agent(model=...): a string, so the plugin routes the call
# to this provider instead of silently defaulting to an OpenAI model.
WORKFLOW_MODEL_NAME = "dagent-configured-model"

# Errors LiteLLM raises that no retry will fix.
NON_RETRYABLE_MODEL_ERRORS = [
    "AuthenticationError",
    "NotFoundError",
    "BadRequestError",
    "PermissionDeniedError",
]


class ConfiguredModelProvider(ModelProvider):
    def __init__(self, model: str) -> None:
        self.model = litellm_model(model)

    def get_model(self, model_name: str | None) -> Model:
        return CappedLitellmModel(model=self.model)


class CappedLitellmModel(LitellmModel):
    """LiteLLM, with each response cut to what a workflow can carry (as in the nexus
    pattern): an answer of megabytes would exceed Temporal's payload limit."""

    async def get_response(self, *args: Any, **kwargs: Any) -> ModelResponse:
        response = await super().get_response(*args, **kwargs)
        calls = [item for item in response.output if isinstance(item, ResponseFunctionToolCall)]
        dropped = {id(item) for item in calls[MAX_TOOL_CALLS:]}
        response.output = [item for item in response.output if id(item) not in dropped]
        for item in response.output:
            if isinstance(item, ResponseFunctionToolCall):
                item.arguments = cap_text(item.arguments, MAX_ARGUMENT_CHARS)
            elif isinstance(item, ResponseOutputMessage):
                for part in item.content:
                    if isinstance(part, ResponseOutputText):
                        part.text = cap_text(part.text, MAX_ANSWER_CHARS)
        return response


def model_activity_parameters() -> ModelActivityParameters:
    return ModelActivityParameters(
        # As in the nexus pattern: the model call needs no task round trip through
        # the server. Fixed for good: changing it breaks running workflows' replay.
        use_local_activity=True,
        start_to_close_timeout=timedelta(seconds=65),
        schedule_to_close_timeout=timedelta(seconds=260),
        retry_policy=RetryPolicy(
            initial_interval=timedelta(seconds=1),
            maximum_interval=timedelta(seconds=10),
            maximum_attempts=4,
            non_retryable_error_types=NON_RETRYABLE_MODEL_ERRORS,
        ),
    )
