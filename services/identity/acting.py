"""Who a front end (`dagent chat`, `dagent ask`, a test) acts as, and the short-lived token
it sends with each message.

With the stack as issuer, the token is minted here for a user of the users file
(the OS login user by default), with that user's scopes, for five minutes, and
minted again before it runs out. With a company's issuer configured, the token
is the one given (`--token` / DAGENT_TOKEN): dagent cannot mint for another issuer.
"""

from __future__ import annotations

import time
from datetime import timedelta

from services.errors import IdentityError
from services.identity import users
from services.identity.keys import signing_key
from services.identity.tokens import Principal, mint, unverified_claims
from services.settings import DagentSettings

USER_TOKEN_LIFETIME = timedelta(minutes=5)
# A token with less left than this is replaced before it is sent.
RENEW_BEFORE = timedelta(minutes=1)


class Acting:
    """The user a front end acts as; `token()` is what goes in each request's header."""

    user: str
    scopes: frozenset[str]

    def __init__(self, settings: DagentSettings, user: str | None = None, token: str | None = None) -> None:
        from services.teams import SCOPES

        self.settings = settings
        given = token or settings.token
        if given:
            self.user, self.scopes = _holder_of(given)
            self._token, self._renew_at = given.strip(), float("inf")
            return
        if settings.auth_issuer or settings.auth_jwks:
            raise IdentityError(
                "The stack accepts tokens of another issuer (DAGENT_AUTH_ISSUER): pass one minted "
                "there with --token or DAGENT_TOKEN."
            )
        self.user = user or settings.user or users.login_user()
        self.scopes = users.scopes_of(settings.home, self.user, SCOPES)
        self._token, self._renew_at = "", 0.0

    def token(self) -> str:
        # Wall-clock time, as the token's expiry is: a laptop that slept must renew.
        if time.time() >= self._renew_at:
            self._token = mint(
                signing_key(self.settings.home),
                self.user,
                self.scopes,
                self.settings.auth_audience,
                USER_TOKEN_LIFETIME,
            )
            self._renew_at = time.time() + (USER_TOKEN_LIFETIME - RENEW_BEFORE).total_seconds()
        return self._token


def _holder_of(token: str) -> tuple[str, frozenset[str]]:
    """The user a given token names and their scopes: read, not verified (the
    orchestrator verifies it)."""
    claims = unverified_claims(token.strip())
    if claims is None:
        raise IdentityError(
            "The token in --token or DAGENT_TOKEN is not a JWT (three base64url parts joined by dots)."
        )
    holder = Principal.from_claims(claims)
    if not holder.user:
        raise IdentityError("The token in --token or DAGENT_TOKEN names no user (its 'sub' claim).")
    return holder.user, holder.scopes
