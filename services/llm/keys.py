"""Whether a model can be called from here: a provider LiteLLM knows, and that provider's
key in the environment. Imports LiteLLM (seconds): ask only about real models."""

from __future__ import annotations

import functools
import hashlib
import os
from collections.abc import Mapping

from services.errors import ConfigError
from services.llm.offline import is_builtin

__all__ = ["call_problem", "environment_digest", "is_builtin", "provider_of"]

# Variables that name a credential, as LiteLLM reports them missing (OLLAMA_API_BASE is not one).
CREDENTIAL_SUFFIXES = ("_KEY", "_TOKEN", "_SECRET")


def provider_of(model: str) -> str:
    """The LiteLLM provider of `model`, or ConfigError naming what is wrong."""
    from services.llm.activity import load_litellm

    load_litellm()
    import litellm

    try:
        return str(litellm.get_llm_provider(model)[1])
    except Exception:  # LiteLLM raises BadRequestError and others, with a page of text
        raise ConfigError(
            f"'{model}' is not a model LiteLLM knows; use a provider/model string such as "
            "'openai/gpt-4o-mini' or 'anthropic/claude-3-5-sonnet-latest', or 'offline'."
        ) from None


@functools.cache
def call_problem(model: str) -> str | None:
    """Why a call to `model` cannot work from here (a provider LiteLLM does not know, no
    key), saying what to do; None when it can. Kept: a running process's environment
    does not change."""
    if is_builtin(model):
        return None
    try:
        provider = provider_of(model)
    except ConfigError as exc:
        return str(exc)
    import litellm

    missing = [
        name
        for name in litellm.validate_environment(model=model).get("missing_keys", [])
        if name.endswith(CREDENTIAL_SUFFIXES)
    ]
    if not missing:
        return None
    return (
        f"No API key for {provider}: set {' and '.join(missing)}, then run 'dagent up --model {model}' again."
    )


def environment_digest(model: str, environ: Mapping[str, str] | None = None) -> str:
    """A digest of the provider's variables (OPENAI_*) in `environ` (default: this
    process's): it changes when a key is set or replaced, and reveals nothing of it."""
    if is_builtin(model):
        return ""
    prefix = provider_of(model).upper() + "_"
    variables = os.environ if environ is None else environ
    relevant = sorted((name, value) for name, value in variables.items() if name.startswith(prefix))
    return hashlib.sha256(repr(relevant).encode()).hexdigest()[:16]
