"""The circuit breaker's decisions: pure functions of its state and the time given."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.orchestrator.circuits import FIRST_COOL_DOWN, MAX_COOL_DOWN, Circuits

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def test_a_closed_circuit_lets_calls_through() -> None:
    assert Circuits().refusal("it", T0) is None
    assert [s.state for s in Circuits().status(["it", "finance"], T0)] == ["closed", "closed"]


def test_an_outage_opens_the_circuit_and_later_calls_are_refused_at_once() -> None:
    circuits = Circuits()
    circuits.failed("it", T0, "timed out")
    refusal = circuits.refusal("it", T0 + timedelta(seconds=1))
    assert refusal is not None
    assert "it service is unavailable (timed out)" in refusal
    assert "9 s" in refusal
    assert circuits.refusal("finance", T0) is None  # other services keep working


def test_after_the_cool_down_one_probe_goes_through_and_success_closes() -> None:
    circuits = Circuits()
    circuits.failed("it", T0, "timed out")
    later = T0 + FIRST_COOL_DOWN
    assert circuits.get("it", later).state == "half-open"
    assert circuits.refusal("it", later) is None
    circuits.succeeded("it")
    assert circuits.get("it", later).state == "closed"
    assert circuits.get("it", later).failures == 0


def test_a_failed_probe_opens_again_for_longer_up_to_a_limit() -> None:
    circuits = Circuits()
    circuits.failed("it", T0, "timed out")
    now = T0
    cool_downs = []
    for _ in range(6):
        now = circuits.get("it", now).retry_at() or now
        assert circuits.get("it", now).state == "half-open"
        circuits.failed("it", now, "still down")
        cool_downs.append(circuits.get("it", now).cool_down_seconds)
    assert cool_downs == [20, 40, 60, 60, 60, 60]
    assert max(cool_downs) == MAX_COOL_DOWN.total_seconds()


def test_status_shows_when_an_open_circuit_will_probe() -> None:
    circuits = Circuits()
    circuits.failed("finance", T0, "refused")
    finance = circuits.status(["finance"], T0)[0]
    assert (finance.state, finance.reason, finance.retry_at) == ("open", "refused", T0 + FIRST_COOL_DOWN)


def test_a_client_sees_an_open_circuit_half_open_once_its_retry_time_has_passed() -> None:
    circuits = Circuits()
    circuits.failed("it", T0, "timed out")
    seen = circuits.status(["it"], T0)[0]
    assert seen.as_of(T0 + timedelta(seconds=1)).state == "open"
    assert seen.as_of(T0 + FIRST_COOL_DOWN).state == "half-open"
