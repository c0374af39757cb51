"""A company's identity provider instead of the stack's own issuer: DAGENT_AUTH_ISSUER,
DAGENT_AUTH_AUDIENCE and DAGENT_AUTH_JWKS make the orchestrator accept that
provider's tokens (here: a key and JWKS file this test made), and only them."""

from __future__ import annotations

import json
import tempfile
import time
import uuid
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from temporalio.client import Client

from services import conversation, topology
from services.conversation import MessageRejectedError
from services.identity import delegation
from services.identity.headers import ClientIdentity
from services.identity.tokens import LOCAL_ISSUER
from tests.conftest import Agent

pytestmark = pytest.mark.server

ISSUER = "https://idp.example.com/"
AUDIENCE = "dagent-api"
IDP_KEY = Ed25519PrivateKey.generate()


def _publish_jwks() -> str:
    public = json.loads(jwt.algorithms.OKPAlgorithm.to_jwk(IDP_KEY.public_key()))
    path = Path(tempfile.mkdtemp()) / "jwks.json"
    path.write_text(json.dumps({"keys": [{**public, "kid": "idp-1", "alg": "EdDSA", "use": "sig"}]}))
    return str(path)


def idp_token(user: str, scopes: str, issuer: str = ISSUER, audience: str = AUDIENCE) -> str:
    now = int(time.time())
    claims = {"iss": issuer, "sub": user, "aud": audience, "scope": scopes, "iat": now, "exp": now + 3600}
    return jwt.encode(claims, IDP_KEY, algorithm="EdDSA", headers={"kid": "idp-1"})


WORKER_SETTINGS = {"auth_issuer": ISSUER, "auth_audience": AUDIENCE, "auth_jwks": _publish_jwks()}
WORKER_TOKEN = idp_token("erin", "it:read orchestrator:read")


def client_with(agent: Agent, token: str) -> Client:
    return Client(
        agent.client.service_client,
        namespace=topology.ORCHESTRATOR_NAMESPACE,
        data_converter=agent.client.data_converter,
        interceptors=[ClientIdentity(lambda: token)],
    )


async def ask(client: Client, pattern: str) -> None:
    await conversation.send(client, f"idp-{uuid.uuid4().hex[:8]}", "What is 1 + 1?", pattern=pattern)


async def test_the_providers_user_and_scopes_reach_the_services(agent_workers: Agent) -> None:
    session = f"idp-{uuid.uuid4().hex[:8]}"
    reply = await agent_workers.send(session, "What's the stock price of TSLA and what is my IP?")
    calls = {c.tool: c for c in reply.tool_calls}
    assert calls["get_ip"].ok
    assert calls["stock_price"].result == {
        "error": "erin may not use stock_price: it needs the scope finance:read."
    }
    assert (await conversation.progress(agent_workers.client, session)).owner == "erin"


@pytest.mark.parametrize(
    ("token", "reason"),
    [
        (idp_token("erin", "it:read", issuer="https://other.example/"), "was not issued by"),
        (idp_token("erin", "it:read", audience="someone-else"), "is not meant for dagent-api"),
    ],
)
async def test_tokens_the_provider_did_not_mean_for_this_stack_are_refused(
    agent_workers: Agent, token: str, reason: str
) -> None:
    with pytest.raises(MessageRejectedError, match=reason):
        await ask(client_with(agent_workers, token), agent_workers.pattern)


async def test_the_stacks_own_tokens_are_not_accepted_instead(agent_workers: Agent) -> None:
    local = delegation.for_service(agent_workers.home, "orchestrator")
    assert jwt.decode(local, options={"verify_signature": False})["iss"] == LOCAL_ISSUER
    with pytest.raises(MessageRejectedError, match="This message was refused"):
        await ask(client_with(agent_workers, local), agent_workers.pattern)
