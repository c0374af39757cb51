"""The model the OpenAI Agents SDK uses inside dagent's workflows: LiteLLM, configured
on the worker. Workflows name no model; the worker's `--model` decides."""

from __future__ import annotations

from typing import Any

from agents import Model, ModelProvider, ModelResponse, ModelSettings
from agents.extensions.models.litellm_model import LitellmModel
from litellm.types.utils import ModelResponse as LitellmResponse
from openai.types.responses import ResponseFunctionToolCall, ResponseOutputMessage, ResponseOutputText
from opentelemetry import trace
from temporalio.openai_agents import ModelActivityParameters

from services import limits
from services.llm import policy
from services.llm.activity import cap_answer, cap_arguments, litellm_model, usage_of
from services.llm.call import bounded, empty
from services.telemetry.genai import model_span, record_response

# What workflows put in Agent(model=...): a string, so the plugin routes the call
# to this provider instead of silently defaulting to an OpenAI model.
WORKFLOW_MODEL_NAME = "dagent-configured-model"


class ConfiguredModelProvider(ModelProvider):
    def __init__(self, model: str, budget: float = limits.DEFAULT_MODEL_TIMEOUT) -> None:
        self.model = model
        self.budget = budget

    def get_model(self, model_name: str | None) -> Model:
        return BoundedLitellmModel(self.model, self.budget)


class BoundedLitellmModel(LitellmModel):
    """LiteLLM held to the model budget, failing as in the nexus pattern (the same
    texts, the same retries), with each response cut to what a workflow can carry:
    an answer of megabytes would exceed Temporal's payload limit."""

    def __init__(self, model: str, budget: float) -> None:
        super().__init__(model=litellm_model(model))
        self.setting = model
        self.budget = budget

    async def get_response(self, *args: Any, **kwargs: Any) -> ModelResponse:
        async def respond(seconds_left: float) -> ModelResponse:
            # Temporal retries, within the budget and as the provider asks.
            bounds = ModelSettings(extra_args={"timeout": seconds_left, "max_retries": 0, "num_retries": 0})
            settings = kwargs.get("model_settings") or ModelSettings()
            return await super(BoundedLitellmModel, self).get_response(
                *args, **{**kwargs, "model_settings": settings.resolve(bounds)}
            )

        with model_span(litellm_model(self.setting)):
            response = await bounded(self.setting, self.budget, respond)
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

    async def _fetch_response(self, *args: Any, **kwargs: Any) -> Any:
        # The SDK turns a completion with no choices into an empty answer; the nexus
        # pattern calls it the provider's error, and so does this one. (A private
        # method: the pinned SDK's only place that sees LiteLLM's raw response.)
        response = await super()._fetch_response(*args, **kwargs)
        if isinstance(response, LitellmResponse):
            if not response.choices:
                raise empty(self.setting)
            usage = usage_of(response, self.setting)
            record_response(trace.get_current_span(), response, litellm_model(self.setting), usage)
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
