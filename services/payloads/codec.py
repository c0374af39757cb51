"""The payload codec every client and worker of the stack uses: AES-256-GCM.

Each payload is serialised whole (metadata and data), sealed under the ring's
current key with a fresh 96-bit nonce, and sent as `binary/encrypted` with the key's
id in its metadata; the key id is also the cipher's associated data, so a payload
cannot be moved under another id. The database, anyone reading over gRPC and a
worker without the key see ciphertext only.

Decoding never raises: a workflow whose payload cannot be decoded would fail its
task forever. Instead it marks each payload (`marks.VERIFIED` or `marks.UNVERIFIED`),
and what must be authentic (a tool's result) is checked by whoever reads it. A
plaintext payload is passed on unmarked: histories written before encryption replay.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from google.protobuf.message import DecodeError
from temporalio.api.common.v1 import Payload
from temporalio.converter import PayloadCodec

from services.errors import ConfigError
from services.payloads import keyring
from services.payloads.marks import PLAINTEXT_TRUSTED, UNVERIFIED, VERIFIED

ENCODING = b"binary/encrypted"
KEY_ID = "encryption-key-id"
NONCE_BYTES = 12


class PayloadCipher(PayloadCodec):
    """Encrypts (when `encrypt`) and decrypts with the ring under `home`.

    With `encrypt` off the stack trusts plaintext: every plaintext payload is marked
    verified, which is what `--no-encrypt` gives up."""

    def __init__(self, home: Path, encrypt: bool = True) -> None:
        self._home = home
        self._encrypt = encrypt

    def check(self) -> None:
        """ConfigError now, in one line, if this process could not seal: not at its first
        payload, deep in a worker."""
        if self._encrypt:
            self._ring()

    def _ring(self) -> keyring.KeyRing:
        """The stack's ring. Only `dagent up` and `dagent keys rotate` make keys: a worker
        that made its own would seal what no other process of the stack can open."""
        ring = keyring.load(self._home)
        if ring is None:
            raise ConfigError(
                f"No payload keys at {keyring.keys_file(self._home)}: run 'dagent up' to make them, "
                "or copy that file from the stack's DAGENT_HOME (every process needs the same keys)."
            )
        return ring

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        if not self._encrypt:
            return [unmarked(payload) for payload in payloads]
        ring = self._ring()
        cipher = _aead(ring.keys[ring.current])
        key_id = ring.current.encode()
        sealed = []
        for payload in payloads:
            nonce = os.urandom(NONCE_BYTES)
            data = nonce + cipher.encrypt(nonce, unmarked(payload).SerializeToString(), key_id)
            sealed.append(Payload(metadata={"encoding": ENCODING, KEY_ID: key_id}, data=data))
        return sealed

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        ring = keyring.load(self._home)
        opened = []
        for payload in payloads:
            if payload.metadata.get("encoding") != ENCODING:
                plain = unmarked(payload)
                if not self._encrypt:
                    plain.metadata[VERIFIED] = PLAINTEXT_TRUSTED
                opened.append(plain)
                continue
            opened.append(_open(ring, payload))
        return opened


def _open(ring: keyring.KeyRing | None, payload: Payload) -> Payload:
    key_id = payload.metadata.get(KEY_ID, b"")
    key = ring.key(key_id.decode(errors="replace")) if ring is not None else None
    if key is None:
        return _unverifiable(f"it is encrypted with a key this stack does not hold ({key_id!r})")
    nonce, sealed = payload.data[:NONCE_BYTES], payload.data[NONCE_BYTES:]
    try:
        inner = Payload.FromString(_aead(key).decrypt(nonce, sealed, key_id))
    except (InvalidTag, ValueError, DecodeError):
        return _unverifiable("its ciphertext does not authenticate under the stack's key")
    inner = unmarked(inner)
    inner.metadata[VERIFIED] = key_id
    return inner


@functools.lru_cache(maxsize=16)
def _aead(key: bytes) -> AESGCM:
    """One cipher object per key, not one per payload."""
    return AESGCM(key)


def _unverifiable(reason: str) -> Payload:
    # `null`, so nothing of the payload reaches the code that reads it.
    return Payload(metadata={"encoding": b"json/plain", UNVERIFIED: reason.encode()}, data=b"null")


def unmarked(payload: Payload) -> Payload:
    """A copy without the codec's own marks: only decoding sets them, no sender can."""
    copy = Payload()
    copy.CopyFrom(payload)
    for mark in (VERIFIED, UNVERIFIED):
        if mark in copy.metadata:
            del copy.metadata[mark]
    return copy
