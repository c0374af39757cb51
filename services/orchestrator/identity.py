"""The orchestrator's side of identity: it verifies a user's token when their message
arrives, and mints the per-call token each tool call carries to its service.

Worker code (reads keys); workflows reach it through the identity interceptor and
the `dagent.delegate` local activity, never directly.
"""

from __future__ import annotations

from pathlib import Path

import jwt
from pydantic import BaseModel
from temporalio import activity
from temporalio.exceptions import ApplicationError

from services.errors import ACCESS_DENIED, IdentityError
from services.identity import delegation
from services.identity.interceptors import Gate
from services.identity.keys import KeySet, local_key_set
from services.identity.tokens import LOCAL_ISSUER, MAX_TOKEN_CHARS, Principal, verify
from services.settings import DagentSettings


class UserGate(Gate):
    """Accepts a message whose token the configured issuer signed for this stack."""

    def __init__(self, settings: DagentSettings) -> None:
        self.keys: KeySet = KeySet(settings.auth_jwks) if settings.auth_jwks else local_key_set(settings.home)
        self.issuer = settings.auth_issuer or LOCAL_ISSUER
        self.audience = settings.auth_audience

    def verify(self, token: str | None) -> Principal:
        try:
            return verify(token, self.keys, self.audience, self.issuer)
        except IdentityError as exc:
            raise IdentityError(
                f"This message was refused: {exc}. 'dagent chat' and 'dagent ask' send a valid one."
            ) from None

    def claims_of(self, token: str | None) -> Principal | None:
        if not token or len(token) > MAX_TOKEN_CHARS:
            return None
        try:
            claims = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError:
            return None
        scope = claims.get("scope", "")
        scopes = scope.split() if isinstance(scope, str) else []
        return Principal(user=str(claims.get("sub", "")), scopes=frozenset(scopes))


class DelegationRequest(BaseModel):
    user: str
    scopes: list[str]
    service: str
    tool: str
    call_key: str
    arguments_json: str = "{}"


class DelegationActivities:
    def __init__(self, home: Path) -> None:
        self.home = home

    @activity.defn(name="dagent.delegate")
    async def delegate(self, request: DelegationRequest) -> str:
        """The token of one tool call (a local activity: it is in history as a marker,
        bound to its service, tool, call and arguments, and good for two minutes)."""
        if not request.user:
            raise ApplicationError(
                f"{request.tool} was not called: no verified user sent this message.",
                type=ACCESS_DENIED,
                non_retryable=True,
            )
        try:
            return delegation.for_call(
                self.home,
                request.user,
                request.scopes,
                request.service,
                request.tool,
                request.call_key,
                delegation.parse_arguments(request.arguments_json),
            )
        except IdentityError as exc:
            raise ApplicationError(str(exc), type=ACCESS_DENIED, non_retryable=True) from None
