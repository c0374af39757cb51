"""What every conversation workflow shares, whatever its agent loop.

Messages come in through the `send` update with a client-made id and are
answered one at a time, in order; each `send` returns its own message's reply.
Queries expose progress and transcript; a run continues as new after
`turns_per_run` turns (or when Temporal suggests it), carrying its state. A
pattern subclasses `Conversation` and implements `answer`. Workflow code only:
no I/O.
"""

from __future__ import annotations

import json
from abc import abstractmethod
from typing import Any

from pydantic import BaseModel, Field
from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from services import limits, topology
    from services.conversation.contract import (
        PROGRESS_QUERY,
        SEND_UPDATE,
        TRANSCRIPT_QUERY,
        WORKFLOW_PATTERNS,
        ConversationStart,
        Progress,
        Reply,
        ToolCallRecord,
        ToolCatalogResult,
        TranscriptEntry,
        Usage,
        UserMessage,
        message_problem,
    )
    from services.identity.headers import caller
    from services.orchestrator.circuits import Circuits
    from services.orchestrator.discovery import discover
    from services.orchestrator.memory import Memory
    from services.orchestrator.turn_trace import current_traceparent, turn_span
    from services.safe_text import clean_text
    from services.telemetry import metrics

# Model calls one turn may make before it gives up.
MAX_STEPS = 8
# What the model reads back of a turn that failed: the failure's own text is for the
# user (a provider's error may say anything, even echo a key).
FAILED_TURN_NOTE = "(this question was not answered: the turn failed)"
FAILED_TURN_PATCH = "failed-turn-text-out-of-context"
HISTORY_BUDGET_PATCH = "continue-as-new-past-history-budget"


class CarriedState(BaseModel):
    memory: Memory = Field(default_factory=Memory)
    # The Agents SDK's own conversation items (agents patterns only).
    items: list[dict[str, Any]] = Field(default_factory=list)
    transcript: list[TranscriptEntry] = Field(default_factory=list)
    pending: list[UserMessage] = Field(default_factory=list)
    total_turns: int = 0
    circuits: Circuits = Field(default_factory=Circuits)
    # The user whose session this is: the first to send a verified message.
    owner: str = ""


class ConversationInput(ConversationStart):
    """What a run starts with: the client's start, and what earlier runs carried over."""

    state: CarriedState = Field(default_factory=CarriedState)


class Answer(BaseModel):
    text: str
    tool_calls: list[ToolCallRecord] = Field(default_factory=list)
    steps: int = 0
    error: bool = False
    usage: Usage | None = None

    @classmethod
    def final(cls, text: str | None, tool_calls: list[ToolCallRecord], steps: int) -> Answer:
        """The model's last word: the answer."""
        return cls(text=text or "(the model returned an empty answer)", tool_calls=tool_calls, steps=steps)

    @classmethod
    def out_of_steps(cls, tool_calls: list[ToolCallRecord]) -> Answer:
        return cls(
            text=f"I stopped after {MAX_STEPS} steps without reaching an answer; "
            "please rephrase or narrow the question.",
            tool_calls=tool_calls,
            steps=MAX_STEPS,
            error=True,
        )

    def remembered(self) -> str:
        """What the model's context keeps of this answer."""
        if self.error and workflow.patched(FAILED_TURN_PATCH):
            return FAILED_TURN_NOTE
        return self.text

    @classmethod
    def model_failed(cls, reason: str, tool_calls: list[ToolCallRecord], steps: int) -> Answer:
        return cls(
            text=f"The model could not answer: {reason}", tool_calls=tool_calls, steps=steps, error=True
        )


class Conversation:
    """Base of the conversation workflows; subclasses add `@workflow.defn`."""

    def __init__(self, request: ConversationInput) -> None:
        if workflow.info().continued_run_id is None:
            # Only a run this workflow continued from hands state over; a start that
            # brings its own (messages with a user already set, an owner) is ignored.
            request = request.model_copy(update={"state": CarriedState()})
        self.request = request
        self.memory = request.state.memory
        self.items = request.state.items
        self.transcript = request.state.transcript
        self.pending = request.state.pending
        self.total_turns = request.state.total_turns
        self.circuits = request.state.circuits
        self.owner = request.state.owner
        self.replies = {e.message_id: e.reply for e in self.transcript if e.reply is not None}
        self.run_turns = 0
        self.catalog: ToolCatalogResult | None = None
        self.progress = Progress()
        # The message being answered (its sender is who the turn's tool calls act for).
        self.asking: UserMessage | None = None

    @abstractmethod
    async def answer(self, message: UserMessage, catalog: ToolCatalogResult) -> Answer:
        """Run the agent loop for one message."""

    def should_rediscover(self) -> bool:
        return self.catalog is None or bool(self.catalog.unavailable)

    async def discover_tools(self) -> ToolCatalogResult:
        return await discover(workflow.info().workflow_id, self.circuits, self.catalog)

    def show(self, progress: Progress) -> None:
        self.progress = progress

    async def loop(self) -> None:
        while True:
            if not self._over_history_budget():
                await workflow.wait_condition(lambda: bool(self.pending) or self._time_to_roll_over())
            if self.pending:
                message = self.pending[0]
                reply = await self._turn(message)
                self._record(message, reply)
                self.pending.pop(0)
                continue
            # Let every `send` return its reply before this run ends; a message that comes
            # meanwhile is answered first (its own `send` waits for it).
            await workflow.wait_condition(lambda: workflow.all_handlers_finished() or bool(self.pending))
            if not self.pending:
                workflow.continue_as_new(self._carry())

    async def _turn(self, message: UserMessage) -> Reply:
        with turn_span(message, self.request.session) as trace_id:
            reply = await self._answer_turn(message)
        if metrics.replay_safe():
            self._count(reply)
        return reply.model_copy(update={"trace_id": trace_id})

    def _count(self, reply: Reply) -> None:
        """The turn in the worker's metrics: its outcome and time, its tool calls, and
        each service's circuit as it left them."""
        pattern = WORKFLOW_PATTERNS.get(workflow.info().workflow_type, "")
        outcome = "error" if reply.error else "partial" if reply.partial else "ok"
        metrics.record_turn(pattern, outcome, (reply.finished_at - reply.started_at).total_seconds())
        # A name the model made up is counted as such, never as a label of its own.
        known = {tool.name for tool in self.catalog.tools} if self.catalog else set()
        for call in reply.tool_calls:
            tool = call.tool if call.tool in known else metrics.UNKNOWN_TOOL
            metrics.record_tool_call(call.service, tool, call.transport, call.ok)
        now = workflow.now()
        for team in topology.TEAMS:
            metrics.record_circuit(team, self.circuits.get(team, now).state)

    async def _answer_turn(self, message: UserMessage) -> Reply:
        started = workflow.now()
        self.asking = message
        # Discovered once per run, and again while a service is missing, so a
        # service that comes back is used from the next turn on.
        if self.catalog is None or self.should_rediscover():
            self.progress = Progress(state="thinking", message_id=message.id)
            self.catalog = await self.discover_tools()
        answer = await self.answer(message, self.catalog)
        self.progress = Progress()
        unavailable = {**self.catalog.unavailable, **self._open_circuits()}
        return Reply(
            message_id=message.id,
            text=answer.text,
            tool_calls=answer.tool_calls,
            started_at=started,
            finished_at=workflow.now(),
            steps=answer.steps,
            error=answer.error,
            partial=bool(unavailable) or any(not call.ok for call in answer.tool_calls),
            unavailable=unavailable,
            usage=answer.usage,
        )

    def _open_circuits(self) -> dict[str, str]:
        """Each service whose circuit is open now, with the refusal its callers get."""
        now = workflow.now()
        refusals = {team: self.circuits.refusal(team, now) for team in topology.TEAMS}
        return {team: refusal for team, refusal in refusals.items() if refusal}

    # -- messages in, replies out ----------------------------------------------

    @workflow.update(name=SEND_UPDATE)
    async def send(self, message: UserMessage) -> Reply:
        # Who sent it is what their token said (verified when the message was
        # accepted), never what the message claims.
        who = caller.get()
        message = message.model_copy(
            update={
                "user": who.user if who else "",
                "scopes": sorted(who.scopes) if who else [],
                "traceparent": current_traceparent(),
            }
        )
        if message.id not in self.replies and all(p.id != message.id for p in self.pending):
            refusal = self._not_owner(message.user)
            if refusal is not None:
                # Two first messages of two users accepted at once: the first one owns.
                now = workflow.now()
                return Reply(message_id=message.id, text=refusal, started_at=now, finished_at=now, error=True)
            self.owner = self.owner or message.user
            self.pending.append(message)
        await workflow.wait_condition(lambda: message.id in self.replies)
        return self.replies[message.id]

    @send.validator
    def _validate_send(self, message: UserMessage) -> None:
        problem = message_problem(message.text)
        if problem:
            raise ValueError(problem)
        who = caller.get()
        refusal = self._not_owner(who.user if who else "")
        if refusal is not None:
            raise ValueError(refusal)

    def _not_owner(self, user: str) -> str | None:
        """Why `user` may not write to this session, if they may not."""
        if not self.owner or user == self.owner:
            return None
        return (
            f"Session '{self.request.session}' belongs to {self.owner}; "
            f"{user or 'a sender without identity'} cannot write to it. Start a session of your own."
        )

    def _readable(self) -> bool:
        """Whether the caller of a query may read this session: its owner only."""
        who = caller.get()
        return not self.owner or (who is not None and who.user == self.owner)

    @workflow.signal(name=SEND_UPDATE)
    def send_signal(self, message: UserMessage) -> None:
        """The same message sent as a signal (fire and forget, as some clients can only
        do): queued like the update's, answered once per id, its reply read back from
        the transcript. A message the update would refuse cannot be refused here: it
        is recorded with the reason instead, so the sender finds out."""
        if message.id in self.replies or any(p.id == message.id for p in self.pending):
            return
        if self.owner:
            # A signal carries no verified identity: it cannot write to a session with an
            # owner, nor learn whose it is.
            workflow.logger.warning("a message sent as a signal to an owned session was dropped")
            return
        problem = message_problem(message.text)
        if problem is None:
            self.pending.append(message.model_copy(update={"user": "", "scopes": [], "traceparent": ""}))
            return
        now = workflow.now()
        refused = Reply(message_id=message.id, text=problem, started_at=now, finished_at=now, error=True)
        # The refused text itself is kept only as far as a valid message could be.
        shown = limits.cut(clean_text(message.text), limits.MAX_MESSAGE_CHARS, " [cut]")
        self._record(message.model_copy(update={"text": shown}), refused)

    @workflow.query(name=PROGRESS_QUERY)
    def get_progress(self) -> Progress:
        if not self._readable():
            return Progress()
        return self.progress.model_copy(
            update={
                "queued": max(0, len(self.pending) - (1 if self.progress.state != "idle" else 0)),
                "run_turns": self.run_turns,
                "total_turns": self.total_turns,
                "unavailable": self.catalog.unavailable if self.catalog else {},
                "circuits": self.circuits.status(list(topology.TEAMS), workflow.now()),
                "owner": self.owner,
                "history_events": workflow.info().get_current_history_length(),
                "history_bytes": workflow.info().get_current_history_size(),
            }
        )

    @workflow.query(name=TRANSCRIPT_QUERY)
    def get_transcript(self) -> list[TranscriptEntry]:
        return self.transcript if self._readable() else []

    # -- bookkeeping -------------------------------------------------------------------

    def _record(self, message: UserMessage, reply: Reply) -> None:
        self.replies[message.id] = reply
        self.transcript.append(TranscriptEntry(message_id=message.id, question=message.text, reply=reply))
        self.run_turns += 1
        self.total_turns += 1

    def _newest_transcript(self) -> list[TranscriptEntry]:
        """The newest entries (at most TRANSCRIPT_KEPT) that fit beside the memory."""
        room = (
            limits.CARRIED_BYTES
            - len(self.memory.model_dump_json())
            - len(json.dumps(self.items, default=str))
        )
        kept: list[TranscriptEntry] = []
        for entry in reversed(self.transcript[-limits.TRANSCRIPT_KEPT :]):
            room -= len(entry.model_dump_json())
            if room < 0 and kept:
                break
            kept.append(entry)
        return kept[::-1]

    def _over_history_budget(self) -> bool:
        """Whether this run's history has passed dagent's budget (checked after each
        turn: only a turn makes it grow). Runs recorded before the budget existed
        replay as they ran: the patch is asked for only when over it."""
        info = workflow.info()
        over = (
            info.get_current_history_size() >= limits.HISTORY_BUDGET_BYTES
            or info.get_current_history_length() >= limits.HISTORY_BUDGET_EVENTS
        )
        return self.run_turns > 0 and over and workflow.patched(HISTORY_BUDGET_PATCH)

    def _time_to_roll_over(self) -> bool:
        return self.run_turns >= self.request.turns_per_run or (
            self.run_turns > 0 and workflow.info().is_continue_as_new_suggested()
        )

    def _carry(self) -> ConversationInput:
        # Within Temporal's payload limit whatever the answers' length: the model's
        # memory in half the budget (as the same half of the Agents SDK's items), the
        # transcript's newest entries in what is left.
        self.memory.fit(limits.MEMORY_BYTES)
        self.items = self.memory.fit_items(self.items, limits.MEMORY_BYTES)
        return ConversationInput(
            session=self.request.session,
            turns_per_run=self.request.turns_per_run,
            state=CarriedState(
                memory=self.memory,
                items=self.items,
                transcript=self._newest_transcript(),
                pending=self.pending,
                total_turns=self.total_turns,
                circuits=self.circuits,
                owner=self.owner,
            ),
        )
