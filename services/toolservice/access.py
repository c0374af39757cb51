"""A tool service's access decision: who asks, whether they may run this tool, and the
audit line that records it. Every way into a team (its Nexus handler, its MCP
server, the activity that runs the tool) decides here."""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path
from typing import Any

from services.errors import AccessDeniedError, IdentityError
from services.identity import audit, delegation
from services.identity.keys import local_key_set
from services.identity.tokens import Principal, verify
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
        principal = authorize(
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
        _record(home, replace(decision, user=user, reason=str(exc)))
        logger.warning("refused %s for %s: %s", call.tool, user or "an unknown caller", exc)
        raise
    if record_allow:
        _record(home, replace(decision, user=principal.user, allowed=True, reason=f"holds {scope}"))
    return principal


def _record(home: Path, decision: audit.Decision) -> None:
    """A decision that cannot be recorded is a refusal: nothing runs unaccounted for."""
    try:
        audit.record(home, decision)
    except OSError as exc:
        raise AccessDeniedError(
            f"{decision.tool} was refused by the {decision.team} service: its audit trail "
            f"{audit.audit_file(home, decision.team)} cannot be written ({exc.strerror})."
        ) from None


def authorize(
    token: str | None,
    home: Path,
    service: str,
    tool: str,
    scope: str,
    call_key: str,
    arguments: Any,
) -> Principal:
    """Who may run this call, or AccessDeniedError with the one line its caller reads.

    A token bound to a call (the orchestrator's) must name this tool, call and
    arguments; a plain user token for this service (an MCP client's) may call any
    tool its scopes allow."""
    try:
        principal = verify(token, local_key_set(home), delegation.service_audience(service))
    except IdentityError as exc:
        raise AccessDeniedError(f"{tool} was refused by the {service} service: {exc}.") from None
    claims = principal.claims
    for claim, expected, what in (
        (delegation.TOOL_CLAIM, tool, "another tool"),
        (delegation.CALL_CLAIM, call_key, "another call"),
        (delegation.ARGUMENTS_CLAIM, delegation.arguments_digest(arguments), "other arguments"),
    ):
        if claim in claims and claims[claim] != expected:
            raise AccessDeniedError(
                f"{tool} was refused by the {service} service: the token was issued for {what}.",
                user=principal.user,
            )
    if scope and not principal.holds(scope):
        raise AccessDeniedError(
            f"{principal.user} may not use {tool}: it needs the scope {scope}.", user=principal.user
        )
    return principal
