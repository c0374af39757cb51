"""Where the stack keeps its files under DAGENT_HOME."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from services.errors import ConfigError
from services.settings import LOGS_DIR, RUN_DIR


@dataclass(frozen=True)
class StackPaths:
    home: Path

    @property
    def run_dir(self) -> Path:
        return self.home / RUN_DIR

    @property
    def logs_dir(self) -> Path:
        return self.home / LOGS_DIR

    @property
    def data_dir(self) -> Path:
        return self.home / "data"

    @property
    def chat_dir(self) -> Path:
        """The chat's own files: input history, the last session."""
        return self.home / "chat"

    @property
    def config_file(self) -> Path:
        """What the user asked for; written by `up`, read by the supervisor."""
        return self.run_dir / "stack.json"

    @property
    def state_file(self) -> Path:
        """What is running; written by the supervisor, read by the CLI."""
        return self.run_dir / "state.json"

    @property
    def lock_file(self) -> Path:
        """Held by the live supervisor for its whole life."""
        return self.run_dir / "supervisor.lock"

    @property
    def up_lock_file(self) -> Path:
        """Held by a `dagent up` for its whole run: a second one waits for it."""
        return self.run_dir / "up.lock"

    @property
    def database(self) -> Path:
        return self.data_dir / "temporal.db"

    def log_file(self, name: str) -> Path:
        return self.logs_dir / f"{name}.log"

    def ensure(self) -> None:
        """Create the directories, private, or say plainly why DAGENT_HOME is unusable."""
        from durable_agents_cli.stack import private

        private.prepare(self.home)
        try:
            probe = self.run_dir / f".write-test-{os.getpid()}"
            probe.write_text("ok")
            probe.unlink()
        except OSError as exc:
            raise self.unusable(exc) from None

    def unusable(self, exc: OSError) -> ConfigError:
        """The one line that says DAGENT_HOME cannot be used, and what to do."""
        return ConfigError(
            f"DAGENT_HOME '{self.home}' is not usable ({exc.strerror}); "
            "set DAGENT_HOME to a writable directory."
        )


def write_atomic(path: Path, text: str) -> None:
    """Readers never see a half-written file."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    tmp.replace(path)
