"""The model side of a turn: chat messages, the LLM activity (`nexus` pattern), the
Agents SDK's model (`agents-nexus`, `mcp`), one policy for timeouts and retries,
and the built-in `offline` model."""

from services.llm.messages import SUMMARY_FIRST, ChatMessage, LlmRequest, LlmResponse, LlmToolCall

__all__ = ["SUMMARY_FIRST", "ChatMessage", "LlmRequest", "LlmResponse", "LlmToolCall"]
