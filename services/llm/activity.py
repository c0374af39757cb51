"""The LLM call of the `nexus` pattern: one activity, LiteLLM native tool calling,
errors made readable, the answer cut to what a workflow can carry.

LiteLLM is imported lazily (3-6 s) and never fetches its price map from the
network (LITELLM_LOCAL_MODEL_COST_MAP).
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from typing import Any

from temporalio import activity

from services import limits
from services.conversation.contract import Usage
from services.llm.call import bounded, empty, library_loaded
from services.llm.messages import LlmRequest, LlmResponse, LlmToolCall
from services.telemetry.genai import model_span, record_response

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

_ready = threading.Lock()
_loaded = False


def load_litellm() -> None:
    """Import LiteLLM and register the offline model; safe to call from any thread."""
    global _loaded  # noqa: PLW0603
    with _ready:
        if _loaded:
            return
        import litellm

        from services.llm.offline import register

        litellm.suppress_debug_info = True
        litellm.telemetry = False
        # One INFO line per completion is noise in a worker's log.
        for name in ("LiteLLM", "LiteLLM Router", "LiteLLM Proxy"):
            logging.getLogger(name).setLevel(logging.WARNING)
        register()
        _loaded = True
        library_loaded()


def litellm_model(model: str) -> str:
    """The LiteLLM model string for a dagent model setting ('offline' is the built-in one)."""
    from services.llm.offline import MODEL, is_builtin

    return MODEL if is_builtin(model) else model


def cap_answer(text: str) -> str:
    """A model's answer cut to size: it is recorded in the workflow's history, and
    Temporal refuses payloads over 2 MB (the workflow would fail its task forever)."""
    return limits.cut(text, limits.MAX_ANSWER_CHARS, "\n\n[cut: the model wrote {total} characters]")


def cap_arguments(text: str) -> str:
    """Tool arguments cut to size; longer ones still fail the tool's own size check."""
    return limits.cut(text, limits.MAX_ARGUMENT_CHARS, "\n\n[cut: the model wrote {total} characters]")


class LlmActivities:
    def __init__(self, model: str, budget: float = limits.DEFAULT_MODEL_TIMEOUT) -> None:
        self.model = model
        self.budget = budget

    @activity.defn(name="dagent.call_llm")
    async def call_llm(self, request: LlmRequest) -> LlmResponse:
        if not _loaded:  # off the event loop: the first call after a start may wait seconds
            await asyncio.to_thread(load_litellm)
        import litellm

        async def complete(seconds_left: float) -> Any:
            response = await litellm.acompletion(
                model=litellm_model(self.model),
                messages=[m.to_openai() for m in request.messages],
                tools=request.tools or None,
                timeout=seconds_left,
                # Temporal retries, within the budget and as the provider asks.
                max_retries=0,
                num_retries=0,
            )
            if not getattr(response, "choices", None):
                raise empty(self.model)
            return response

        with model_span(litellm_model(self.model)) as span:
            response = await bounded(self.model, self.budget, complete)
            usage = usage_of(response, self.model)
            record_response(span, response, litellm_model(self.model), usage)
        message = response.choices[0].message
        calls = [
            LlmToolCall(
                id=str(call.id or f"call_{n}"),
                name=str(call.function.name or ""),
                arguments=cap_arguments(call.function.arguments or "{}"),
            )
            for n, call in enumerate(getattr(message, "tool_calls", None) or [])
        ]
        content = cap_answer(message.content) if message.content else message.content
        return LlmResponse(
            content=content,
            tool_calls=calls[: limits.MAX_TOOL_CALLS],
            model=self.model,
            usage=usage,
        )


def usage_of(response: Any, model: str) -> Usage:
    """The tokens a LiteLLM response reports, and their price from LiteLLM's local cost
    map (the built-in model is free; a model the map does not know has no price)."""
    import litellm

    from services.llm.offline import is_builtin

    usage = getattr(response, "usage", None)
    cost: float | None
    if is_builtin(model):
        cost = 0.0
    else:
        try:
            cost = float(litellm.completion_cost(completion_response=response))
        except Exception:  # LiteLLM raises plain Exceptions for a model it cannot price
            cost = None
    return Usage(
        input_tokens=int(getattr(usage, "prompt_tokens", 0) or 0),
        output_tokens=int(getattr(usage, "completion_tokens", 0) or 0),
        cost=cost,
    )
