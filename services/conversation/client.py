"""The conversation API every front end uses (`dagent ask`, `dagent chat`, tests).

Pattern-agnostic: it speaks the contract in `contract.py` by name, so the same
calls work whichever agent pattern the orchestrator runs. Every call takes the
client; `send` and `tool_catalog` also take the orchestrator's task queue, so a
test can run workers on a queue of its own.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from opentelemetry import trace
from temporalio.client import (
    Client,
    WithStartWorkflowOperation,
    WorkflowFailureError,
    WorkflowQueryFailedError,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.service import RPCError, RPCStatusCode

from services import limits, topology
from services.conversation.contract import (
    CATALOG_WORKFLOW,
    MESSAGE_TOO_LONG,
    PROGRESS_QUERY,
    SEND_UPDATE,
    TRANSCRIPT_QUERY,
    WORKFLOW_PATTERNS,
    WORKFLOW_TYPES,
    CatalogRequest,
    ConversationStart,
    Progress,
    Reply,
    ToolCatalogResult,
    TranscriptEntry,
    UserMessage,
    id_problem,
    workflow_id,
)
from services.errors import DagentError
from services.failures import root_message
from services.safe_text import clean_text, clean_value
from services.telemetry.tracing import TRACER

CATALOG_TIMEOUT = timedelta(seconds=20)
# A query is answered by the orchestrator in milliseconds; one that is not answered
# within this long will not be (the worker is hung or gone).
QUERY_TIMEOUT = timedelta(seconds=5)
SEND_ATTEMPTS = 8


class MessageRejectedError(DagentError):
    """The conversation refused the message (empty, too long, ...)."""


class ConversationUnavailableError(DagentError):
    """The conversation (or the orchestrator) cannot be read right now; nothing is lost."""


def new_session_id() -> str:
    return uuid.uuid4().hex[:12]


def new_message_id() -> str:
    return uuid.uuid4().hex


async def send(
    client: Client,
    session: str,
    text: str,
    *,
    message_id: str | None = None,
    turns_per_run: int = limits.DEFAULT_TURNS_PER_RUN,
    pattern: topology.Pattern = topology.DEFAULT_PATTERN,
    task_queue: str = topology.ORCHESTRATOR_TASK_QUEUE,
) -> Reply:
    """Deliver `text` to the session (starting it if needed) and return its reply.

    Sending again with the same `message_id` never runs the turn twice: it
    returns the same reply, even after the client crashed in between.
    """
    for kind, value in (("session", session), ("message", message_id)):
        problem = id_problem(kind, value) if value is not None else None
        if problem:
            raise MessageRejectedError(problem)
    if len(text) > limits.MAX_MESSAGE_CHARS:
        # Refused here too: a message near Temporal's 2 MB payload limit would not even arrive.
        raise MessageRejectedError(MESSAGE_TOO_LONG)
    message = UserMessage(id=message_id or new_message_id(), text=clean_text(text))
    # The root of the turn's trace: the update carries its context to the conversation.
    with trace.get_tracer(TRACER).start_as_current_span(
        "dagent.send",
        kind=trace.SpanKind.CLIENT,
        attributes={"dagent.session": session, "dagent.message_id": message.id, "dagent.pattern": pattern},
    ):
        return await _deliver(client, session, message, turns_per_run, pattern, task_queue)


async def _deliver(
    client: Client,
    session: str,
    message: UserMessage,
    turns_per_run: int,
    pattern: topology.Pattern,
    task_queue: str,
) -> Reply:
    for attempt in range(SEND_ATTEMPTS):
        # A with-start operation can be used once: a new one per attempt.
        operation = _start_operation(session, turns_per_run, pattern, task_queue)
        try:
            try:
                reply: Reply = await client.execute_update_with_start_workflow(
                    SEND_UPDATE,
                    message,
                    start_workflow_operation=operation,
                    id=message.id,
                    result_type=Reply,
                )
            finally:
                _settle(operation)
            return reply.shown()
        except WorkflowUpdateFailedError as exc:
            raise MessageRejectedError(root_message(exc)) from None
        except WorkflowUpdateRPCTimeoutOrCancelledError:
            # The SDK turns a cancelled wait into its own error; a caller that stops
            # waiting (a timeout, Ctrl-C) must see the usual CancelledError.
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise asyncio.CancelledError from None
            raise
        except RPCError as exc:
            # The workflow's last task failed (typically a timeout under load) and the
            # server will retry it; the same message id makes sending again safe.
            if exc.status != RPCStatusCode.FAILED_PRECONDITION:
                raise
            if attempt == SEND_ATTEMPTS - 1:
                raise ConversationUnavailableError(
                    f"Session '{session}' cannot take a message now: its workflow keeps failing "
                    f"({exc.message.rstrip('.')}); see 'dagent logs orchestrator'. The message was not sent."
                ) from None
            await asyncio.sleep(min(2.0, 0.1 * 2**attempt))
    raise AssertionError("unreachable")


def _settle(operation: WithStartWorkflowOperation[Any, Any]) -> None:
    """Read the operation's failure, if it has one: it is the update's own, already being
    raised, and asyncio would otherwise print it again, whole, as 'Future exception was
    never retrieved' (hundreds of lines for a user who sent one message)."""
    future = operation._workflow_handle  # the SDK exposes it only as a coroutine
    if future.done() and not future.cancelled():
        future.exception()


def _start_operation(
    session: str, turns_per_run: int, pattern: topology.Pattern, task_queue: str
) -> WithStartWorkflowOperation[Any, Any]:
    return WithStartWorkflowOperation(
        WORKFLOW_TYPES[pattern],
        ConversationStart(session=session, turns_per_run=turns_per_run),
        id=workflow_id(session),
        task_queue=task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
    )


async def check_session_pattern(client: Client, session: str, pattern: topology.Pattern) -> None:
    """Refuse to continue a session that began under another pattern (its workflow
    type is not served now, so its messages would wait in vain)."""
    problem = id_problem("session", session)
    if problem:
        raise MessageRejectedError(problem)
    try:
        description = await client.get_workflow_handle(workflow_id(session)).describe()
    except RPCError:
        return  # a new session
    began = WORKFLOW_PATTERNS.get(description.workflow_type)
    if began is not None and began != pattern:
        raise DagentError(
            f"Session '{session}' began with the '{began}' pattern and the stack runs '{pattern}'; "
            f"start a new session, or run 'dagent up --pattern {began}' to continue it."
        )


async def exists(client: Client, session: str) -> bool:
    """Whether the session has begun (its workflow exists, whoever owns it)."""
    try:
        await client.get_workflow_handle(workflow_id(session)).describe()
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            return False
        raise
    return True


async def progress(client: Client, session: str) -> Progress:
    """What the session's agent is doing now; idle for a session that has not begun."""
    answer: Progress | None = await _query(client, session, PROGRESS_QUERY, Progress, "progress")
    if answer is None:
        return Progress()
    now = datetime.now(UTC)
    circuits = [c.as_of(now).model_copy(update={"reason": clean_text(c.reason)}) for c in answer.circuits]
    return answer.model_copy(update={"circuits": circuits, "unavailable": clean_value(answer.unavailable)})


async def transcript(client: Client, session: str) -> list[TranscriptEntry]:
    """The session's messages and replies; empty only for a session that has not begun."""
    entries = await _query(client, session, TRANSCRIPT_QUERY, list[TranscriptEntry], "transcript")
    return [] if entries is None else [entry.shown() for entry in entries]


async def _query(client: Client, session: str, name: str, result_type: type[Any], what: str) -> Any:
    """The query's answer, None if the session has no workflow yet, or
    ConversationUnavailableError saying why it cannot be read: never an empty answer
    that is not true."""
    handle = client.get_workflow_handle(workflow_id(session))
    try:
        return await handle.query(name, result_type=result_type, rpc_timeout=QUERY_TIMEOUT)
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            return None
        # The RPC's own deadline passed (the core reports it as cancelled, 'Timeout expired').
        if exc.status in (RPCStatusCode.DEADLINE_EXCEEDED, RPCStatusCode.CANCELLED):
            reason = (
                f"the orchestrator did not answer within {QUERY_TIMEOUT.total_seconds():g} s; "
                "check 'dagent status' and 'dagent logs orchestrator'"
            )
        else:
            reason = exc.message.rstrip(".")
    except WorkflowQueryFailedError:
        # Its words are sealed, and about the workflow's own failure: say what to do.
        reason = (
            "its workflow cannot answer (it began under another pattern, is sealed with keys this home "
            "no longer has, or keeps failing); "
            "see 'dagent logs orchestrator'"
        )
    raise ConversationUnavailableError(f"Cannot read the {what} of session '{session}': {reason}.") from None


async def tool_catalog(
    client: Client,
    pattern: topology.Pattern = topology.DEFAULT_PATTERN,
    task_queue: str = topology.ORCHESTRATOR_TASK_QUEUE,
    within: timedelta = CATALOG_TIMEOUT,
) -> ToolCatalogResult:
    """Tools discovered live from the running services, by the orchestrator."""
    try:
        result: ToolCatalogResult = await client.execute_workflow(
            CATALOG_WORKFLOW,
            CatalogRequest(pattern=pattern),
            id=f"dagent-tools-{uuid.uuid4().hex[:8]}",
            task_queue=task_queue,
            execution_timeout=within,
            result_type=ToolCatalogResult,
        )
    except WorkflowFailureError as exc:
        raise ConversationUnavailableError(
            f"The orchestrator did not list the tools within {within.total_seconds():g} s "
            f"({root_message(exc)}); check 'dagent status' and 'dagent logs orchestrator'."
        ) from None
    # Why a service is unavailable comes from outside: shown without terminal controls.
    return result.model_copy(update={"unavailable": clean_value(result.unavailable)})
