"""The keys that sign and verify identity tokens.

By default the stack is its own issuer: `dagent up` creates an Ed25519 signing key
(PEM, mode 0600) under DAGENT_HOME/auth and publishes its public half as a JWKS
next to it; every service verifies with the JWKS only. A company's identity
provider replaces the local one through DAGENT_AUTH_JWKS (a JWKS file, or an
https URL that PyJWT's client fetches and caches).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from services.auth_files import auth_dir, publish_private
from services.errors import ConfigError, IdentityError

logger = logging.getLogger("dagent.identity")

SIGNING_KEY_FILE = "signing-key.pem"
JWKS_FILE = "jwks.json"
# The local issuer's one key: its id names it in each token's header.
LOCAL_KEY_ID = "dagent-local-1"


def ensure_local_keys(home: Path) -> None:
    """Create the stack's signing key once (0600, never overwritten), and its JWKS from
    it (again if it is missing). Each file appears whole or not at all."""
    directory = auth_dir(home)
    private_file = directory / SIGNING_KEY_FILE
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not private_file.exists():
            pem = Ed25519PrivateKey.generate().private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
            # A concurrent `up` that got there first wins; its key is as good.
            publish_private(private_file, pem, replace=False)
        if not (directory / JWKS_FILE).exists():
            public = json.loads(jwt.algorithms.OKPAlgorithm.to_jwk(signing_key(home).public_key()))
            jwks = {"keys": [{**public, "kid": LOCAL_KEY_ID, "alg": "EdDSA", "use": "sig"}]}
            publish_private(directory / JWKS_FILE, json.dumps(jwks, indent=2).encode(), replace=False)
    except OSError as exc:
        raise IdentityError(
            f"The identity keys under {directory} cannot be written ({exc.strerror})."
        ) from None


_signing_cache: dict[Path, tuple[tuple[int, int], Ed25519PrivateKey]] = {}


def signing_key(home: Path) -> Ed25519PrivateKey:
    """The local issuer's private key (only the CLI, the orchestrator's worker and a
    stdio MCP server mint), read again only when the file changes."""
    path = auth_dir(home) / SIGNING_KEY_FILE
    try:
        status = path.stat()
        stamp = (status.st_mtime_ns, status.st_size)
        cached = _signing_cache.get(path)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except FileNotFoundError:
        raise IdentityError(f"No signing key at {path}: run 'dagent up' once to create it.") from None
    except (OSError, ValueError) as exc:
        raise IdentityError(f"The signing key {path} cannot be read ({exc}).") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise IdentityError(f"The signing key {path} is not an Ed25519 key.")
    _signing_cache[path] = (stamp, key)
    return key


@dataclass(frozen=True)
class KeySet:
    """Where verification keys come from: a JWKS file, or a JWKS URL."""

    location: str

    def key_for(self, token: str) -> jwt.PyJWK:
        """The public key that signed `token` (by its `kid`), or IdentityError. Its own
        algorithm is the only one a token may claim (no algorithm confusion)."""
        try:
            header = jwt.get_unverified_header(token)
            if self.location.startswith(("https://", "http://")):
                found = _remote(_trusted_url(self.location)).found
            else:
                found = {k.key_id: k for k in _file_keys(self.location).keys}
            key = found.get(header.get("kid")) if header.get("kid") else next(iter(found.values()), None)
        except jwt.PyJWTError as exc:
            raise IdentityError(f"the token is malformed ({exc})") from None
        if key is None:
            raise IdentityError("the token is not signed by a trusted key")
        return key

    def check(self) -> None:
        """IdentityError unless the key set can be read now and holds a key."""
        try:
            if self.location.startswith(("https://", "http://")):
                found = list(_remote(_trusted_url(self.location), refresh=True).found.values())
            else:
                found = _file_keys(self.location).keys
        except jwt.PyJWTError as exc:
            raise IdentityError(f"The key set {self.location} cannot be read ({exc}).") from None
        if not found:
            raise IdentityError(f"The key set {self.location} holds no usable key.")


def check_provider(issuer: str, jwks: str) -> None:
    """Refuse a half-configured or unreadable identity provider before anything starts."""
    if not (issuer or jwks):
        return
    if not (issuer and jwks):
        raise ConfigError(
            "DAGENT_AUTH_ISSUER and DAGENT_AUTH_JWKS go together: set both (and DAGENT_AUTH_AUDIENCE), "
            "or neither for the stack's own issuer."
        )
    KeySet(jwks).check()


def local_key_set(home: Path) -> KeySet:
    return KeySet(str(auth_dir(home) / JWKS_FILE))


def require_local_key_set(home: Path) -> None:
    """ConfigError, in one line, unless the stack's public keys are here: a tool service
    without them would start, then refuse every call."""
    path = auth_dir(home) / JWKS_FILE
    if not path.exists():
        raise ConfigError(
            f"No identity keys at {path}: run 'dagent up' to make them, or copy jwks.json from "
            "the stack's DAGENT_HOME/auth (a tool service checks each call's token with them)."
        )


# location -> (its modification stamp, its keys): a key set read once per change,
# not once per token.
_file_cache: dict[str, tuple[tuple[int, int], jwt.PyJWKSet]] = {}


def _file_keys(location: str) -> jwt.PyJWKSet:
    try:
        status = Path(location).stat()
        stamp = (status.st_mtime_ns, status.st_size)
        cached = _file_cache.get(location)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        keys = jwt.PyJWKSet.from_dict(json.loads(Path(location).read_text()))
        _file_cache[location] = (stamp, keys)
        return keys
    except FileNotFoundError:
        raise IdentityError(
            f"No key set at {location}: check DAGENT_AUTH_JWKS, or run 'dagent up' for the stack's own."
        ) from None
    except (OSError, ValueError, jwt.PyJWTError) as exc:
        raise IdentityError(f"The key set {location} cannot be read ({exc}).") from None


def _trusted_url(url: str) -> str:
    """Keys fetched over plain HTTP could be swapped by anyone on the way: https only,
    except from this machine."""
    host = urlsplit(url).hostname or ""
    if url.startswith("http://") and host not in ("127.0.0.1", "localhost", "::1"):
        raise IdentityError(f"The key set {url} must be served over https.")
    return url


class _RemoteKeys:
    """A JWKS URL's keys, fetched once when first needed and then again every few
    minutes by a thread of their own: a token is never checked while waiting on the
    network (a conversation checks tokens on its workflow thread). A key the provider
    adds is trusted from the next fetch on."""

    def __init__(self, url: str) -> None:
        self.client = jwt.PyJWKClient(url, cache_keys=False, timeout=5)
        self.found: dict[str | None, jwt.PyJWK] = {}
        self.fetched = False
        threading.Thread(target=self._refresh, name="jwks-refresh", daemon=True).start()

    def fetch(self) -> None:
        self.found = {key.key_id: key for key in self.client.get_jwk_set().keys}
        self.fetched = True

    def _refresh(self) -> None:
        while True:
            try:
                self.fetch()
            except jwt.PyJWTError as exc:
                logger.warning("the key set %s could not be fetched: %s", self.client.uri, exc)
            time.sleep(JWKS_REFRESH_SECONDS if self.fetched else 5)


# Seconds between two fetches of a remote key set.
JWKS_REFRESH_SECONDS = 300
_remotes: dict[str, _RemoteKeys] = {}
_remotes_lock = threading.Lock()


def _remote(url: str, refresh: bool = False) -> _RemoteKeys:
    """The keys of `url`; `refresh`: fetched now (raising PyJWTError if they cannot be)."""
    with _remotes_lock:
        if url not in _remotes:
            _remotes[url] = _RemoteKeys(url)
        if refresh:
            _remotes[url].fetch()
        return _remotes[url]
