"""The conversation as every client speaks it (`dagent ask`, `dagent chat`, tests):
the contract's models and names, and the calls that send messages and read state.
No workflow code here; the workflows that implement it live in `services.orchestrator`."""

from services.conversation.client import (
    ConversationUnavailableError,
    MessageRejectedError,
    check_session_pattern,
    exists,
    new_message_id,
    new_session_id,
    progress,
    send,
    tool_catalog,
    transcript,
)
from services.conversation.contract import (
    CircuitStatus,
    Progress,
    Reply,
    ToolCallRecord,
    ToolCatalogResult,
    ToolRoute,
    TranscriptEntry,
    Usage,
    UserMessage,
    id_problem,
    workflow_id,
)

__all__ = [
    "CircuitStatus",
    "ConversationUnavailableError",
    "MessageRejectedError",
    "Progress",
    "Reply",
    "ToolCallRecord",
    "ToolCatalogResult",
    "ToolRoute",
    "TranscriptEntry",
    "Usage",
    "UserMessage",
    "check_session_pattern",
    "exists",
    "id_problem",
    "new_message_id",
    "new_session_id",
    "progress",
    "send",
    "tool_catalog",
    "transcript",
    "workflow_id",
]
