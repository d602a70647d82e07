"""Prints egov-qa's speed on this machine: cold `egov-qa ask`, warm `Assistant.ask`.

Numbers only, no pass or fail: targets are checked by reading them, not by a
timed test that flakes on a busy machine. Run it with `make bench`.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_QUESTIONS = ROOT / "evals" / "known_facts.jsonl"
FALLBACK = [
    "When did Korea start digitizing public administration?",
    "How long does export customs clearance take now?",
    "What was the e-Government budget in 2005?",
    "What does MOPAS stand for?",
    "How many e-villages were established?",
]


def questions(path: Path) -> list[str]:
    if not path.is_file():
        return FALLBACK
    return [json.loads(line)["question"] for line in path.read_text().splitlines() if line.strip()]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=Path, default=DEFAULT_QUESTIONS)
    parser.add_argument("--rounds", type=int, default=3, help="passes over the questions (warm)")
    parser.add_argument("--cold-runs", type=int, default=2)
    args = parser.parse_args()

    script = Path(sys.executable).with_name("egov-qa")
    subprocess.run([script, "index"], check=True, capture_output=True)  # cold runs measure asking only
    cold = []
    for _ in range(args.cold_runs):
        started = time.perf_counter()
        subprocess.run(
            [script, "-q", "ask", FALLBACK[0]],
            check=True,
            capture_output=True,
            env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
        )
        cold.append((time.perf_counter() - started) * 1000)

    from egov_qa import Assistant

    started = time.perf_counter()
    assistant = Assistant()
    assistant.ask(FALLBACK[0])
    load_ms = (time.perf_counter() - started) * 1000
    asked = questions(args.questions)
    warm = []
    for _ in range(args.rounds):
        for question in asked:
            started = time.perf_counter()
            assistant.ask(question)
            warm.append((time.perf_counter() - started) * 1000)
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"cpu cores            {os.cpu_count()}")
    print(f"cold egov-qa ask     {statistics.median(cold):8.0f} ms (median of {len(cold)})")
    print(f"load + first ask     {load_ms:8.0f} ms")
    print(f"warm ask p50         {percentile(warm, 0.50):8.1f} ms over {len(warm)} asks")
    print(f"warm ask p95         {percentile(warm, 0.95):8.1f} ms")
    print(f"peak memory (RSS)    {rss_mb:8.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
