"""Run every part of the benchmark and rewrite docs/BENCHMARKS.md and docs/benchmarks-classify.png.

    pip install -r bench/requirements.txt && python -m bench.run [--quick] [--only PART,...]

Parts: inproc, load, browser, training. --only reruns some parts and keeps the others' last results
(bench/results.json).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import pstats
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.common import CORPUS, ROOT, load_pages, median_real_page, model_stamp, realpages_missing

RESULTS = Path(__file__).resolve().parent / "results.json"
PARTS = ("inproc", "load", "browser", "training")
NEEDED = {
    "trafilatura": "trafilatura",
    "lxml_html_clean": "lxml_html_clean",
    "matplotlib": "matplotlib",
    "psutil": "psutil",
}


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def machine() -> dict[str, Any]:
    import lxml
    import sklearn
    import trafilatura

    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    mem = next(
        int(line.split()[1])
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal")
    )
    try:
        chromium = subprocess.run(
            ["/usr/bin/chromium", "--version"], capture_output=True, text=True
        ).stdout.strip()
    except OSError:
        chromium = "no Chromium"
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "mem_gb": mem / 2**20,
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "lxml": lxml.__version__,
        "sklearn": sklearn.__version__,
        "trafilatura": trafilatura.__version__,
        "chromium": chromium or "Chromium (version unknown)",
        "loadavg_start": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        "git": git_state(),
    }


def git_state() -> str:
    """The commit measured, and the files under model/, server/ and extension/ that differ from it."""

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True).stdout

    # Porcelain lines are "XY path": the status takes the first two characters, and either may be a space.
    status = git("status", "--porcelain", "--", "model", "server", "extension")
    dirty = [line[3:] for line in status.splitlines()]
    head = git("rev-parse", "--short", "HEAD").strip() or "unknown"
    return head + (f" with uncommitted changes to {', '.join(dirty)}" if dirty else "")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help="a quarter of the pages, 500 requests, fewer repeats"
    )
    parser.add_argument("--only", help="comma-separated parts to run: " + ", ".join(PARTS))
    parser.add_argument("--clients", type=int, default=2, help="concurrent HTTP clients (default 2)")
    parser.add_argument(
        "--max-wait", type=float, default=300, help="seconds to wait for a quiet machine before each part"
    )
    args = parser.parse_args(argv)
    missing = [pkg for mod, pkg in NEEDED.items() if importlib.util.find_spec(mod) is None]
    if missing:
        log(f"bench: missing {', '.join(missing)}; install with: pip install -r bench/requirements.txt")
        return 2
    parts = args.only.split(",") if args.only else list(PARTS)
    if unknown := set(parts) - set(PARTS):
        parser.error(f"unknown part(s): {', '.join(sorted(unknown))}")

    old = json.loads(RESULTS.read_text()) if args.only and RESULTS.exists() else {}
    r: dict[str, Any] = {**old, "quick": args.quick, "notes": []}
    r["started"] = datetime.now(UTC).strftime("%Y-%m-%d %H:%M")
    r["machine"] = machine()
    r["model_start"] = model_stamp()
    if note := realpages_missing():
        log(f"bench: {note}")
        r["notes"].append(note)
    t0 = time.perf_counter()
    from bench import noise

    sampler = noise.Sampler()
    sampler.start()
    r.setdefault("noise", {})
    for name in parts:
        waited = noise.wait_quiet(sampler, log, limit=0.3, max_wait=args.max_wait)
        log(f"bench: {name}")
        started = time.monotonic()
        try:
            RUNNERS[name](r, args)
        except Exception as err:  # one broken part must not lose the others' results
            log(f"  {name} failed: {type(err).__name__}: {err}")
            r["notes"].append(f"part `{name}` failed: {type(err).__name__}: {str(err)[:200]}")
        r["noise"][name] = {
            "at": datetime.now(UTC).strftime("%H:%M"),
            "minutes": (time.monotonic() - started) / 60,
            "waited_s": waited,
            "other_cores": sampler.mean_since(started),
        }
        log(f"  other processes used {r['noise'][name]['other_cores']:.2f} cores on average meanwhile")
        RESULTS.write_text(json.dumps(r, indent=1))
    sampler.stop.set()

    r["model_end"] = model_stamp()
    r["machine"]["loadavg_end"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    r["duration_s"] = time.perf_counter() - t0 + (old.get("duration_s", 0) if args.only else 0)
    RESULTS.write_text(json.dumps(r, indent=1))
    from bench import report

    doc = report.write(r)
    log(f"bench: wrote {doc.relative_to(ROOT)}, {report.PLOT.relative_to(ROOT)}, {RESULTS.relative_to(ROOT)}")
    for row in report.bars(r):
        log(f"  {row['part']:>9}  {row['bar']:<58} {row['measured']:<34} {row['result']}")
    return 0


def run_inproc(r: dict[str, Any], args: argparse.Namespace) -> None:
    from threadpoolctl import threadpool_limits

    from bench import inproc
    from model import load_model

    pages = load_pages(args.quick)
    log(f"  {len(pages)} pages")
    model = load_model()
    # One core for everything compared here: lxml and trafilatura are single-threaded, and OpenMP threads in
    # the box model spin badly on a busy 2-core machine (the HTTP part shows that cost as shipped).
    with threadpool_limits(1):
        r["inproc"] = inproc.run(model, pages, 1 if args.quick else 3, log)
        log("  profiling classify")
        r["profile"] = inproc.profile(model, pages)


def run_load(r: dict[str, Any], args: argparse.Namespace) -> None:
    """As shipped, then with OpenMP held to one thread per worker. The second, faster run carries the
    10,000 requests of the memory bar when a busy machine keeps the first one short."""
    from bench import load

    page = median_real_page()
    short, long = (200, 300) if args.quick else (2_000, 10_000)
    log(f"  as shipped: {args.clients} clients, {short} requests on {page.name}")
    r["load"] = load.run(page, args.clients, short, 600.0, log)
    log(f"  with OMP_NUM_THREADS=1: {long} requests")
    r["load_1thread"] = load.run(page, args.clients, long, 1500.0, log, env={"OMP_NUM_THREADS": "1"})


def run_browser(r: dict[str, Any], args: argparse.Namespace) -> None:
    from bench import browser

    r["browser"] = browser.run(args.quick, log)


def run_training(r: dict[str, Any], args: argparse.Namespace) -> None:
    from bench import training

    r["training"] = tr = training.run(args.quick, log)
    r["train_profile"] = None
    if not args.quick and max(tr["train_corpus_s"], tr.get("train_all_s") or 0) > 60:
        log("  profiling training on corpus/pages (a bar was missed)")
        r["train_profile"] = profile_training()


RUNNERS = {"inproc": run_inproc, "load": run_load, "browser": run_browser, "training": run_training}


def profile_training() -> dict[str, Any]:
    from bench.inproc import digest
    from bench.training import train_seconds

    with tempfile.TemporaryDirectory() as tmp:
        prof = Path(tmp) / "train.prof"
        train_seconds([CORPUS], Path(tmp) / "m.skops", profile=prof)
        return digest(pstats.Stats(str(prof)))


if __name__ == "__main__":
    sys.exit(main())
