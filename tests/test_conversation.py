"""The durable conversation on the real dev server: memory, idempotence, queueing,
continue-as-new, Nexus routing, and the failures a user can meet."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from temporalio.api.operatorservice.v1 import DeleteNexusEndpointRequest, ListNexusEndpointsRequest
from temporalio.client import Client
from temporalio.converter import DataConverter

from services import bootstrap, conversation, topology
from services.conversation import MessageRejectedError, workflow_id
from tests.conftest import Agent
from tests.helpers import NEXUS_TOOLS, tool_endpoints

pytestmark = pytest.mark.server


def new_session() -> str:
    return f"test-{uuid.uuid4().hex[:8]}"


async def test_memory_across_turns(agent_workers: Agent) -> None:
    session = new_session()
    first = await agent_workers.send(session, "What's the stock price of TSLA?")
    assert first.tool_calls[0].tool == "stock_price"
    follow_up = await agent_workers.send(session, "and for AAPL?")
    assert [(c.tool, c.arguments) for c in follow_up.tool_calls] == [("stock_price", {"ticker": "AAPL"})]
    assert "AAPL" in follow_up.text
    recall = await agent_workers.send(session, "What was my first question?")
    assert recall.text == 'Your first question was: "What\'s the stock price of TSLA?"'
    assert recall.tool_calls == []


async def test_same_message_id_is_answered_once(agent_workers: Agent) -> None:
    session = new_session()
    first = await agent_workers.send(session, "What is 6 * 7?", message_id="m-1")
    again = await agent_workers.send(session, "What is 6 * 7?", message_id="m-1")
    assert again == first
    transcript = await conversation.transcript(agent_workers.client, session)
    assert [entry.message_id for entry in transcript] == ["m-1"]


async def test_concurrent_messages_each_get_their_own_reply_in_order(agent_workers: Agent) -> None:
    session = new_session()
    questions = [f"What is {n} * 10?" for n in range(1, 6)]
    replies = await asyncio.gather(
        *(agent_workers.send(session, q, message_id=f"q{n}") for n, q in enumerate(questions))
    )
    for n, reply in enumerate(replies):
        assert reply.message_id == f"q{n}"
        assert f"**{(n + 1) * 10}**" in reply.text
    transcript = await conversation.transcript(agent_workers.client, session)
    assert sorted(entry.message_id for entry in transcript) == [f"q{n}" for n in range(5)]
    finished = [entry.reply.finished_at for entry in transcript if entry.reply]
    assert finished == sorted(finished)  # one turn at a time


async def test_memory_survives_continue_as_new(agent_workers: Agent) -> None:
    session = new_session()
    await agent_workers.send(session, "What is 125 * 8?", turns_per_run=2)
    first_run = (await agent_workers.client.get_workflow_handle(workflow_id(session)).describe()).run_id
    for n in range(4):
        await agent_workers.send(session, f"What is {n} + 1?", turns_per_run=2)
    handle = agent_workers.client.get_workflow_handle(workflow_id(session))
    assert (await handle.describe()).run_id != first_run
    recall = await agent_workers.send(session, "What was my first question?", turns_per_run=2)
    assert recall.text == 'Your first question was: "What is 125 * 8?"'
    progress = await conversation.progress(agent_workers.client, session)
    assert progress.total_turns == 6
    assert progress.run_turns < 6
    transcript = await conversation.transcript(agent_workers.client, session)
    assert len(transcript) == 6


async def test_remote_tools_are_nexus_operations_into_the_team_namespaces(agent_workers: Agent) -> None:
    session = new_session()
    reply = await agent_workers.send(session, "TSLA price and my IP")
    assert {(c.service, c.tool, c.transport) for c in reply.tool_calls} == {
        ("finance", "stock_price", "nexus"),
        ("it", "get_ip", "nexus"),
    }
    endpoints = await tool_endpoints(agent_workers.client, session)
    assert endpoints == {"it-nexus-endpoint", "finance-nexus-endpoint"}
    for team in ("it", "finance"):
        namespace = topology.TEAMS[team].namespace
        team_client = Client(agent_workers.client.service_client, namespace=namespace)
        runs = [w async for w in team_client.list_workflows("WorkflowType = 'dagent.ToolWorkflow'")]
        assert runs, f"no tool workflow ran in {namespace}"


async def test_bad_input_is_rejected_and_nothing_is_lost(agent_workers: Agent) -> None:
    session = new_session()
    await agent_workers.send(session, "What is 1 + 1?")
    for bad in ("", "   ", "x" * 40_000):
        with pytest.raises(MessageRejectedError):
            await agent_workers.send(session, bad)
    division = await agent_workers.send(session, "What is 1 / 0?")
    assert "Division by zero" in division.text
    assert not division.tool_calls[0].ok
    # Arguments the Finance service refuses: a non-retryable Nexus error, reported in the answer.
    too_long = await agent_workers.send(session, "Calculate ROI for $10,000 at 5% over 500 years")
    call = too_long.tool_calls[0]
    assert (call.service, call.transport, call.ok) == ("finance", "nexus", False)
    assert "years" in call.result["error"]
    assert "less than or equal to 100" in too_long.text
    transcript = await conversation.transcript(agent_workers.client, session)
    assert len(transcript) == 3


async def test_missing_endpoint_is_a_clear_answer_not_a_stuck_workflow(agent_workers: Agent) -> None:
    found = await agent_workers.client.operator_service.list_nexus_endpoints(
        ListNexusEndpointsRequest(name=topology.FINANCE.nexus_endpoint)
    )
    endpoint = found.endpoints[0]
    await agent_workers.client.operator_service.delete_nexus_endpoint(
        DeleteNexusEndpointRequest(id=endpoint.id, version=endpoint.version)
    )
    try:
        session = new_session()
        reply = await asyncio.wait_for(agent_workers.send(session, "What's the stock price of TSLA?"), 30)
        assert "not available" in reply.text
        progress = await conversation.progress(agent_workers.client, session)
        assert "finance-nexus-endpoint" in progress.unavailable["finance"]
        local = await agent_workers.send(session, "What is 2 * 21?")
        assert "**42**" in local.text
    finally:
        await bootstrap.ensure_topology(agent_workers.client)


async def test_tool_catalog_is_discovered_live(agent_workers: Agent) -> None:
    catalog = await conversation.tool_catalog(agent_workers.client, agent_workers.pattern)
    assert {(t.service, t.name, t.transport) for t in catalog.tools} == NEXUS_TOOLS
    assert catalog.unavailable == {}
    assert all(t.description for t in catalog.tools)


async def test_the_model_sees_each_tools_own_description_and_flat_parameters(agent_workers: Agent) -> None:
    from services.llm.offline.model import RECENT_TOOLS
    from services.teams import TOOLS

    RECENT_TOOLS.clear()
    await agent_workers.send(new_session(), "What's the stock price of TSLA?")
    offered = {tool["function"]["name"]: tool["function"] for tool in RECENT_TOOLS[0]}
    assert set(offered) == set(TOOLS)
    for name, function in offered.items():
        assert function["description"] == TOOLS[name].description
        parameters = function["parameters"]
        assert parameters["type"] == "object"
        assert set(parameters.get("properties", {})) == set(TOOLS[name].input_model.model_fields)
        assert "input" not in parameters.get("properties", {})


async def test_a_send_signal_cannot_write_to_an_owned_session(agent_workers: Agent) -> None:
    """A signal (fire and forget) carries no verified identity: on a session that has an
    owner it is dropped, not recorded (nor does it learn the owner's name). The
    transcript answers its owner only, in the same shape in every pattern: each tool
    call carries `ok`."""
    session = new_session()
    await agent_workers.send(session, "What is 1 + 1?", message_id="first")
    handle = agent_workers.client.get_workflow_handle(workflow_id(session))
    for message in ({"id": "by-signal", "text": "What's the stock price of TSLA?"},
                    {"id": "empty", "text": "   "}):  # fmt: skip
        await handle.signal("send", message)
    # Handled after the signals, which reached the workflow first.
    await agent_workers.send(session, "What is 2 + 2?", message_id="second")

    def raw(interceptors: list[Any]) -> Client:
        # Raw JSON, as another language's client sees it (with the owner's identity or
        # none), through the stack's payload codec.
        client = agent_workers.client
        return Client(
            client.service_client,
            namespace=topology.ORCHESTRATOR_NAMESPACE,
            interceptors=interceptors,
            data_converter=DataConverter(payload_codec=client.data_converter.payload_codec),
        )

    owner = raw(agent_workers.client.config()["interceptors"])
    entries = await owner.get_workflow_handle(workflow_id(session)).query("transcript")
    assert [e["message_id"] for e in entries] == ["first", "second"]
    assert [(c["tool"], c["ok"]) for c in entries[0]["reply"]["tool_calls"]] == [("calculator", True)]
    assert await raw([]).get_workflow_handle(workflow_id(session)).query("transcript") == []
