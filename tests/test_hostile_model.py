"""A model that misbehaves on purpose (tests/scripted_model.py), in both Nexus patterns:
every bad tool call or malformed answer ends the turn with a clear reply, the
conversation goes on, and nothing reaches Temporal's payload limit."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from services import conversation
from services.conversation import Reply
from tests import scripted_model
from tests.conftest import Agent

pytestmark = pytest.mark.server

WORKER_MODEL = scripted_model.MODEL


@pytest.fixture(scope="module", autouse=True)
def scripted() -> None:
    scripted_model.register()


async def run_script(agent: Agent, script: str) -> Reply:
    """The scripted turn, then a plain one: the conversation must go on."""
    session = f"hostile-{uuid.uuid4().hex[:8]}"
    reply = await asyncio.wait_for(agent.send(session, f"script:{script}"), 60)
    after = await asyncio.wait_for(agent.send(session, "and now?"), 60)
    assert after.text
    assert len(await conversation.transcript(agent.client, session)) == 2
    return reply


def said(reply: Reply) -> str:
    """Everything the user can read about the turn: the answer and each tool result."""
    return " ".join([reply.text, *(str(call.result) for call in reply.tool_calls)])


# script -> what the user reads, in either pattern (the Agents SDK refuses some
# malformed calls itself, before any tool runs)
EXPECTED = {
    "wrong-types": ["principal", "number"],
    "missing-arguments": ["ticker", "required"],
    "extra-arguments": ["sudo"],
    "huge-arguments": ["too large"],
    "arguments-not-json": ["JSON"],
    "arguments-not-object": ["object"],
    "unknown-tool": ["rm_rf"],
}


@pytest.mark.parametrize("script", EXPECTED)
async def test_a_bad_tool_call_is_refused_with_a_reason(agent_workers: Agent, script: str) -> None:
    reply = await run_script(agent_workers, script)
    assert not all(call.ok for call in reply.tool_calls) or reply.error
    for word in EXPECTED[script]:
        assert word.lower() in said(reply).lower(), said(reply)


async def test_an_empty_answer_says_so(agent_workers: Agent) -> None:
    reply = await run_script(agent_workers, "empty-answer")
    assert "empty answer" in reply.text


async def test_a_huge_answer_is_cut_before_the_payload_limit(agent_workers: Agent) -> None:
    reply = await run_script(agent_workers, "huge-answer")
    assert len(reply.text) < 100_000
    assert reply.text.endswith("[cut: the model wrote 3000000 characters]")


async def test_endless_tool_calls_stop_after_the_step_limit(agent_workers: Agent) -> None:
    reply = await run_script(agent_workers, "endless-calls")
    assert reply.error
    assert "steps" in reply.text


async def test_forty_tool_calls_in_one_answer_are_bounded(agent_workers: Agent) -> None:
    reply = await run_script(agent_workers, "many-calls")
    assert 0 < len(reply.tool_calls) <= 16


TERMINAL_CONTROLS = ("\x1b", "\x07", "\x9b")


@pytest.mark.parametrize("script", ["escape-answer", "escape-arguments"])
async def test_model_and_tool_text_reach_the_reader_without_terminal_controls(
    agent_workers: Agent, script: str
) -> None:
    session = f"hostile-{uuid.uuid4().hex[:8]}"
    reply = await asyncio.wait_for(agent_workers.send(session, f"script:{script}"), 60)
    history = await conversation.transcript(agent_workers.client, session)
    for shown in strings([reply.model_dump(), *(entry.model_dump() for entry in history)]):
        assert not any(c in shown for c in TERMINAL_CONTROLS), repr(shown[:300])
    if script == "escape-answer":
        assert "The answer" in reply.text
        assert "here." in reply.text


def strings(value: object) -> list[str]:
    """Every text in `value`, as the reader would get it (not JSON-escaped)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [text for k, v in value.items() for text in (*strings(k), *strings(v))]
    if isinstance(value, list):
        return [text for item in value for text in strings(item)]
    return []
