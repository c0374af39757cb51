"""A circuit breaker per tool service, kept in the conversation workflow's state.

Temporal retries a call until its timeout; it cannot know that the IT service
has been silent for the last ten calls. The breaker remembers: an outage opens
the service's circuit (each one costs a timeout, so one is enough to stop paying
it), and calls to it fail at once ("unavailable") instead of waiting out a
timeout each. Once the
cool-down has passed the circuit is half-open: the next call goes through as a
probe; success closes it, failure opens it again with a longer cool-down.

Pure and deterministic: every decision takes the time as an argument (the
workflow passes `workflow.now()`), so replays decide the same. The state is a
pydantic model carried across continue-as-new. Fields are assigned, never
mutated in place (the Agents SDK plugin's converter drops unset fields).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import BaseModel, Field

from services.conversation.contract import CircuitState, CircuitStatus, cooled_down

FIRST_COOL_DOWN = timedelta(seconds=10)
MAX_COOL_DOWN = timedelta(seconds=60)


class Circuit(BaseModel, frozen=True):
    state: CircuitState = "closed"
    failures: int = 0
    opened_at: datetime | None = None
    cool_down_seconds: float = FIRST_COOL_DOWN.total_seconds()
    reason: str = ""

    def retry_at(self) -> datetime | None:
        if self.opened_at is None:
            return None
        return self.opened_at + timedelta(seconds=self.cool_down_seconds)

    def at(self, now: datetime) -> Circuit:
        """The circuit as it stands at `now`: open turns half-open once cooled down."""
        if cooled_down(self.state, self.retry_at(), now):
            return self.model_copy(update={"state": "half-open"})
        return self


class Circuits(BaseModel):
    circuits: dict[str, Circuit] = Field(default_factory=dict)

    def get(self, service: str, now: datetime) -> Circuit:
        return self.circuits.get(service, Circuit()).at(now)

    def refusal(self, service: str, now: datetime) -> str | None:
        """Why a call to `service` must not be made now, or None to go ahead."""
        circuit = self.get(service, now)
        if circuit.state != "open":
            return None
        wait = max(1, round(((circuit.retry_at() or now) - now).total_seconds()))
        return (
            f"The {service} service is unavailable ({circuit.reason}); "
            f"not calling it again for {wait} s. Other services still work."
        )

    def succeeded(self, service: str) -> None:
        if service in self.circuits:
            self.circuits = {name: c for name, c in self.circuits.items() if name != service}

    def failed(self, service: str, now: datetime, reason: str) -> None:
        circuit = self.get(service, now)
        cool_down = circuit.cool_down_seconds
        if circuit.state == "half-open":
            # The probe failed: back off further before the next one.
            cool_down = min(cool_down * 2, MAX_COOL_DOWN.total_seconds())
        opened = Circuit(
            state="open",
            failures=circuit.failures + 1,
            opened_at=now,
            cool_down_seconds=cool_down,
            reason=reason,
        )
        self.circuits = {**self.circuits, service: opened}

    def status(self, services: list[str], now: datetime) -> list[CircuitStatus]:
        statuses = []
        for service in services:
            circuit = self.get(service, now)
            statuses.append(
                CircuitStatus(
                    service=service,
                    state=circuit.state,
                    failures=circuit.failures,
                    reason=circuit.reason,
                    retry_at=circuit.retry_at() if circuit.state == "open" else None,
                )
            )
        return statuses
