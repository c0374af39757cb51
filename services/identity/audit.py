"""Each tool service's audit trail: one JSON line per access decision, in a file of its
own under DAGENT_HOME/logs (mode 0600), appended to and never rewritten."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from services.errors import IdentityError
from services.safe_text import clean_text
from services.settings import LOGS_DIR

# No field of a line is longer: a hostile key or user name cannot bloat the trail.
FIELD_CHARS = 300


@dataclass(frozen=True)
class Decision:
    team: str
    tool: str
    user: str
    scope: str
    allowed: bool
    reason: str
    idempotency_key: str
    caller: str
    time: str = ""


def audit_file(home: Path, team: str) -> Path:
    return home / LOGS_DIR / f"audit-{team}.jsonl"


def record(home: Path, decision: Decision) -> None:
    """Append `decision`, stamped now. A trail that cannot be written is an error the
    caller sees: a decision must not go unrecorded."""
    fields = {
        k: clean_text(v)[:FIELD_CHARS] if isinstance(v, str) else v for k, v in asdict(decision).items()
    }
    fields["time"] = datetime.now(UTC).isoformat(timespec="milliseconds")
    line = json.dumps(fields, sort_keys=False) + "\n"
    path = audit_file(home, decision.team)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    try:
        # One write per line: concurrent writers never interleave within a line.
        os.write(descriptor, line.encode())
    finally:
        os.close(descriptor)


def read(home: Path, teams: list[str]) -> Iterator[Decision]:
    """Every decision recorded by `teams`, oldest first within each team; a line that is
    not a decision (cut off by a crash) is skipped."""
    rows: list[Decision] = []
    for team in teams:
        path = audit_file(home, team)
        try:
            lines = path.read_text(errors="replace").splitlines()
        except FileNotFoundError:
            continue
        except OSError as exc:
            raise IdentityError(f"The audit trail {path} cannot be read ({exc.strerror}).") from None
        for line in lines:
            try:
                rows.append(Decision(**json.loads(line)))
            except (ValueError, TypeError):
                continue
    yield from sorted(rows, key=lambda row: row.time)
