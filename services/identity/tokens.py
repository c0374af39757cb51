"""Identity tokens: JWTs signed with EdDSA (PyJWT over `cryptography`), and the one
path that verifies them, whoever verifies (a tool service, an MCP server, the CLI).

A token names its user (`sub`), the scopes they hold (`scope`, space-separated as in
OAuth 2), who it is for (`aud`), who issued it (`iss`), when it ends (`exp`) and its
own id (`jti`). Verification checks the signature, expiry, issuer and audience, and
explains a refusal in one line that never repeats the token.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from services.errors import IdentityError
from services.identity.keys import LOCAL_KEY_ID, KeySet

# The local issuer's name, in every token it signs.
LOCAL_ISSUER = "dagent-local"
# Clocks of two processes on one machine differ by far less.
LEEWAY = timedelta(seconds=30)
# Far above any real token; a larger one is refused before it is parsed.
MAX_TOKEN_CHARS = 8_192
# The algorithms a key may sign with: public-key ones only.
ASYMMETRIC = frozenset(
    {"EdDSA", "ES256", "ES384", "ES512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512"}
)


@dataclass(frozen=True)
class Principal:
    """Who is asking, as a verified token says."""

    user: str
    scopes: frozenset[str] = field(default_factory=frozenset)
    token_id: str = ""
    expires_at: datetime | None = None
    claims: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def holds(self, scope: str) -> bool:
        return scope in self.scopes

    @classmethod
    def from_claims(cls, claims: dict[str, Any]) -> Principal:
        """Who `claims` name; scopes from `scope` (OAuth 2: space-separated) or a list."""
        scope = claims.get("scope", "")
        scopes = scope.split() if isinstance(scope, str) else [str(s) for s in scope or ()]
        try:
            expires_at: datetime | None = datetime.fromtimestamp(int(claims["exp"]), UTC)
        except (KeyError, TypeError, ValueError, OverflowError, OSError):
            expires_at = None
        return cls(
            user=str(claims.get("sub", "")),
            scopes=frozenset(scopes),
            token_id=str(claims.get("jti", "")),
            expires_at=expires_at,
            claims=claims,
        )


def unverified_claims(token: str | None) -> dict[str, Any] | None:
    """What a token says, without checking who signed it: only for a token verified
    before (replay), or to say who a refused one claimed to be."""
    if not token or len(token) > MAX_TOKEN_CHARS:
        return None
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return None
    return claims if isinstance(claims, dict) else None


def mint(
    key: Ed25519PrivateKey,
    user: str,
    scopes: list[str] | frozenset[str],
    audience: str,
    lifetime: timedelta,
    issuer: str = LOCAL_ISSUER,
    **claims: Any,
) -> str:
    """A token for `user` with `scopes`, for `audience`, valid for `lifetime`."""
    now = datetime.now(UTC)
    payload = {
        **claims,
        "iss": issuer,
        "sub": user,
        "aud": audience,
        "scope": " ".join(sorted(scopes)),
        "iat": now,
        "nbf": now,
        "exp": now + lifetime,
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(payload, key, algorithm="EdDSA", headers={"kid": LOCAL_KEY_ID})


def verify(token: str | None, keys: KeySet, audience: str, issuer: str = LOCAL_ISSUER) -> Principal:
    """The principal `token` names, or IdentityError saying why it is not accepted."""
    if not token:
        raise IdentityError("no token was presented")
    if len(token) > MAX_TOKEN_CHARS:
        raise IdentityError(f"the token is larger than {MAX_TOKEN_CHARS} characters")
    key = keys.key_for(token)
    if key.algorithm_name not in ASYMMETRIC:
        # A shared secret in a key set would let anyone who can read it sign tokens.
        raise IdentityError(
            f"the token's key uses {key.algorithm_name}; only public-key algorithms are accepted"
        )
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=[key.algorithm_name],
            audience=audience,
            issuer=issuer,
            leeway=LEEWAY,
            options={"require": ["exp", "iss", "sub", "aud"]},
        )
    except jwt.ExpiredSignatureError:
        raise IdentityError("the token has expired") from None
    except jwt.InvalidAudienceError:
        raise IdentityError(f"the token is not meant for {audience}") from None
    except jwt.InvalidIssuerError:
        raise IdentityError(f"the token was not issued by {issuer}") from None
    except jwt.InvalidSignatureError:
        raise IdentityError("the token is not signed by a trusted key") from None
    except jwt.MissingRequiredClaimError as exc:
        raise IdentityError(f"the token lacks the '{exc.claim}' claim") from None
    except jwt.PyJWTError as exc:
        raise IdentityError(f"the token is malformed ({type(exc).__name__})") from None
    try:
        datetime.fromtimestamp(int(claims["exp"]), UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        raise IdentityError("the token's expiry is not a valid time") from None
    return Principal.from_claims(claims)
