"""Run one worker of the reference demo's `litellm_temporal`, unchanged but for two things:
the Temporal address, and its model: a zero-cost scripted LiteLLM provider that answers
its planner's JSON protocol, so its turns cost what dagent's offline model's cost.

Runs in the reference's own environment, from its `litellm_temporal` directory
(`benchmarks/reference.py` starts it so); it imports nothing of dagent.

    cd REF/litellm_temporal
    uv run --project . python DAGENT/benchmarks/reference_worker.py {orchestrator,it,finance} ADDRESS
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.util
import json
import os
import re
import sys
from typing import Any

WORKER_SCRIPTS = {
    "orchestrator": "orchestrator_worker",
    "it": "it_nexus_worker",
    "finance": "finance_nexus_worker",
}
MODEL = "dagentbench/planner"


def plan(messages: list[dict[str, Any]]) -> dict[str, Any]:
    """The reference planner's answer: a tool for the question, then a reply with its result."""
    last = str(messages[-1].get("content", "")) if messages else ""
    if last.startswith("Tool result:"):
        return {"action": "respond", "message": last.removeprefix("Tool result:").strip()}
    ticker = re.search(r"\b([A-Z]{1,5})\b", last.replace("I ", ""))
    if "stock" in last.lower() and ticker:
        return {
            "action": "use_remote_tool",
            "namespace_id": "finance",
            "tool": "stock_price",
            "args": {"ticker": ticker.group(1)},
        }
    expression = re.search(r"[\d\s.+\-*/()]+\d", last)
    arithmetic = expression.group(0).strip() if expression else last
    return {"action": "use_tool", "tool": "calculator", "args": {"expression": arithmetic}}


def register_model() -> None:
    import litellm
    from litellm import CustomLLM, ModelResponse

    class Planner(CustomLLM):
        def completion(self, *args: Any, **kwargs: Any) -> ModelResponse:
            content = json.dumps(plan(kwargs.get("messages") or []))
            message = {"role": "assistant", "content": content}
            return ModelResponse(
                model=MODEL,
                choices=[{"index": 0, "message": message, "finish_reason": "stop"}],
                # Given, so that LiteLLM does not count tokens (which downloads an encoding).
                usage={"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
            )

        async def acompletion(self, *args: Any, **kwargs: Any) -> ModelResponse:
            return self.completion(*args, **kwargs)

    litellm.custom_provider_map = [{"provider": MODEL.split("/", maxsplit=1)[0], "custom_handler": Planner()}]


def main() -> None:
    name, address = sys.argv[1], sys.argv[2]
    os.environ["LLM_MODEL"] = MODEL
    # Offline, as dagent runs: LiteLLM's own price map and tokenizer files, never a download.
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    litellm_dir = importlib.util.find_spec("litellm").submodule_search_locations[0]  # type: ignore[union-attr,index]
    os.environ.setdefault("TIKTOKEN_CACHE_DIR", os.path.join(litellm_dir, "litellm_core_utils", "tokenizers"))
    sys.path.insert(0, os.getcwd())
    shared = importlib.import_module("app.shared")
    shared.TEMPORAL_ADDRESS = address  # read by each worker script at its import
    if name == "orchestrator":
        register_model()
    worker = importlib.import_module(WORKER_SCRIPTS[name])
    asyncio.run(worker.main())


if __name__ == "__main__":
    main()
