"""The built-in `offline` model: a deterministic planner behind LiteLLM's custom-provider
API. A product feature (every pattern runs with no key and no network), imported by
nothing outside `services.llm`."""

PROVIDER = "offline"
MODEL = f"{PROVIDER}/dagent-planner"


def is_builtin(model: str) -> bool:
    """Whether a model setting names the offline model ('offline' or its LiteLLM string)."""
    return model in (PROVIDER, MODEL)


def register() -> None:
    """Make `offline/...` model strings resolve to the planner (idempotent; imports LiteLLM)."""
    from services.llm.offline.model import register as register_provider

    register_provider()


__all__ = ["MODEL", "PROVIDER", "is_builtin", "register"]
