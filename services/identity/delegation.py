"""Per-call tokens: how the orchestrator acts for a user at a tool service, and how the
service decides.

The user's own token stops at the orchestrator (it is verified when a message is
accepted). For each tool call, the orchestrator's worker mints a token of two
minutes for that one call: the user and their scopes, the service it is for
(`aud`), the tool, the call's idempotency key and a digest of its arguments. It
travels in Temporal and Nexus headers, or as the MCP request's bearer token, and
is what history holds: read from there, it can run nothing but that same call, on
that service, for two minutes. The service verifies it before the tool runs.
"""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

from services.errors import IdentityError
from services.identity.keys import local_key_set, signing_key
from services.identity.tokens import Principal, mint, unverified_claims, verify

# Who acts for the user, in every per-call token (`act`, RFC 8693).
ORCHESTRATOR_ACTOR = "dagent-orchestrator"
CALL_LIFETIME = timedelta(minutes=2)
# Private claims binding a token to one call.
TOOL_CLAIM = "dagent_tool"
CALL_CLAIM = "dagent_call"
ARGUMENTS_CLAIM = "dagent_args"
# A turn's grant (mcp pattern): what the orchestrator's own MCP client accepts to mint
# the call tokens of one turn's MCP calls, whose keys all start with the turn's key.
TURN_AUDIENCE = "dagent:orchestrator/mcp-client"
TURN_CLAIM = "dagent_turn"
TURN_LIFETIME = timedelta(minutes=5)


def service_audience(service: str) -> str:
    """The audience a token for `service` (a team, or the orchestrator's local tools) names."""
    return f"dagent:{service}"


def arguments_digest(arguments: Any) -> str:
    """A digest of a call's arguments that does not depend on how they were spelled."""
    canonical = json.dumps(arguments, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def parse_arguments(arguments_json: str) -> Any:
    try:
        return json.loads(arguments_json or "{}")
    except ValueError:
        return arguments_json


def for_call(
    home: Path,
    user: str,
    scopes: list[str],
    service: str,
    tool: str,
    call_key: str,
    arguments: Any,
) -> str:
    """The token for one call of `tool` at `service` on behalf of `user`."""
    return mint(
        signing_key(home),
        user,
        scopes,
        service_audience(service),
        CALL_LIFETIME,
        act={"sub": ORCHESTRATOR_ACTOR},
        **{TOOL_CLAIM: tool, CALL_CLAIM: call_key, ARGUMENTS_CLAIM: arguments_digest(arguments)},
    )


def for_turn(home: Path, user: str, scopes: list[str], turn_key: str) -> str:
    """The grant of one turn's MCP calls: no service accepts it; the orchestrator's
    MCP client turns it into each call's own token."""
    return mint(signing_key(home), user, scopes, TURN_AUDIENCE, TURN_LIFETIME, **{TURN_CLAIM: turn_key})


def verify_turn(token: str | None, home: Path, call_key: str) -> Principal:
    """The user a turn's grant names, if it is genuine and `call_key` belongs to its turn."""
    principal = verify(token, local_key_set(home), TURN_AUDIENCE)
    turn = principal.claims.get(TURN_CLAIM)
    if not isinstance(turn, str) or not turn or not call_key.startswith(turn):
        raise IdentityError("the grant is for another turn")
    return principal


def for_service(home: Path, service: str) -> str:
    """The orchestrator's own token at `service`: no user, no scope; enough to list tools."""
    return mint(signing_key(home), ORCHESTRATOR_ACTOR, [], service_audience(service), CALL_LIFETIME)


def unverified_user(token: str | None) -> str:
    """The user a token claims to be, unverified: for the audit line of a refusal only."""
    claims = unverified_claims(token)
    subject = claims.get("sub") if claims else None
    return f"{subject} (unverified)" if isinstance(subject, str) and subject else ""
