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
def test_ask_exits_non_zero_when_the_answer_is_an_error(stack: Stack) -> None:
    stack.run("up", "--model", WORKER_MODEL, check=True)
    result = stack.run("ask", "What is 125 * 8?", "--json")
    assert result.returncode == 1, result.stdout + result.stderr
    answer = json.loads(result.stdout)
    assert answer["error"] is True
    assert answer["answer"].startswith("The model could not answer")
