"""Every module imports on its own, in a fresh interpreter.

An import cycle can hide behind the order in which other modules happen to be
imported first; a module imported alone shows it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("services", "durable_agents_cli")


def modules() -> list[str]:
    found = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            if parts[-1] == "__main__":
                continue
            found.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return found


def import_alone(module: str) -> str | None:
    """None if `module` imports in a fresh interpreter, else the last line of its error."""
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    result = subprocess.run(
        [sys.executable, "-c", f"import {module}"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if result.returncode == 0:
        return None
    lines = result.stderr.strip().splitlines()
    return f"{module}: {lines[-1] if lines else f'exit code {result.returncode}'}"


def test_every_module_imports_alone() -> None:
    names = modules()
    assert {"services.worker", "durable_agents_cli.app"} <= set(names)
    with ThreadPoolExecutor(max_workers=4) as pool:
        failures = [problem for problem in pool.map(import_alone, names) if problem]
    assert not failures, "\n".join(failures)
