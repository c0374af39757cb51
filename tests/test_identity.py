"""Identity tokens and the users file: what is accepted, and each way a token is refused."""

from __future__ import annotations

import base64
import http.server
import json
import stat
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from services.auth_files import auth_dir
from services.errors import AccessDeniedError, IdentityError
from services.identity import (
    KeySet,
    delegation,
    ensure_local_keys,
    local_key_set,
    mint,
    signing_key,
    users,
    verify,
)
from services.identity.keys import LOCAL_KEY_ID
from services.toolservice import access

EVERY_SCOPE = ["finance:read", "it:read", "orchestrator:read"]
MINUTE = timedelta(minutes=1)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    ensure_local_keys(tmp_path)
    return tmp_path


def test_a_token_names_its_user_and_scopes(home: Path) -> None:
    token = mint(signing_key(home), "alice", ["it:read"], "it", MINUTE)
    principal = verify(token, local_key_set(home), audience="it")
    assert principal.user == "alice"
    assert principal.holds("it:read")
    assert not principal.holds("finance:read")
    assert principal.token_id


def refusal(home: Path, token: str | None, audience: str = "it") -> str:
    with pytest.raises(IdentityError) as refused:
        verify(token, local_key_set(home), audience=audience)
    message = str(refused.value)
    assert not token or token not in message  # a refusal never repeats the token
    return message


def test_each_bad_token_is_refused_with_its_reason(home: Path) -> None:
    key = signing_key(home)
    assert refusal(home, None) == "no token was presented"
    assert refusal(home, mint(key, "alice", [], "it", -MINUTE)) == "the token has expired"
    assert refusal(home, mint(key, "alice", [], "finance", MINUTE)) == "the token is not meant for it"
    assert "malformed" in refusal(home, "not-a-jwt")
    assert "larger than" in refusal(home, "x" * 10_000)
    far = jwt.encode(
        {"sub": "a", "aud": "it", "iss": "dagent-local", "exp": 2**40}, key, "EdDSA", {"kid": LOCAL_KEY_ID}
    )
    assert refusal(home, far) == "the token's expiry is not a valid time"
    # Same key id, another stack's key: a forgery.
    other = mint(Ed25519PrivateKey.generate(), "alice", EVERY_SCOPE, "it", MINUTE)
    assert refusal(home, other) == "the token is not signed by a trusted key"
    # alg "none", and a token whose payload was edited after signing.
    unsigned = jwt.encode(
        {"sub": "alice", "aud": "it"}, key=None, algorithm="none", headers={"kid": LOCAL_KEY_ID}
    )
    assert "malformed" in refusal(home, unsigned) or "trusted" in refusal(home, unsigned)
    header, _, signature = mint(key, "bob", [], "it", MINUTE).split(".")
    payload = base64.urlsafe_b64encode(json.dumps({"sub": "bob", "aud": "it", "scope": "it:read"}).encode())
    assert refusal(home, f"{header}.{payload.decode().rstrip('=')}.{signature}") in (
        "the token is not signed by a trusted key",
        "the token lacks the 'exp' claim",
    )


def test_an_external_issuer_is_verified_from_its_jwks_file(tmp_path: Path) -> None:
    """A company IdP: its own key (ES256 here), its own issuer, a JWKS file."""
    private = ec.generate_private_key(ec.SECP256R1())
    public = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(private.public_key()))
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps({"keys": [{**public, "kid": "corp-1", "alg": "ES256", "use": "sig"}]}))
    expires = datetime.now(UTC) + timedelta(hours=1)
    claims = {
        "sub": "carol",
        "aud": "dagent",
        "iss": "https://idp.example",
        "scope": "it:read",
        "exp": expires,
    }
    token = jwt.encode(claims, private, algorithm="ES256", headers={"kid": "corp-1"})
    principal = verify(token, KeySet(str(jwks)), audience="dagent", issuer="https://idp.example")
    assert (principal.user, principal.scopes) == ("carol", frozenset({"it:read"}))
    with pytest.raises(IdentityError, match="not issued by"):
        verify(token, KeySet(str(jwks)), audience="dagent")


def test_the_signing_key_is_private_and_kept(home: Path) -> None:
    directory = auth_dir(home)
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    for name in ("signing-key.pem", "jwks.json"):
        assert stat.S_IMODE((directory / name).stat().st_mode) == 0o600
    before = (directory / "signing-key.pem").read_bytes()
    ensure_local_keys(home)
    assert (directory / "signing-key.pem").read_bytes() == before


def test_users_default_to_the_login_user_with_every_scope(home: Path) -> None:
    assert users.load(home, EVERY_SCOPE) == {users.login_user(): frozenset(EVERY_SCOPE)}
    users.add(home, "bob", ["it:read"], EVERY_SCOPE)
    assert users.scopes_of(home, "bob", EVERY_SCOPE) == {"it:read"}
    assert stat.S_IMODE(users.users_path(home).stat().st_mode) == 0o600
    users.remove(home, "bob", EVERY_SCOPE)
    with pytest.raises(IdentityError, match="Unknown user 'bob'"):
        users.scopes_of(home, "bob", EVERY_SCOPE)


@pytest.mark.parametrize(
    ("name", "scopes", "said"),
    [
        ("eve", ["root:all"], "Unknown scope 'root:all'; known scopes: finance:read, it:read"),
        ("../etc", ["it:read"], "Invalid user name"),
    ],
)
def test_bad_users_are_refused(home: Path, name: str, scopes: list[str], said: str) -> None:
    with pytest.raises(IdentityError, match=said):
        users.add(home, name, scopes, EVERY_SCOPE)


def test_a_malformed_users_file_is_one_line(home: Path) -> None:
    users.users_path(home).write_text('{"users": {"bob": {"scopes": "it:read"}}}')
    with pytest.raises(IdentityError) as refused:
        users.load(home, EVERY_SCOPE)
    assert "users.bob.scopes" in str(refused.value)
    assert "\n" not in str(refused.value)
    users.users_path(home).write_text('{"users": {"bob": {"scopes": ["it:read", "admin:write"]}}}')
    with pytest.raises(
        IdentityError, match="gives 'bob' the unknown scope 'admin:write'; known scopes: finance:read"
    ):
        users.load(home, EVERY_SCOPE)


# -- the tool service's decision -----------------------------------------------------

CALL_KEY = "dagent-chat-s1/m1/1/call_1"
ARGUMENTS = {"ticker": "TSLA"}


def decide(home: Path, token: str | None, tool: str = "stock_price", arguments: object = ARGUMENTS) -> str:
    """The line a refused caller reads (the test fails if the call is allowed)."""
    with pytest.raises(AccessDeniedError) as refused:
        access.authorize(token, home, "finance", tool, "finance:read", CALL_KEY, arguments)
    message = str(refused.value)
    assert not token or token not in message
    return message


def test_a_call_token_runs_its_own_call_only(home: Path) -> None:
    token = delegation.for_call(home, "alice", EVERY_SCOPE, "finance", "stock_price", CALL_KEY, ARGUMENTS)
    allowed = access.authorize(token, home, "finance", "stock_price", "finance:read", CALL_KEY, ARGUMENTS)
    assert allowed.user == "alice"
    # Spelled differently, the same arguments are the same call.
    again = delegation.parse_arguments('{ "ticker" : "TSLA" }')
    assert access.authorize(token, home, "finance", "stock_price", "finance:read", CALL_KEY, again).user
    assert decide(home, token, arguments={"ticker": "AAPL"}).endswith("issued for other arguments.")
    assert decide(home, token, tool="calculate_roi").endswith("issued for another tool.")
    with pytest.raises(AccessDeniedError, match="another call"):
        access.authorize(token, home, "finance", "stock_price", "finance:read", "other/key", ARGUMENTS)
    with pytest.raises(AccessDeniedError, match="not meant for dagent:it"):
        access.authorize(token, home, "it", "stock_price", "finance:read", CALL_KEY, ARGUMENTS)


def test_each_refusal_by_the_service_says_why_in_one_line(home: Path) -> None:
    key = signing_key(home)
    audience = delegation.service_audience("finance")
    prefix = "stock_price was refused by the finance service: "
    assert decide(home, None) == prefix + "no token was presented."
    assert decide(home, mint(key, "bob", EVERY_SCOPE, audience, -MINUTE)) == prefix + "the token has expired."
    forged = mint(Ed25519PrivateKey.generate(), "bob", EVERY_SCOPE, audience, MINUTE)
    assert decide(home, forged) == prefix + "the token is not signed by a trusted key."
    wrong = mint(key, "bob", EVERY_SCOPE, delegation.service_audience("it"), MINUTE)
    assert decide(home, wrong) == prefix + "the token is not meant for dagent:finance."
    assert decide(home, "not.a.jwt").startswith(prefix + "the token is malformed")
    assert "larger than" in decide(home, "x" * 10_000)
    scoped = mint(key, "bob", ["it:read"], audience, MINUTE)
    assert decide(home, scoped) == "bob may not use stock_price: it needs the scope finance:read."


def test_the_orchestrators_own_token_runs_no_tool(home: Path) -> None:
    token = delegation.for_service(home, "finance")
    assert decide(home, token).endswith("needs the scope finance:read.")


def test_a_jwks_url_is_fetched_ahead_and_tokens_checked_against_it(tmp_path: Path) -> None:
    """A company provider's key set over HTTP (loopback here; https elsewhere): fetched
    before tokens arrive, so checking one never waits on the network."""
    provider = Ed25519PrivateKey.generate()
    public = json.loads(jwt.algorithms.OKPAlgorithm.to_jwk(provider.public_key()))
    body = json.dumps({"keys": [{**public, "kid": "idp-1", "alg": "EdDSA"}]}).encode()

    class Jwks(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Jwks)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        keys = KeySet(f"http://127.0.0.1:{server.server_address[1]}/jwks.json")
        keys.check()
        token = jwt.encode(
            {"sub": "erin", "aud": "dagent", "iss": "idp", "exp": datetime.now(UTC) + MINUTE},
            provider,
            "EdDSA",
            {"kid": "idp-1"},
        )
        assert verify(token, keys, audience="dagent", issuer="idp").user == "erin"
        unknown = jwt.encode({"sub": "x", "aud": "dagent", "iss": "idp"}, provider, "EdDSA", {"kid": "idp-9"})
        with pytest.raises(IdentityError, match="not signed by a trusted key"):
            verify(unknown, keys, audience="dagent", issuer="idp")
    finally:
        server.shutdown()
    assert "must be served over https" in _refused_url("http://idp.example/jwks.json")


def _refused_url(url: str) -> str:
    with pytest.raises(IdentityError) as refused:
        KeySet(url).check()
    return str(refused.value)


def test_a_shared_secret_in_a_key_set_is_never_trusted(tmp_path: Path) -> None:
    secret = base64.urlsafe_b64encode(b"s" * 32).rstrip(b"=").decode()
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps({"keys": [{"kty": "oct", "k": secret, "kid": "hs", "alg": "HS256"}]}))
    token = jwt.encode(
        {"sub": "a", "aud": "dagent", "iss": "idp", "exp": 2_000_000_000}, b"s" * 32, "HS256", {"kid": "hs"}
    )
    with pytest.raises(IdentityError, match="only public-key algorithms"):
        verify(token, KeySet(str(jwks)), audience="dagent", issuer="idp")
