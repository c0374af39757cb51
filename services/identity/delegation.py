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

import jwt

from services.errors import AccessDeniedError, IdentityError
from services.identity.keys import local_key_set, signing_key
from services.identity.tokens import MAX_TOKEN_CHARS, Principal, mint, verify

# Who acts for the user, in every per-call token (`act`, RFC 8693).
ORCHESTRATOR_ACTOR = "dagent-orchestrator"
CALL_LIFETIME = timedelta(minutes=2)
# Private claims binding a token to one call.
TOOL_CLAIM = "dagent_tool"
CALL_CLAIM = "dagent_call"
ARGUMENTS_CLAIM = "dagent_args"


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


def for_service(home: Path, service: str) -> str:
    """The orchestrator's own token at `service`: no user, no scope; enough to list tools."""
    return mint(signing_key(home), ORCHESTRATOR_ACTOR, [], service_audience(service), CALL_LIFETIME)


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
        principal = verify(token, local_key_set(home), service_audience(service))
    except IdentityError as exc:
        raise AccessDeniedError(f"{tool} was refused by the {service} service: {exc}.") from None
    claims = principal.claims
    for claim, expected, what in (
        (TOOL_CLAIM, tool, "another tool"),
        (CALL_CLAIM, call_key, "another call"),
        (ARGUMENTS_CLAIM, arguments_digest(arguments), "other arguments"),
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


def unverified_user(token: str | None) -> str:
    """The user a token claims to be, unverified: for the audit line of a refusal only."""
    if not token or len(token) > MAX_TOKEN_CHARS:
        return ""
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return ""
    subject = claims.get("sub")
    return f"{subject} (unverified)" if isinstance(subject, str) else ""
