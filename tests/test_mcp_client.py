"""The orchestrator's MCP client keeps each tool call's grant while that call is being
sent, on a connection that many calls share: an attempt that ends late must not take
its retry's grant away (the retry would go out with the orchestrator's own token, and
the service would refuse it)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from agents.mcp import MCPServerStreamableHttp

from services.identity import delegation
from services.identity.headers import call_token
from services.identity.keys import ensure_local_keys
from services.identity.tokens import unverified_claims
from services.orchestrator.mcp_client import TeamMcpServer
from services.toolservice.contract import IDEMPOTENCY_META

TURN = "dagent-chat-s/message-1/"
KEY = f"{TURN}call-1"


def _body(key: str) -> bytes:
    params = {"name": "stock_price", "arguments": {"ticker": "TSLA"}, "_meta": {IDEMPOTENCY_META: key}}
    return json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": params}).encode()


async def test_a_late_attempt_keeps_its_retrys_grant(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ensure_local_keys(tmp_path)
    server = TeamMcpServer("finance", 1, tmp_path)
    sent: list[str] = []
    first_sent, first_may_end, first_ended = asyncio.Event(), asyncio.Event(), asyncio.Event()

    async def send(self: TeamMcpServer, tool: str, arguments: Any, meta: Any = None) -> Any:
        if not sent:  # the first attempt: sent, then stuck until it is let go
            sent.append(self.auth.token_for(_body(KEY)))
            first_sent.set()
            await first_may_end.wait()
            raise asyncio.CancelledError
        await first_ended.wait()  # the retry is sent only once the first has ended
        sent.append(self.auth.token_for(_body(KEY)))
        return None

    monkeypatch.setattr(MCPServerStreamableHttp, "call_tool", send)
    monkeypatch.setattr("services.orchestrator.mcp_client._labelled", lambda result, *_: result)
    grant = delegation.for_turn(tmp_path, "alice", ["finance:read"], TURN)
    call_token.set(grant)
    meta = {IDEMPOTENCY_META: KEY}
    first = asyncio.create_task(server.call_tool("stock_price", {"ticker": "TSLA"}, meta))
    await first_sent.wait()
    retry = asyncio.create_task(server.call_tool("stock_price", {"ticker": "TSLA"}, meta))
    await asyncio.sleep(0)  # the retry holds its grant, and waits to be sent
    first_may_end.set()
    with pytest.raises(asyncio.CancelledError):
        await first
    first_ended.set()
    await retry
    assert [(unverified_claims(token) or {}).get("sub") for token in sent] == ["alice", "alice"]
