"""Every size limit dagent enforces, and the one way text is cut to size.

Anything that lands in workflow history is bounded far below Temporal's limits
(2 MB per payload, 50 MB / 51,200 events per run), and what reaches a model is
bounded by its context window. Cut text always says that it was cut.
"""

from __future__ import annotations

# -- what a user sends --------------------------------------------------------
MAX_MESSAGE_CHARS = 32_000

# -- what a conversation run carries --------------------------------------------
# Turns a run holds before it continues as new (Temporal may suggest it sooner).
DEFAULT_TURNS_PER_RUN = 100
# Conversations a worker keeps in memory between their turns (each ~0.2 MB with a
# short history, measured by benchmarks/load.py); one pushed out replays its
# current run's history at its next turn (DAGENT_WORKFLOW_CACHE).
DEFAULT_WORKFLOW_CACHE = 500
# Temporal warns when one run's history passes these (and ends the run at 51,200
# events or 50 MB).
HISTORY_WARN_EVENTS, HISTORY_WARN_BYTES = 10_240, 10 * 1024 * 1024
# A run continues as new once its history passes either of these, after the turn that
# passed it: below the server's own suggestion (4 MB / 4,096 events by default, and
# namespace settings may raise it), so a replay after a cache eviction stays cheap,
# and with room under the warning for the largest turn dagent lets happen (8 steps of
# 16 tool calls with the largest results, each recorded in its call and again in the
# reply: about 6 MB). 100 ordinary turns are ~1.1 MB and ~2,100 events.
HISTORY_BUDGET_EVENTS, HISTORY_BUDGET_BYTES = 3_000, 2 * 1024 * 1024
# Transcript entries carried into the next run.
TRANSCRIPT_KEPT = 200
# What a run hands the next at most, in bytes of JSON: under the SDK's 512 KB payload
# warning, far under Temporal's 2 MB limit (the codec's framing and the payload's
# metadata come on top). The model's memory may take half; the transcript's newest
# entries fill the rest.
CARRIED_BYTES = 400_000
MEMORY_BYTES = CARRIED_BYTES // 2
# The model-facing window: messages (nexus) or Agents SDK items kept verbatim;
# older turns fold into a summary that keeps this many earlier questions.
WINDOW_MESSAGES = 40
WINDOW_ITEMS = 60
EARLIER_QUESTIONS_KEPT = 20
SUMMARY_LINE_CHARS = 200

# -- what a model may answer (one response, far below the 2 MB payload limit) ----
MAX_ANSWER_CHARS = 64_000
MAX_ARGUMENT_CHARS = 8_000
MAX_TOOL_CALLS = 16

# -- the model ---------------------------------------------------------------------
# Seconds one model call may take, its retries and a provider's rate-limit waits
# included (DAGENT_MODEL_TIMEOUT); a model silent that long ends the turn.
DEFAULT_MODEL_TIMEOUT = 60.0
MAX_MODEL_TIMEOUT = 600.0

# -- tools -----------------------------------------------------------------------
MAX_TOOL_ARGUMENTS_CHARS = 4_000
# A result travels in the tool workflow's history, the Nexus completion and the transcript.
MAX_TOOL_RESULT_CHARS = 16_000
# What the model reads of one tool result.
MAX_TOOL_RESULT_SEEN = 4_000
MAX_IDEMPOTENCY_KEY_CHARS = 500

# -- what a user reads of an error ---------------------------------------------------
MAX_ERROR_CHARS = 300


def cut(text: str, limit: int, note: str = "…") -> str:
    """`text` if it has at most `limit` characters, else its first `limit` and `note`.

    `note` may name `{total}` (the original length) and `{dropped}` (what was cut).
    """
    if len(text) <= limit:
        return text
    return text[:limit] + note.format(total=len(text), dropped=len(text) - limit)


def one_line(text: str, limit: int = MAX_ERROR_CHARS) -> str:
    """The first line of `text` (a traceback after it dropped), at most `limit` characters."""
    line = text.strip().splitlines()[0] if text.strip() else text
    traceback = line.find(" Traceback (most recent call last)")
    if traceback > 0:
        line = line[:traceback]
    return _shortened(line, limit)


def flat(text: str, limit: int) -> str:
    """All of `text` on one line (whitespace runs become one space), at most `limit` characters."""
    return _shortened(" ".join(text.split()), limit)


def _shortened(text: str, limit: int) -> str:
    """At most `limit` characters, the last an ellipsis when cut."""
    return text if len(text) <= limit else cut(text, limit - 1)
