"""Every module imports on its own, in a fresh interpreter.

An import cycle can hide behind the order in which other modules happen to be
imported first; a module imported alone shows it.
"""

from __future__ import annotations

import ast
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


def fresh_python(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """This interpreter, started afresh in the project with `args`, `env` on top."""
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def import_alone(module: str) -> str | None:
    """None if `module` imports in a fresh interpreter, else the last line of its error."""
    result = fresh_python("-c", f"import {module}", LITELLM_LOCAL_MODEL_COST_MAP="True")
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


def _parse(source: str) -> ast.Module:
    """`ast.parse`, again if CPython 3.11 raises its spurious "AST constructor
    recursion depth mismatch" (gh-106905: its depth count is shared with other threads,
    such as an in-process worker's warm-up that is still importing LiteLLM)."""
    for _ in range(3):
        try:
            return ast.parse(source)
        except SystemError:
            continue
    return ast.parse(source)


def imports_of(path: Path) -> set[str]:
    """Every module `path` imports, at any depth of its code."""
    found: set[str] = set()
    for node in ast.walk(_parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def offenders(folder: str, forbidden: str, allowed_under: str | None = None) -> list[str]:
    """Modules under `folder` (outside `allowed_under`) that import `forbidden` or below it."""
    bad = []
    for path in sorted((ROOT / folder).rglob("*.py")):
        relative = str(path.relative_to(ROOT))
        if allowed_under and relative.startswith(allowed_under):
            continue
        hits = {m for m in imports_of(path) if m == forbidden or m.startswith(f"{forbidden}.")}
        if hits:
            bad.append(f"{relative}: {', '.join(sorted(hits))}")
    return bad


def test_the_layers_hold() -> None:
    # The services never depend on the CLI.
    assert offenders("services", "durable_agents_cli") == []
    # The offline model is the LLM package's business only.
    assert offenders("services", "services.llm.offline", allowed_under="services/llm/") == []
    assert offenders("durable_agents_cli", "services.llm.offline") == []
    # The CLI speaks to conversations through their contract, never the workflow code.
    assert offenders("durable_agents_cli", "services.orchestrator") == []


def test_every_pattern_has_a_workflow_type_and_class() -> None:
    from services import topology
    from services.conversation.contract import WORKFLOW_TYPES
    from services.orchestrator.patterns import WORKFLOWS

    assert set(WORKFLOW_TYPES) == set(WORKFLOWS) == set(topology.PATTERNS)


def test_a_one_shot_ask_imports_only_what_it_needs(tmp_path: Path) -> None:
    """`dagent ask --json` starts in a blink only if it leaves the heavy libraries alone:
    the model's (LiteLLM, seconds), the Agents SDK's, MCP's, and the Markdown parser a
    terminal answer needs. Read from the interpreter's own import log."""
    result = fresh_python(
        *("-X", "importtime", "-m", "durable_agents_cli", "ask", "What is 2+2?", "--json"),
        DAGENT_HOME=str(tmp_path / "home"),
        PYTHONWARNINGS="ignore",
    )
    imported = {line.rsplit("|", 1)[-1].strip() for line in result.stderr.splitlines() if "|" in line}
    assert "temporalio.client" in imported, result.stderr[-2000:]  # it got as far as a client
    heavy = ("litellm", "agents", "openai", "fastmcp", "mcp", "beartype", "rich.markdown")
    assert sorted(m for m in imported if m.split(".")[0] in heavy or m in heavy) == []
