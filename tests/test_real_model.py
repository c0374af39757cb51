"""A real provider's wire protocol, through LiteLLM, against an OpenAI-compatible
server of our own (tests/openai_server.py), in both Agents-SDK-or-not loops: a
model that answers is used (tool calls in the OpenAI format), and a model that
misbehaves ends the turn with a reply that names the fault, within the model
budget, without its key reaching the record or the next request."""

from __future__ import annotations

import asyncio
import json
import os
import time
import uuid
from collections.abc import Iterator

import pytest

from services import conversation
from services.conversation import Reply
from services.orchestrator.memory import RESULTS_ARE_DATA
from tests import openai_server
from tests.conftest import Agent
from tests.openai_server import OpenAICompatibleServer

pytestmark = pytest.mark.server

MODEL = f"openai/{openai_server.MODEL_NAME}"
WORKER_MODEL = MODEL
BUDGET = 8
WORKER_SETTINGS = {"model_timeout": BUDGET}
KEY = "sk-test-" + "k3y" * 8


@pytest.fixture(scope="module", autouse=True)
def provider() -> Iterator[OpenAICompatibleServer]:
    """The provider, and the environment a user sets for it (restored afterwards)."""
    server = OpenAICompatibleServer().start()
    given = {"OPENAI_API_KEY": KEY, "OPENAI_BASE_URL": server.base_url, "OPENAI_API_BASE": server.base_url}
    saved = {name: os.environ.get(name) for name in given}
    os.environ.update(given)
    try:
        yield server
    finally:
        server.stop()
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


async def ask(agent: Agent, text: str, session: str | None = None) -> Reply:
    return await asyncio.wait_for(agent.send(session or f"real-{uuid.uuid4().hex[:8]}", text), 120)


def fault(name: str) -> str:
    """A message that makes the provider misbehave as `name`, unique to this test run."""
    return f"fault:{name} {uuid.uuid4().hex[:8]}"


async def test_a_compatible_provider_calls_tools_and_answers(
    agent_workers: Agent, provider: OpenAICompatibleServer
) -> None:
    reply = await ask(agent_workers, "What is 6 times 7?")
    assert not reply.error, reply.text
    assert [call.tool for call in reply.tool_calls] == ["calculator"]
    assert "42" in reply.text
    # The request that carries the tool's result also tells the model it is data.
    messages = provider.sent("What is 6 times 7?")[-1].body["messages"]
    [result] = [json.loads(m["content"]) for m in messages if m["role"] == "tool"]
    # The result is labelled with where it came from, its data apart.
    assert result["from"].startswith("the orchestrator service's tool calculator")
    assert result["data"]["result"] == 42
    system = " ".join(str(m.get("content")) for m in messages if m["role"] == "system")
    assert RESULTS_ARE_DATA in system


async def test_a_model_that_never_answers_ends_the_turn_within_its_budget(
    agent_workers: Agent, provider: OpenAICompatibleServer
) -> None:
    session, message = f"hang-{uuid.uuid4().hex[:8]}", fault("hang")
    started = time.monotonic()
    hung, queued = await asyncio.gather(
        ask(agent_workers, message, session), ask(agent_workers, "What is 6 times 7?", session)
    )
    assert hung.error
    assert f"the model ({MODEL}) did not answer within {BUDGET} s" in hung.text
    # Not retried: the budget was spent on the one attempt; the queued message was answered next.
    assert len(provider.sent(message)) == 1
    assert "42" in queued.text
    # Far from the 267 s of four 65 s attempts (a generous bound: a busy machine is slow).
    assert time.monotonic() - started < 60


async def test_a_rate_limited_model_is_retried_when_it_asks(
    agent_workers: Agent, provider: OpenAICompatibleServer
) -> None:
    message = fault("rate-limit")
    reply = await ask(agent_workers, message)
    assert not reply.error, reply.text
    sent = provider.sent(message)
    # One refused request, then the retry after the wait the provider asked for: not a
    # burst of retries inside the window.
    assert len(sent) >= 2
    assert sent[1].at - sent[0].at >= openai_server.RETRY_AFTER


async def test_a_rate_limit_longer_than_the_budget_fails_at_once(
    agent_workers: Agent, provider: OpenAICompatibleServer
) -> None:
    message = fault("rate-limit-long")
    reply = await ask(agent_workers, message)
    assert reply.error
    assert f"the model ({MODEL}) is rate-limited and asks to wait 3600 s" in reply.text
    assert len(provider.sent(message)) == 1


async def test_a_server_error_is_retried(agent_workers: Agent) -> None:
    reply = await ask(agent_workers, fault("server-error"))
    assert not reply.error, reply.text


@pytest.mark.parametrize(
    ("name", "said"),
    [
        ("malformed", f"the model ({MODEL}) returned malformed output"),
        ("no-choices", f"the model ({MODEL}) returned no answer"),
    ],
)
async def test_a_broken_response_is_named_the_same_in_every_pattern(
    agent_workers: Agent, name: str, said: str
) -> None:
    reply = await ask(agent_workers, fault(name))
    assert reply.error
    assert reply.text.startswith("The model could not answer: " + said), reply.text


async def test_a_key_echoed_in_an_error_stays_out_of_the_record_and_the_model(
    agent_workers: Agent, provider: OpenAICompatibleServer
) -> None:
    session = f"echo-{uuid.uuid4().hex[:8]}"
    message = fault("unauthorized")
    refused = await ask(agent_workers, message, session)
    assert refused.error
    assert "refused the request" in refused.text
    assert KEY not in refused.text
    assert "[redacted]" in refused.text
    # The next turn works, and neither the key nor the failure's text goes back to the model.
    answered = await ask(agent_workers, "What is 6 times 7?", session)
    assert "42" in answered.text
    transcript = await conversation.transcript(agent_workers.client, session)
    assert KEY not in json.dumps([entry.model_dump(mode="json") for entry in transcript])
    later = json.dumps(provider.sent("What is 6 times 7?")[-1].body["messages"])
    assert message in later  # the failed turn's question is there, its error is not
    assert KEY not in later
    assert "Incorrect API key" not in later
