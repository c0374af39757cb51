"""What one worker process registers: each role (the orchestrator, a team's tool
service) builds its parts, and `services.worker` runs them."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass
class WorkerParts:
    """What one worker registers on its task queue."""

    workflows: Sequence[type] = ()
    activities: Sequence[Callable[..., Any]] = ()
    nexus_service_handlers: Sequence[object] = ()
    # Worker interceptors (identity travels in headers through them).
    interceptors: Sequence[Any] = ()
    # Slow, blocking preparation (an import of seconds) run in a thread while the
    # worker connects and polls; work that needs it waits for it.
    warm_up: Callable[[], None] | None = None
