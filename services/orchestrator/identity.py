"""The orchestrator's side of identity: it verifies a user's token when their message
arrives, and mints the per-call token each tool call carries to its service.

Worker code (reads keys); workflows reach it through the identity interceptor and
the `dagent.delegate` local activity, never directly.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from pydantic import BaseModel
from temporalio import activity
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

from services.errors import ACCESS_DENIED, IdentityError
from services.identity import delegation, users
from services.identity.keys import KeySet, local_key_set
from services.identity.tokens import LOCAL_ISSUER, Principal, unverified_claims, verify
from services.settings import DagentSettings

logger = logging.getLogger("dagent.identity")


class UserGate:
    """Accepts a message whose token the configured issuer signed for this stack."""

    def __init__(self, settings: DagentSettings) -> None:
        self.keys: KeySet = KeySet(settings.auth_jwks) if settings.auth_jwks else local_key_set(settings.home)
        self.issuer = settings.auth_issuer or LOCAL_ISSUER
        self.audience = settings.auth_audience
        if settings.auth_jwks:
            try:
                self.keys.check()  # a remote key set is fetched now, not on a workflow thread
            except IdentityError as exc:
                logger.warning("%s Messages are refused until it can be read.", exc)

    def verify(self, token: str | None) -> Principal:
        try:
            return verify(token, self.keys, self.audience, self.issuer)
        except IdentityError as exc:
            remedy = (
                "pass a fresh token from your identity provider in DAGENT_TOKEN"
                if self.issuer != LOCAL_ISSUER
                else "'dagent chat' and 'dagent ask' send a valid one"
            )
            raise IdentityError(f"This message was refused: {exc}; {remedy}.") from None

    def claims_of(self, token: str | None) -> Principal | None:
        claims = unverified_claims(token)
        return Principal.from_claims(claims) if claims else None


# Minting takes well under a millisecond; a mint that fails is tried again, twice.
DELEGATE_TIMEOUT = timedelta(seconds=5)
DELEGATE_RETRY = RetryPolicy(maximum_attempts=3)


class DelegationRequest(BaseModel):
    user: str
    # The scopes the user's token gave (used with an external issuer; the stack's own
    # issuer reads the users file again, so a scope taken away counts at once).
    scopes: list[str]
    service: str
    tool: str
    call_key: str
    arguments_json: str = "{}"


class TurnGrantRequest(BaseModel):
    user: str
    scopes: list[str]
    turn_key: str


class DelegationActivities:
    """Minting for a user: local activities only, so only this worker's own workflows,
    never a workflow of another worker scheduling an activity on this queue, get them."""

    def __init__(self, settings: DagentSettings) -> None:
        self.home = settings.home
        self.external = bool(settings.auth_issuer)

    @activity.defn(name="dagent.delegate")
    async def delegate(self, request: DelegationRequest) -> str:
        """The token of one tool call (in history as the local activity's marker, bound
        to its service, tool, call and arguments, and good for two minutes)."""
        scopes = self._scopes(request.user, request.scopes)
        try:
            return delegation.for_call(
                self.home,
                request.user,
                scopes,
                request.service,
                request.tool,
                request.call_key,
                delegation.parse_arguments(request.arguments_json),
            )
        except IdentityError as exc:
            raise _refused(str(exc)) from None

    @activity.defn(name="dagent.delegate_turn")
    async def delegate_turn(self, request: TurnGrantRequest) -> str:
        """The grant of one turn's MCP calls (the mcp pattern's calls are activities the
        Agents SDK plugin schedules, so each call's token is minted where it is sent)."""
        scopes = self._scopes(request.user, request.scopes)
        try:
            return delegation.for_turn(self.home, request.user, scopes, request.turn_key)
        except IdentityError as exc:
            raise _refused(str(exc)) from None

    def _scopes(self, user: str, claimed: list[str]) -> list[str]:
        if not activity.info().is_local:
            raise _refused("identity is minted for this worker's own conversations only")
        if self.external:
            return claimed
        from services.teams import SCOPES

        try:
            return sorted(users.scopes_of(self.home, user, SCOPES))
        except IdentityError as exc:
            raise _refused(str(exc)) from None


def _refused(reason: str) -> ApplicationError:
    return ApplicationError(reason, type=ACCESS_DENIED, non_retryable=True)
