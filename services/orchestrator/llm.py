"""The LLM call: one activity, LiteLLM native tool calling, errors made readable.

LiteLLM is imported lazily (3-6 s) and never fetches its price map from the
network (LITELLM_LOCAL_MODEL_COST_MAP).
"""

from __future__ import annotations

import logging
import os
import threading
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from services.orchestrator.messages import LlmRequest, LlmResponse, LlmToolCall

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

LLM_TIMEOUT_SECONDS = 60
# Raised for errors a retry cannot fix: bad key, unknown model, rejected request.
NON_RETRYABLE = "LlmConfigError"

_ready = threading.Lock()
_loaded = False


def load_litellm() -> None:
    """Import LiteLLM and register the offline model; safe to call from any thread."""
    global _loaded  # noqa: PLW0603
    with _ready:
        if _loaded:
            return
        import litellm

        from services.orchestrator import offline_model

        litellm.suppress_debug_info = True
        litellm.telemetry = False
        # One INFO line per completion is noise in a worker's log.
        for name in ("LiteLLM", "LiteLLM Router", "LiteLLM Proxy"):
            logging.getLogger(name).setLevel(logging.WARNING)
        offline_model.register()
        _loaded = True


class LlmActivities:
    def __init__(self, model: str) -> None:
        self.model = model

    @activity.defn(name="dagent.call_llm")
    async def call_llm(self, request: LlmRequest) -> LlmResponse:
        load_litellm()
        import litellm

        from services.orchestrator.offline_model import litellm_model

        model = litellm_model(self.model)
        try:
            response: Any = await litellm.acompletion(
                model=model,
                messages=[m.to_openai() for m in request.messages],
                tools=request.tools or None,
                timeout=LLM_TIMEOUT_SECONDS,
            )
        except (
            litellm.AuthenticationError,
            litellm.NotFoundError,
            litellm.BadRequestError,
            litellm.PermissionDeniedError,
        ) as exc:
            raise ApplicationError(
                f"The model '{self.model}' refused the request: {_short(exc)}",
                type=NON_RETRYABLE,
                non_retryable=True,
            ) from None
        except litellm.exceptions.APIConnectionError as exc:
            if "LLM Provider NOT provided" in str(exc) or "not supported" in str(exc):
                raise ApplicationError(
                    f"'{self.model}' is not a model LiteLLM knows: {_short(exc)}",
                    type=NON_RETRYABLE,
                    non_retryable=True,
                ) from None
            raise
        message = response.choices[0].message
        calls = [
            LlmToolCall(id=call.id, name=call.function.name, arguments=call.function.arguments or "{}")
            for call in (getattr(message, "tool_calls", None) or [])
        ]
        return LlmResponse(content=message.content, tool_calls=calls, model=self.model)


def _short(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:300]
