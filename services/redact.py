"""Credentials taken out of text before it is stored or shown: a provider may echo the
caller's key in an error ("Incorrect API key provided: sk-..."), and that error would
otherwise land in workflow history, the transcript and every later model request."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping

REDACTED = "[redacted]"

# Environment variables that hold a credential, by the conventions providers use.
SECRET_VARIABLE = re.compile(r"(_KEY|_TOKEN|_SECRET|_PASSWORD)$|^(AUTHORIZATION|.*_API_KEY_.*)$", re.I)
# Shorter values are not worth hiding (and would blank ordinary words).
MIN_SECRET_CHARS = 8

# Shapes of credentials whatever variable they came from.
SECRET_SHAPES = [
    re.compile(r"\b(?:sk|pk|rk|sess)-[A-Za-z0-9_\-]{8,}"),  # OpenAI-style keys
    re.compile(r"\bBearer\s+[A-Za-z0-9._~+/=\-]{8,}", re.I),  # an Authorization header
    re.compile(r"\beyJ[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]*"),  # a JWT
    re.compile(r"\bAIza[A-Za-z0-9_\-]{20,}"),  # Google API keys
    re.compile(r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b"),  # AWS access key ids
    # key=value / "api_key": "value" pairs
    re.compile(
        r"(?P<name>(?:api[_-]?key|access[_-]?token|secret|password|token)[\"']?\s*[:=]\s*[\"']?)"
        r"[^\s\"',;}]{6,}",
        re.I,
    ),
]


def scrub(text: str, environ: Mapping[str, str] | None = None) -> str:
    """`text` with every credential in it replaced by [redacted]: the values of this
    process's secret variables (OPENAI_API_KEY...), and anything shaped like a key."""
    variables = os.environ if environ is None else environ
    secrets = [v for n, v in variables.items() if len(v) >= MIN_SECRET_CHARS and SECRET_VARIABLE.search(n)]
    # Longest first: a secret that contains another must not be left half visible.
    for value in sorted(secrets, key=len, reverse=True):
        text = text.replace(value, REDACTED)
    for shape in SECRET_SHAPES:
        text = shape.sub(_replacement, text)
    return text


def _replacement(match: re.Match[str]) -> str:
    name = match.groupdict().get("name")
    return f"{name}{REDACTED}" if name else REDACTED
