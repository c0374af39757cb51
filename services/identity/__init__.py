"""Who is asking: signed identity tokens, their keys, and the stack's users."""

from services.identity.keys import KeySet, ensure_local_keys, local_key_set, signing_key
from services.identity.tokens import LOCAL_ISSUER, Principal, mint, verify

__all__ = [
    "LOCAL_ISSUER",
    "KeySet",
    "Principal",
    "ensure_local_keys",
    "local_key_set",
    "mint",
    "signing_key",
    "verify",
]
