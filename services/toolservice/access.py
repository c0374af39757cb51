"""A tool service's access decision: who asks, whether they may run this tool, and the
audit line that records it. Every way into a team (its Nexus handler, its MCP
server, the activity that runs the tool) decides here."""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

from services.errors import AccessDeniedError
from services.identity import audit, delegation
from services.identity.tokens import Principal
from services.teams import get_tool
from services.toolservice.contract import ToolCall

logger = logging.getLogger("dagent.access")


def decide(
    home: Path, service: str, call: ToolCall, token: str | None, *, record_allow: bool = True
) -> Principal:
    """The caller, if `token` lets them run `call` here; else AccessDeniedError (recorded).

    An entry point that checks early and hands the call on (the Nexus handler, the
    MCP server) records only refusals: the activity records the allow."""
    scope = get_tool(call.tool, service).scope
    decision = audit.Decision(
        team=service,
        tool=call.tool,
        user="",
        scope=scope,
        allowed=False,
        reason="",
        idempotency_key=call.idempotency_key,
        caller=call.idempotency_key.split("/", 1)[0],
    )
    try:
        principal = delegation.authorize(
            token,
            home,
            service,
            call.tool,
            scope,
            call.idempotency_key,
            delegation.parse_arguments(call.arguments_json),
        )
    except AccessDeniedError as exc:
        user = exc.user or delegation.unverified_user(token)
        audit.record(home, replace(decision, user=user, reason=str(exc)))
        logger.warning("refused %s for %s: %s", call.tool, user or "an unknown caller", exc)
        raise
    if record_allow:
        audit.record(home, replace(decision, user=principal.user, allowed=True, reason=f"holds {scope}"))
    return principal
