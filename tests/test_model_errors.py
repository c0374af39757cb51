"""A model that can never work ends each turn with a readable reply, in every pattern:
no endless retries, no workflow stuck failing its tasks."""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest

from services import conversation
from tests.conftest import Agent
from tests.helpers import Stack

pytestmark = pytest.mark.server

WORKER_MODEL = "no-such-provider/nonexistent-model"


async def test_an_unusable_model_is_a_readable_reply(agent_workers: Agent) -> None:
    session = f"bad-model-{uuid.uuid4().hex[:8]}"
    reply = await asyncio.wait_for(agent_workers.send(session, "What is 125 * 8?"), 60)
    assert reply.error
    assert reply.text.startswith("The model could not answer")
    # The conversation goes on: the next message is answered (the same way) too.
    again = await asyncio.wait_for(agent_workers.send(session, "hello"), 60)
    assert again.error
    assert len(await conversation.transcript(agent_workers.client, session)) == 2


@pytest.mark.stack
def test_a_real_model_without_its_key_says_so_and_a_key_set_later_is_used(stack: Stack) -> None:
    stack.extra_env["OPENAI_API_KEY"] = None  # the tests' own environment must not provide one
    up = stack.run("up", "--model", "openai/gpt-4o-mini", check=True)
    assert "No API key for openai: set OPENAI_API_KEY" in up.stderr
    # Each question says so at once (not retried, not LiteLLM's page of text), and
    # `ask` exits 1: the answer is an error.
    result = stack.run("ask", "What is 125 * 8?", "--json")
    assert result.returncode == 1
    answer = json.loads(result.stdout)
    assert answer["error"] is True
    assert "No API key for openai: set OPENAI_API_KEY" in answer["answer"]
    assert answer["timings"]["steps"] == 1
    # An unknown provider is refused before anything changes.
    refused = stack.run("up", "--model", "no-such-provider/x")
    assert refused.returncode == 1
    assert "'no-such-provider/x' is not a model LiteLLM knows" in refused.stderr
    assert "Traceback" not in refused.stderr
    # The key set afterwards reaches the orchestrator: `up` restarts what runs.
    before = stack.component("orchestrator")["pid"]
    stack.extra_env["OPENAI_API_KEY"] = "sk-test-not-a-real-key"
    again = stack.run("up", "--model", "openai/gpt-4o-mini", check=True)
    assert "already up" not in again.stdout
    assert "No API key" not in again.stderr
    assert stack.component("orchestrator")["pid"] != before
