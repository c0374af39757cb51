"""Upgrades must not break running conversations: every recorded history replays.

`tests/histories/<version>/<pattern>/*.json` are real histories recorded from
earlier code by `python -m tests.record_histories`. Each replays here against
today's workflow classes, with the data converter and plugins the pattern's
orchestrator worker runs with; a change that would make a running workflow
non-deterministic fails this test.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from services import topology
from services.payloads import keyring
from services.settings import DagentSettings
from services.worker import replayer_options
from tests.record_histories import RECORDED_KEYS

HISTORIES = Path(__file__).parent / "histories"
RECORDED = sorted(HISTORIES.glob("*/*/*.json"))
HISTORY_JSON = {path: json.loads(path.read_text()) for path in RECORDED}


def test_histories_are_recorded_for_every_pattern() -> None:
    assert {path.parent.name for path in RECORDED} == set(topology.PATTERNS)


@pytest.mark.parametrize("path", RECORDED, ids=lambda p: str(p.relative_to(HISTORIES)))
async def test_history_replays(path: Path, tmp_path: Path) -> None:
    assert await replay_failure(path, tmp_path) is None


def test_histories_replay_with_tracing_on(tmp_path: Path) -> None:
    """With a tracer provider installed, span ids come from the workflow's seeded random:
    that must not change what any recorded workflow does. (In a process of its own: a
    provider, once installed, stays for the whole process.)"""
    script = (
        "import asyncio, sys; from pathlib import Path; from services.telemetry import tracing; "
        "from tests.test_replay import RECORDED, replay_failure; "
        f"tracing.start('replay', Path({str(tmp_path)!r})); "
        "failures = [f for i, p in enumerate(RECORDED) "
        f"if (f := asyncio.run(replay_failure(p, Path({str(tmp_path)!r}) / str(i))))]; "
        # Ended deliberately: the SDK's runtime can abort at interpreter exit (sdk-python #300).
        "print(*failures, sep=chr(10), flush=True); import os; os._exit(bool(failures))"
    )
    run = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=240, check=False
    )
    assert run.returncode == 0, run.stdout + run.stderr[-2000:]


async def replay_failure(path: Path, home: Path) -> str | None:
    """Why the recorded history at `path` does not replay (None when it does)."""
    os.makedirs(home, exist_ok=True)
    pattern = path.parent.name
    history = WorkflowHistory.from_json(path.stem, HISTORY_JSON[path])
    recorded_keys = path.parent / RECORDED_KEYS
    if recorded_keys.exists():  # sealed with the recording stack's keys
        keyring.keys_file(home).parent.mkdir(mode=0o700)
        shutil.copyfile(recorded_keys, keyring.keys_file(home))
        keyring.keys_file(home).chmod(0o600)
    else:  # recorded before encryption: plaintext, read as such
        keyring.ensure(home)
    replayer = Replayer(**replayer_options(DagentSettings(pattern=pattern, home=home)))
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    return None if result.replay_failure is None else f"{path.name}: {result.replay_failure}"
