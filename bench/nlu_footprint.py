"""Memory and parse time of trained models, each loaded in a fresh process: `make bench-nlu`.

    python -m bench.nlu_footprint models/current.tar.gz [baseline.tar.gz ...]

For each model: the resident memory of a Python process after importing Rasa (what every Rasa
process pays anyway) and after loading the model, and the time to parse each held-out customer
message (tests/nlu/customers.yml) one at a time, as the bot does. Pass a model trained with an
earlier config.yml as a baseline to compare in the same run.
"""

import asyncio
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List

MESSAGES = Path("tests/nlu/customers.yml")


def measure(model: str) -> Dict[str, float]:
    """Runs in a child process: one model per process, so the memory figures are its own."""
    import psutil
    from rasa.core.agent import Agent
    from rasa.shared.nlu.training_data.loading import load_data

    process = psutil.Process()
    texts = [m.get("text") for m in load_data(str(MESSAGES)).intent_examples]
    imported = process.memory_info().rss
    started = time.perf_counter()
    agent = Agent.load(model)
    load_seconds = time.perf_counter() - started
    loaded = process.memory_info().rss
    timings: List[float] = []

    async def parse_all() -> None:
        await agent.parse_message("warm up")
        for text in texts:
            began = time.perf_counter()
            await agent.parse_message(text)
            timings.append((time.perf_counter() - began) * 1000)

    asyncio.run(parse_all())
    timings.sort()
    return {"rasa_imported_mb": imported / 2**20, "model_mb": (process.memory_info().rss - imported) / 2**20,
            "after_load_mb": loaded / 2**20, "load_s": load_seconds, "p50_ms": statistics.median(timings),
            "p95_ms": timings[int(len(timings) * 0.95)], "messages": len(timings)}


def main(argv: List[str]) -> int:
    if argv[:1] == ["--child"]:
        print(json.dumps(measure(argv[1])))
        return 0
    if not argv:
        print(__doc__)
        return 2
    print(f"{'model':<40} {'process':>9} {'model adds':>10} {'load':>6} {'p50 parse':>10} {'p95 parse':>10}")
    for model in argv:
        child = subprocess.run([sys.executable, "-m", "bench.nlu_footprint", "--child", model],
                               capture_output=True, text=True, check=True)
        row = json.loads(child.stdout.strip().splitlines()[-1])
        total = row["rasa_imported_mb"] + row["model_mb"]
        print(f"{model:<40} {total:>7.0f}MB {row['model_mb']:>8.0f}MB {row['load_s']:>5.1f}s "
              f"{row['p50_ms']:>8.1f}ms {row['p95_ms']:>8.1f}ms")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
