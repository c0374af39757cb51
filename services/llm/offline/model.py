"""The built-in `offline` model: the deterministic planner behind LiteLLM's custom-provider API.

Registered as provider `offline`, so every pattern runs the real LiteLLM code
path (request building, tool-call parsing, errors) with no network and no key.
"""

from __future__ import annotations

import json
import time
import uuid
from collections import deque
from typing import Any

import litellm
from litellm import CustomLLM, ModelResponse

from services.llm.offline import MODEL, PROVIDER
from services.llm.offline.planner import plan

# The tool lists of the last few requests, as the model received them: lets a
# test (or a curious user in a REPL) see exactly what a pattern offers the model.
RECENT_TOOLS: deque[list[dict[str, Any]]] = deque(maxlen=20)
# Whose tokenizer counts the built-in model's tokens.
TOKENIZER_MODEL = "gpt-4o-mini"


class OfflineModel(CustomLLM):
    def completion(self, *args: Any, **kwargs: Any) -> ModelResponse:
        return self._respond(kwargs)

    async def acompletion(self, *args: Any, **kwargs: Any) -> ModelResponse:
        return self._respond(kwargs)

    def _respond(self, kwargs: dict[str, Any]) -> ModelResponse:
        messages = kwargs.get("messages") or []
        tools = (kwargs.get("optional_params") or {}).get("tools") or []
        RECENT_TOOLS.append(tools)
        decision = plan(messages, tools)
        message: dict[str, Any] = {"role": "assistant", "content": decision.content}
        if decision.tool_calls:
            message["tool_calls"] = [
                {
                    "id": f"call_{uuid.uuid4().hex[:12]}",
                    "type": "function",
                    "function": {"name": name, "arguments": json.dumps(args)},
                }
                for name, args in decision.tool_calls
            ]
        return ModelResponse(
            model=MODEL,
            created=int(time.time()),
            choices=[
                {
                    "index": 0,
                    "message": message,
                    "finish_reason": "tool_calls" if decision.tool_calls else "stop",
                }
            ],
            usage=_usage(messages, message),
        )


def _usage(messages: list[dict[str, Any]], answer: dict[str, Any]) -> dict[str, int]:
    """Tokens in and out as an OpenAI model would count them (LiteLLM's bundled
    tokenizer, no download): the built-in model reports usage like any other."""
    prompt = litellm.token_counter(model=TOKENIZER_MODEL, messages=messages)
    completion = litellm.token_counter(model=TOKENIZER_MODEL, text=json.dumps(answer))
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def register() -> None:
    """Make `offline/...` model strings resolve to the planner (idempotent)."""
    providers = [p for p in litellm.custom_provider_map if p.get("provider") != PROVIDER]
    litellm.custom_provider_map = [*providers, {"provider": PROVIDER, "custom_handler": OfflineModel()}]
    # The tokenizer loads on first use (about 0.4 s): here, in the worker's warm-up.
    litellm.token_counter(model=TOKENIZER_MODEL, text="")
