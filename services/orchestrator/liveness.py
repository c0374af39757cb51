"""Whether a local server that left a request unanswered is alive (busy) or not."""

from __future__ import annotations

import httpx

# Seconds a server that left a request unanswered has to answer a plain one.
PING_SECONDS = 1.0


async def answers(url: str, seconds: float) -> bool:
    """Whether the server's event loop answers a plain request at all (any status counts:
    a refusal without a token is an answer)."""
    try:
        # Straight to the local server: no proxy from the environment in between.
        async with httpx.AsyncClient(timeout=seconds, trust_env=False) as client:
            await client.get(url)
    except httpx.HTTPError:
        return False
    return True
