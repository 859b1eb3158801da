"""The model: training time on the corpus (and the real pages), model file size, load time."""

from __future__ import annotations

import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.common import CORPUS, REALPAGES, ROOT, SHIPPED

LOAD_SNIPPET = """
import json, time
t0 = time.perf_counter()
from model import load_model
t1 = time.perf_counter()
m = load_model()
t2 = time.perf_counter()
print(json.dumps({"import_s": t1 - t0, "load_s": t2 - t1}))
"""


def train_seconds(folders: list[Path], out: Path, profile: Path | None = None) -> float:
    """Wall time of `hush train FOLDERS --out OUT` in a fresh process (under cProfile with `profile`)."""
    prof = ["-m", "cProfile", "-o", str(profile)] if profile else []
    cmd = [sys.executable, *prof, "-m", "server.cli", "train", *map(str, folders), "--out", str(out)]
    t0 = time.perf_counter()
    subprocess.run(cmd, cwd=ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0


def train_timed(folders: list[Path], out: Path) -> dict[str, float]:
    """Wall and CPU seconds (user + system, all threads) of one training run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    wall = train_seconds(folders, out)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return {"wall": wall, "cpu": cpu}


def load_seconds(repeats: int) -> dict[str, float]:
    """load_model() of the shipped model in fresh processes: median load and import times."""
    runs = []
    for _ in range(repeats):
        done = subprocess.run(
            [sys.executable, "-c", LOAD_SNIPPET], cwd=ROOT, check=True, capture_output=True, text=True
        )
        runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
    return {k: statistics.median(r[k] for r in runs) for k in ("import_s", "load_s")}


def run(quick: bool, log: Callable[[str], None]) -> dict[str, Any]:
    out: dict[str, Any] = {"model_bytes": SHIPPED.stat().st_size, "load": load_seconds(3 if quick else 5)}
    with tempfile.TemporaryDirectory() as tmp:
        log("  training on corpus/pages")
        corpus = train_timed([CORPUS], Path(tmp) / "corpus.skops")
        out["train_corpus_s"], out["train_corpus_cpu_s"] = corpus["wall"], corpus["cpu"]
        out["trained_bytes"] = (Path(tmp) / "corpus.skops").stat().st_size
        if quick:
            out["train_all_s"] = None
            out["train_all_note"] = "skipped in --quick"
        elif REALPAGES.is_dir():
            log("  training on corpus/pages and ../shared/realpages")
            both = train_timed([CORPUS, REALPAGES], Path(tmp) / "all.skops")
            out["train_all_s"], out["train_all_cpu_s"] = both["wall"], both["cpu"]
        else:
            out["train_all_s"] = None
            out["train_all_note"] = "../shared/realpages not found"
    return out
