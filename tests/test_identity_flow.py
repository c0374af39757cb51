"""Identity end to end on the real dev server, in the nexus and agents-nexus patterns: who
may use which tool is decided by the tool's own service, sessions belong to their
user, and no token lands where it could be replayed later."""

from __future__ import annotations

import asyncio
import base64
import json
import subprocess
import uuid
from typing import Any

import httpx
import pytest
from google.protobuf.json_format import MessageToDict
from temporalio.api.operatorservice.v1 import ListNexusEndpointsRequest
from temporalio.client import Client, WorkflowFailureError

from durable_agents_cli.stack.components import temporal_binary
from services import conversation, topology
from services.conversation import MessageRejectedError, workflow_id
from services.failures import root_message
from services.identity import audit, users
from services.identity.acting import Acting
from services.identity.headers import ClientIdentity
from services.settings import DagentSettings
from services.teams import SCOPES
from services.toolservice.workflows import TOOL_WORKFLOW
from tests.conftest import Agent, DevServer

pytestmark = pytest.mark.server


def new_session() -> str:
    return f"id-{uuid.uuid4().hex[:10]}"


async def as_user(agent: Agent, user: str) -> tuple[Client, Acting]:
    """A client that acts as `user` of the workers' users file, as `dagent chat --user` does."""
    acting = Acting(DagentSettings(home=agent.home), user=user)
    client = Client(
        agent.client.service_client,
        namespace=topology.ORCHESTRATOR_NAMESPACE,
        data_converter=agent.client.data_converter,
        interceptors=[ClientIdentity(acting.token)],
    )
    return client, acting


@pytest.fixture(autouse=True)
def known_users(agent_workers: Agent) -> None:
    users.add(agent_workers.home, agent_workers.user, SCOPES, SCOPES)
    users.add(agent_workers.home, "bob", ["it:read", "orchestrator:read"], SCOPES)
    users.add(agent_workers.home, "carol", ["orchestrator:read"], SCOPES)


def refusals(agent: Agent, team: str, user: str) -> list[audit.Decision]:
    return [d for d in audit.read(agent.home, [team]) if d.user == user and not d.allowed]


async def test_a_user_with_every_scope_gets_every_answer(agent_workers: Agent) -> None:
    reply = await agent_workers.send(new_session(), "What's the stock price of TSLA and what is my IP?")
    assert {(c.tool, c.ok) for c in reply.tool_calls} == {("stock_price", True), ("get_ip", True)}
    allowed = [d for d in audit.read(agent_workers.home, ["finance"]) if d.allowed]
    assert any(d.user == agent_workers.user and d.tool == "stock_price" for d in allowed)


async def test_the_finance_service_refuses_a_user_without_its_scope(agent_workers: Agent) -> None:
    client, _ = await as_user(agent_workers, "bob")
    session = new_session()
    reply = await conversation.send(client, session, "What's the stock price of TSLA and what is my IP?",
                                    pattern=agent_workers.pattern)  # fmt: skip
    calls = {c.tool: c for c in reply.tool_calls}
    assert calls["get_ip"].ok
    assert not calls["stock_price"].ok
    assert calls["stock_price"].result == {
        "error": "bob may not use stock_price: it needs the scope finance:read."
    }
    assert "finance:read" in reply.text
    # Decided by Finance itself, in its own trail; and a refusal is not an outage.
    assert [d.tool for d in refusals(agent_workers, "finance", "bob")] == ["stock_price"]
    progress = await conversation.progress(client, session)
    assert all(c.state == "closed" for c in progress.circuits)
    assert not reply.unavailable


async def test_the_orchestrator_checks_its_own_tools(agent_workers: Agent) -> None:
    users.add(agent_workers.home, "dave", ["it:read"], SCOPES)
    client, _ = await as_user(agent_workers, "dave")
    reply = await conversation.send(client, new_session(), "What is 6 * 7?", pattern=agent_workers.pattern)
    assert [c.result for c in reply.tool_calls] == [
        {"error": "dave may not use calculator: it needs the scope orchestrator:read."}
    ]
    assert refusals(agent_workers, topology.ORCHESTRATOR, "dave")


async def test_a_session_belongs_to_its_user(agent_workers: Agent) -> None:
    bob, _ = await as_user(agent_workers, "bob")
    carol, _ = await as_user(agent_workers, "carol")
    session = new_session()
    await conversation.send(bob, session, "What is 2 + 2?", pattern=agent_workers.pattern)
    with pytest.raises(MessageRejectedError, match=f"Session '{session}' belongs to bob; carol cannot write"):
        await conversation.send(carol, session, "What did bob ask?", pattern=agent_workers.pattern)
    assert await conversation.transcript(carol, session) == []
    assert (await conversation.progress(carol, session)).owner == ""
    assert [e.question for e in await conversation.transcript(bob, session)] == ["What is 2 + 2?"]
    assert (await conversation.progress(bob, session)).owner == "bob"


async def test_a_message_without_a_valid_token_is_refused(agent_workers: Agent) -> None:
    plain = Client(
        agent_workers.client.service_client,
        namespace=topology.ORCHESTRATOR_NAMESPACE,
        data_converter=agent_workers.client.data_converter,
    )
    with pytest.raises(MessageRejectedError, match="This message was refused: no token was presented"):
        await conversation.send(plain, new_session(), "What is 1 + 1?", pattern=agent_workers.pattern)
    forged = Client(
        agent_workers.client.service_client,
        namespace=topology.ORCHESTRATOR_NAMESPACE,
        data_converter=agent_workers.client.data_converter,
        interceptors=[ClientIdentity(lambda: "eyJhbGciOiJub25lIn0.eyJzdWIiOiJib2IifQ.")],
    )
    with pytest.raises(MessageRejectedError, match="This message was refused: the token"):
        await conversation.send(forged, new_session(), "What is 1 + 1?", pattern=agent_workers.pattern)


async def test_a_tool_workflow_started_with_the_temporal_cli_is_refused_by_the_service(
    agent_workers: Agent, dev_server: str
) -> None:
    team = topology.FINANCE
    key = f"by-hand/{uuid.uuid4().hex}"
    call = {"tool": "stock_price", "arguments_json": '{"ticker": "TSLA"}', "idempotency_key": key}
    ran = await asyncio.to_thread(
        subprocess.run,
        [
            *(
                temporal_binary(),
                "workflow",
                "execute",
                "--address",
                dev_server,
                "--namespace",
                team.namespace,
            ),
            *(
                "--type",
                TOOL_WORKFLOW,
                "--task-queue",
                team.task_queue,
                "--workflow-id",
                key.replace("/", "-"),
            ),
            *("--input", json.dumps(call)),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert ran.returncode != 0, ran.stdout
    # The reason is sealed like any payload: the outsider reads none of it ...
    assert "Encoded failure" in ran.stdout
    assert "no token" not in ran.stdout + ran.stderr
    # ... a holder of the stack's keys reads it.
    sealed = Client(
        agent_workers.client.service_client,
        namespace=team.namespace,
        data_converter=agent_workers.client.data_converter,
    )
    with pytest.raises(WorkflowFailureError) as failed:
        await sealed.get_workflow_handle(key.replace("/", "-")).result()
    assert "stock_price was refused by the finance service: no token was presented" in root_message(
        failed.value
    )
    trail = [d for d in audit.read(agent_workers.home, ["finance"]) if d.idempotency_key == key]
    assert [(d.allowed, d.user) for d in trail] == [(False, "")]


async def test_no_token_is_kept_where_it_could_be_read_later(agent_workers: Agent) -> None:
    """History keeps tokens in headers (bound to one call, two minutes) and in the
    per-call delegation's result; nowhere else: not in the messages, memory, state,
    model requests or tool results. Nor does any token reach the transcript."""
    tokens: list[str] = []
    acting = Acting(DagentSettings(home=agent_workers.home))

    def remembered() -> str:
        tokens.append(acting.token())
        return tokens[-1]

    client = Client(
        agent_workers.client.service_client,
        namespace=topology.ORCHESTRATOR_NAMESPACE,
        data_converter=agent_workers.client.data_converter,
        interceptors=[ClientIdentity(remembered)],
    )
    session = new_session()
    for question in ("What's the stock price of TSLA and what is my IP?", "and for AAPL?", "What is 2 * 21?"):
        await conversation.send(client, session, question, pattern=agent_workers.pattern)
    transcript = await conversation.transcript(client, session)
    assert tokens
    assert not any(token in repr(transcript) for token in tokens)
    history = await client.get_workflow_handle(workflow_id(session)).fetch_history()
    events = [_decoded(MessageToDict(event)) for event in history.events]
    # Every token dagent mints starts with the same header segment: it finds per-call
    # tokens as well as the user's.
    jwt_header = tokens[0].split(".", 1)[0]
    assert jwt_header in repr(events)
    stored = repr(_where_no_token_belongs(events))
    assert jwt_header not in stored, "a token is stored in history outside a header or its delegation"


def _decoded(value: Any) -> Any:
    """A history event with its payloads' data decoded."""
    if isinstance(value, dict):
        return {
            k: base64.b64decode(v).decode(errors="replace")
            if k == "data" and isinstance(v, str)
            else _decoded(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_decoded(item) for item in value]
    return value


def _where_no_token_belongs(value: Any) -> Any:
    """Events without their headers and the `dagent.delegate` local activity's marker."""
    if isinstance(value, dict):
        if "dagent.delegate" in repr(value.get("details")):
            return None
        return {k: _where_no_token_belongs(v) for k, v in value.items() if k not in ("header", "nexusHeader")}
    if isinstance(value, list):
        return [_where_no_token_belongs(item) for item in value]
    return value


async def test_a_call_on_the_nexus_http_path_is_refused_by_the_service(
    agent_workers: Agent, dev_server_ports: DevServer
) -> None:
    """What another local process could try: the endpoint's own HTTP path, no agent."""
    team = topology.FINANCE
    found = await agent_workers.client.operator_service.list_nexus_endpoints(
        ListNexusEndpointsRequest(name=team.nexus_endpoint)
    )
    endpoint = found.endpoints[0].id
    key = f"over-http/{uuid.uuid4().hex}"
    url = (
        f"http://127.0.0.1:{dev_server_ports.http_port}/nexus/endpoints/{endpoint}"
        "/services/dagent.ToolService/execute_tool"
    )
    call = {"tool": "stock_price", "arguments_json": '{"ticker": "TSLA"}', "idempotency_key": key}
    async with httpx.AsyncClient(timeout=30, trust_env=False) as http:
        response = await http.post(url, json=call, headers={"Nexus-Request-Id": uuid.uuid4().hex})
    assert response.status_code >= 400, response.text
    # Refused, its reason sealed: the outsider reads none of it (the trail has it).
    assert "Encoded failure" in response.text
    assert "no token" not in response.text
    trail = [d for d in audit.read(agent_workers.home, ["finance"]) if d.idempotency_key == key]
    assert [d.allowed for d in trail] == [False]
