"""A LiteLLM custom provider for tests: `scripted/...` answers what the conversation's
first message names ("script:<name>"), so a test can make the model misbehave on
purpose: wrong, missing, extra or huge tool arguments, unknown tools, empty or huge
answers, endless tool calls. It runs in the test process, where the in-process
workers of the `agent_workers` fixture call LiteLLM."""

from __future__ import annotations

import json
import time
from typing import Any

PROVIDER = "scripted"
MODEL = f"{PROVIDER}/hostile"

# name -> the tool calls of the first response: (tool, raw arguments text)
TOOL_SCRIPTS: dict[str, list[tuple[str, str]]] = {
    "wrong-types": [("calculate_roi", '{"principal": "lots", "annual_rate_percent": 5, "years": 10}')],
    "missing-arguments": [("stock_price", "{}")],
    "extra-arguments": [("stock_price", '{"ticker": "TSLA", "sudo": true}')],
    "huge-arguments": [("calculator", json.dumps({"expression": "1+" * 3000 + "1"}))],
    "arguments-not-json": [("stock_price", '{"ticker": ')],
    "arguments-not-object": [("stock_price", '["TSLA"]')],
    "unknown-tool": [("rm_rf", '{"path": "/"}')],
    "many-calls": [("calculator", json.dumps({"expression": f"{n} + 1"})) for n in range(40)],
    # A tool's error repeats its argument: terminal escapes the reader's screen must not run.
    "escape-arguments": [("jira_metrics", json.dumps({"project": "\x1b]0;pwned\x07\x1b[2JDEMO"}))],
}
# name -> the text of the first response (no tool call)
TEXT_SCRIPTS: dict[str, str] = {
    "empty-answer": "",
    "huge-answer": "x" * 3_000_000,
    "500kb-answer": "y" * 500_000,
    # Title, clear screen, an 8-bit CSI, a clipboard write (OSC 52).
    "escape-answer": "\x1b]0;pwned\x07\x1b[2JThe answer\x9b31m is \x1b]52;c;ZXZpbA==\x1b\\here.",
}

# The names of the tools each model call was offered, in order (any script).
OFFERED: list[list[str]] = []


def register() -> None:
    import litellm
    from litellm import CustomLLM, ModelResponse

    class ScriptedModel(CustomLLM):
        async def acompletion(self, *args: Any, **kwargs: Any) -> ModelResponse:
            return self.completion(*args, **kwargs)

        def completion(self, *args: Any, **kwargs: Any) -> ModelResponse:
            messages = kwargs.get("messages") or []
            tools = (kwargs.get("optional_params") or {}).get("tools") or []
            OFFERED.append([tool["function"]["name"] for tool in tools])
            script = _script_name(messages)
            answered = any(m.get("role") == "tool" for m in messages[_last_user(messages) :])
            message: dict[str, Any] = {"role": "assistant", "content": None}
            if script == "endless-calls" or (script in TOOL_SCRIPTS and not answered):
                calls = TOOL_SCRIPTS.get(script, [("calculator", '{"expression": "1 + 1"}')])
                message["tool_calls"] = [
                    {"id": f"call_{n}_{time.monotonic_ns()}", "type": "function",
                     "function": {"name": name, "arguments": arguments}}
                    for n, (name, arguments) in enumerate(calls)
                ]  # fmt: skip
            elif script in TEXT_SCRIPTS and not answered:
                message["content"] = TEXT_SCRIPTS[script]
            else:
                results = [str(m.get("content")) for m in messages if m.get("role") == "tool"]
                message["content"] = "The tools said: " + " | ".join(results[-3:]) if results else "ok"
            return ModelResponse(
                model=MODEL,
                choices=[{"index": 0, "message": message, "finish_reason": "stop"}],
                usage={"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
            )

    others = [p for p in litellm.custom_provider_map if p.get("provider") != PROVIDER]
    litellm.custom_provider_map = [*others, {"provider": PROVIDER, "custom_handler": ScriptedModel()}]


def _last_user(messages: list[dict[str, Any]]) -> int:
    return max((i for i, m in enumerate(messages) if m.get("role") == "user"), default=0)


def _script_name(messages: list[dict[str, Any]]) -> str:
    for message in messages:
        content = message.get("content")
        if message.get("role") == "user" and isinstance(content, str) and content.startswith("script:"):
            return content.removeprefix("script:").strip()
    return ""
