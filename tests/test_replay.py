"""Upgrades must not break running conversations: every recorded history replays.

`tests/histories/<version>/<pattern>/*.json` are real histories recorded from
earlier code by `python -m tests.record_histories`. Each replays here against
today's workflow classes, with the data converter and plugins the pattern's
orchestrator worker runs with; a change that would make a running workflow
non-deterministic fails this test.
"""

from __future__ import annotations

import json
import shutil
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
    pattern = path.parent.name
    history = WorkflowHistory.from_json(path.stem, HISTORY_JSON[path])
    recorded_keys = path.parent / RECORDED_KEYS
    if recorded_keys.exists():  # sealed with the recording stack's keys
        keyring.keys_file(tmp_path).parent.mkdir(mode=0o700)
        shutil.copyfile(recorded_keys, keyring.keys_file(tmp_path))
        keyring.keys_file(tmp_path).chmod(0o600)
    else:  # recorded before encryption: plaintext, read as such
        keyring.ensure(tmp_path)
    replayer = Replayer(**replayer_options(DagentSettings(pattern=pattern, home=tmp_path)))
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None, f"{path.name}: {result.replay_failure}"
