"""Identity tokens in Temporal headers, never in payloads: the header, and the client
interceptor that stamps the caller's token on what a client sends (the `send`
update, queries, a tool workflow's start). Light to import: front ends use it."""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from temporalio import client, converter
from temporalio.api.common.v1 import Payload

if TYPE_CHECKING:
    from services.identity.tokens import Principal

IDENTITY_HEADER = "dagent-identity"
_payloads = converter.PayloadConverter.default

# The per-call token of the tool call a workflow coroutine is making (workflow side),
# or the token of the call an activity runs (activity side).
call_token: contextvars.ContextVar[str | None] = contextvars.ContextVar("dagent_call_token", default=None)
# Who is asking, in a conversation's query or update handler (None: nobody proved it).
caller: contextvars.ContextVar[Principal | None] = contextvars.ContextVar("dagent_caller", default=None)


def token_in(headers: Mapping[str, Payload]) -> str | None:
    payload = headers.get(IDENTITY_HEADER)
    if payload is None:
        return None
    try:
        value = _payloads.from_payloads([payload])[0]
    except Exception:
        return None
    return value if isinstance(value, str) else None


def with_token(headers: Mapping[str, Payload], token: str | None) -> Mapping[str, Payload]:
    if not token:
        return headers
    return {**headers, IDENTITY_HEADER: _payloads.to_payloads([token])[0]}


# -- client side -------------------------------------------------------------------


class ClientIdentity(client.Interceptor):
    """Stamps `source()` (the caller's token, or None) on everything the client sends."""

    def __init__(self, source: Callable[[], str | None]) -> None:
        self.source = source

    def intercept_client(self, next: client.OutboundInterceptor) -> client.OutboundInterceptor:
        return _ClientOutbound(next, self.source)


class _ClientOutbound(client.OutboundInterceptor):
    def __init__(self, next: client.OutboundInterceptor, source: Callable[[], str | None]) -> None:
        super().__init__(next)
        self.source = source

    async def start_workflow(self, input: client.StartWorkflowInput) -> client.WorkflowHandle[Any, Any]:
        input.headers = with_token(input.headers, self.source())
        return await super().start_workflow(input)

    async def start_workflow_update(
        self, input: client.StartWorkflowUpdateInput
    ) -> client.WorkflowUpdateHandle[Any]:
        input.headers = with_token(input.headers, self.source())
        return await super().start_workflow_update(input)

    async def start_update_with_start_workflow(
        self, input: client.StartWorkflowUpdateWithStartInput
    ) -> client.WorkflowUpdateHandle[Any]:
        update = input.update_workflow_input
        update.headers = with_token(update.headers, self.source())
        return await super().start_update_with_start_workflow(input)

    async def query_workflow(self, input: client.QueryWorkflowInput) -> Any:
        input.headers = with_token(input.headers, self.source())
        return await super().query_workflow(input)
