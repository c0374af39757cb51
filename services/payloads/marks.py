"""What the payload codec tells the code that reads a decoded payload: whether it came
from a holder of the stack's keys. Plain constants, safe to import in workflow code."""

from __future__ import annotations

from temporalio.api.common.v1 import Payload

# Set by decoding only, never sent: the id of the key that authenticated the payload
# ("plaintext" when the stack runs unencrypted and trusts every payload).
VERIFIED = "dagent-verified"
# Set by decoding only: why a payload could not be authenticated.
UNVERIFIED = "dagent-unverified"
PLAINTEXT_TRUSTED = b"plaintext"


def verified(payload: Payload) -> bool:
    return bool(payload.metadata.get(VERIFIED))


def why_unverified(payload: Payload) -> str:
    reason = payload.metadata.get(UNVERIFIED)
    return reason.decode(errors="replace") if reason else "it is not encrypted with the stack's key"
