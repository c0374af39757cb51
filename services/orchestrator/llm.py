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
# What one model response may carry into the workflow (far below the 2 MB payload
# limit); longer arguments still fail the tool's own size check, with its message.
MAX_ANSWER_CHARS = 64_000
MAX_ARGUMENT_CHARS = 8_000
MAX_TOOL_CALLS = 16
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
        choices = getattr(response, "choices", None) or []
        if not choices:
            raise ApplicationError(f"The model '{self.model}' returned no answer (no choices).")
        message = choices[0].message
        calls = [
            LlmToolCall(
                id=str(call.id or f"call_{n}"),
                name=str(call.function.name or ""),
                arguments=cap_text(call.function.arguments or "{}", MAX_ARGUMENT_CHARS),
            )
            for n, call in enumerate(getattr(message, "tool_calls", None) or [])
        ]
        content = cap_text(message.content, MAX_ANSWER_CHARS) if message.content else message.content
        return LlmResponse(content=content, tool_calls=calls[:MAX_TOOL_CALLS], model=self.model)


def cap_text(text: str, limit: int) -> str:
    """A model's output cut to size: it is recorded in the workflow's history, and
    Temporal refuses payloads over 2 MB (the workflow would fail its task forever)."""
    if len(text) <= limit:
        return text
    return text[:limit] + f"\n\n[cut: the model wrote {len(text)} characters]"


def _short(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:300]
